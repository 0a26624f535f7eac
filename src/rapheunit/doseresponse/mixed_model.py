"""Linear models of values nested in animals, and t inference on their group effect.

:func:`linear_model` fits ``value ~ group`` with a random intercept per animal by
restricted maximum likelihood (REML), or ordinary least squares when every animal gave
one value (the two then coincide). With one variance ratio ``lambda = var(animal) /
var(residual)`` to estimate, the REML likelihood profiled over everything else has a
closed form per animal (each animal's covariance is ``I + lambda J``, whose inverse and
determinant are explicit), so it is maximised over that one number: grid, then a
golden-section search, for every problem at once (:func:`linear_models`). A comparison
of 780 pairs of groups makes 2,340 such fits; statsmodels' general ``MixedLM`` optimiser
took ~21 ms each, one at a time this took ~1 ms, together they take ~20 ms in all.
tests/test_mixed_model.py checks the estimates against statsmodels and against the
balanced-design ANOVA estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rapheunit.core.distributions import t_ppf, t_sf

MIXED_MODEL_TEST = "mixedlm_t"
OLS_TEST = "ols_t"
# The variance ratio is searched as u = lambda / (1 + lambda) in [0, 1): first on this
# grid, then by golden section between the best grid point's neighbours, to this tolerance
# in u.
VARIANCE_RATIO_GRID = np.linspace(0.0, 0.999, 41)
VARIANCE_RATIO_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LinearFit:
    """A fitted ``value ~ group`` model.

    Parameters
    ----------
    test : str
        :data:`MIXED_MODEL_TEST` or :data:`OLS_TEST`.
    coefficients : numpy.ndarray
        Intercept and group effect.
    standard_error : float
        Standard error of the group effect.
    note : str
        Why the fit deserves a second look (not converged, variance at 0), or "".
    """

    test: str
    coefficients: np.ndarray
    standard_error: float
    note: str = ""


def linear_model(values: np.ndarray, design: np.ndarray, animals: np.ndarray) -> LinearFit | None:
    """Fit ``values ~ design`` with a random intercept per animal; None when the fit fails.

    Examples
    --------
    >>> design = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    >>> fitted = linear_model(np.array([1.0, 2.0, 4.0, 5.0]), design, np.arange(4))
    >>> fitted.test, fitted.coefficients.round(6).tolist()
    ('ols_t', [1.5, 3.0])
    """
    return linear_models([(values, design, animals)])[0]


def linear_models(
    problems: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> list[LinearFit | None]:
    """:func:`linear_model` of many ``(values, design, animals)`` problems, fitted together.

    The designs must have the same number of columns. The variance ratios of all
    problems are searched at once, which is what makes thousands of fits cheap.

    Examples
    --------
    >>> design = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    >>> fits = linear_models([(np.array([1.0, 2.0, 4.0, 5.0]), design, np.arange(4)),
    ...                       (np.array([1.0, 2.0]), design[:2], np.arange(2))])
    >>> fits[0].coefficients.round(6).tolist(), fits[1]
    ([1.5, 3.0], None)
    """
    blocks = [_animal_blocks(*problem) for problem in problems]
    crosses = [block["cross"] for block in blocks if block is not None]
    if crosses:  # a singular design has no fit
        full_rank = iter(np.linalg.matrix_rank(np.stack(crosses)) == crosses[0].shape[0])
        blocks = [block if block is None or next(full_rank) else None for block in blocks]
    fitted = [index for index, block in enumerate(blocks) if block is not None]
    results: list[LinearFit | None] = [None] * len(problems)
    if not fitted:
        return results
    stacked = _AnimalBlocks([blocks[index] for index in fitted])
    ratios = stacked.best_variance_ratios()
    coefficients, information, scaled_residual = stacked.solve(ratios[:, None])
    scale = scaled_residual[:, 0] / stacked.residual_df
    variance = scale * np.linalg.inv(information[:, 0])[:, 1, 1]
    for row, index in enumerate(fitted):
        one_per_animal = stacked.max_count[row] == 1
        test = OLS_TEST if one_per_animal else MIXED_MODEL_TEST
        note = "between-animal variance estimated at 0" if ratios[row] == 0.0 and not (
            one_per_animal) else ""
        results[index] = LinearFit(test, coefficients[row, 0], float(np.sqrt(variance[row])), note)
    return results


def _animal_blocks(
    values: np.ndarray, design: np.ndarray, animals: np.ndarray
) -> dict[str, np.ndarray] | None:
    """Per-animal totals of one problem (None when it has too few values)."""
    values = np.asarray(values, dtype=np.float64)
    design = np.asarray(design, dtype=np.float64)
    if values.size <= design.shape[1]:
        return None
    _, animal, counts = np.unique(animals, return_inverse=True, return_counts=True)
    animal = np.ravel(animal)
    design_totals = np.zeros((counts.size, design.shape[1]))
    np.add.at(design_totals, animal, design)
    return {
        "counts": counts.astype(np.float64),
        "design_totals": design_totals,
        "value_totals": np.bincount(animal, weights=values, minlength=counts.size),
        "cross": design.T @ design,
        "design_values": design.T @ values,
        "sum_of_squares": np.array(values @ values),
        "n_values": np.array(float(values.size)),
    }


class _AnimalBlocks:
    """Per-animal sums of many problems that make each REML likelihood a function of its
    variance ratio alone.

    With ``w = lambda / (1 + n lambda)`` for an animal of ``n`` values, its inverse
    covariance is ``I - w J``: every quadratic form is a plain sum minus ``w`` times the
    product of the animal's totals. Problems are rows; animals are padded with empty ones
    (no values, so no weight in any sum).
    """

    def __init__(self, blocks: Sequence[dict[str, np.ndarray]]) -> None:
        n_animals = max(block["counts"].size for block in blocks)
        n_parameters = blocks[0]["cross"].shape[0]
        self.counts = np.zeros((len(blocks), n_animals))
        self.design_totals = np.zeros((len(blocks), n_animals, n_parameters))
        self.value_totals = np.zeros((len(blocks), n_animals))
        for row, block in enumerate(blocks):
            size = block["counts"].size
            self.counts[row, :size] = block["counts"]
            self.design_totals[row, :size] = block["design_totals"]
            self.value_totals[row, :size] = block["value_totals"]
        self.cross, self.design_values, self.sum_of_squares, n_values = (
            np.stack([block[name] for block in blocks])
            for name in ("cross", "design_values", "sum_of_squares", "n_values")
        )
        self.residual_df = n_values - n_parameters
        self.max_count = self.counts.max(axis=1)

    def solve(self, ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """GLS coefficients, ``X' V^-1 X`` and ``r' V^-1 r`` at ``ratios`` (problems x k)."""
        weight = ratios[:, :, None] / (1.0 + self.counts[:, None, :] * ratios[:, :, None])
        weighted = self.design_totals[:, None, :, :] * weight[..., None]
        information = self.cross[:, None] - np.einsum("fap,fkaq->fkpq", self.design_totals,
                                                      weighted)
        right = self.design_values[:, None] - np.einsum("fkap,fa->fkp", weighted,
                                                        self.value_totals)
        coefficients = np.linalg.solve(information, right[..., None])[..., 0]
        # r' V^-1 r = y' V^-1 y - b' X' V^-1 y at the GLS solution
        values_quadratic = self.sum_of_squares[:, None] - np.einsum(
            "fka,fa->fk", weight, self.value_totals**2)
        return (coefficients, information,
                values_quadratic - np.einsum("fkp,fkp->fk", coefficients, right))

    def reml_deviance(self, u: np.ndarray) -> np.ndarray:
        """-2 x REML log likelihood at ``lambda = u / (1 - u)`` (problems x k), no constants."""
        ratios = u / (1.0 - u)
        _, information, scaled_residual = self.solve(ratios)
        _, log_det_information = np.linalg.slogdet(information)
        return (self.residual_df[:, None] * np.log(np.maximum(scaled_residual,
                                                              np.finfo(float).tiny))
                + np.log1p(self.counts[:, None, :] * ratios[:, :, None]).sum(axis=2)
                + log_det_information)

    def best_variance_ratios(self) -> np.ndarray:
        """Per problem, the ratio lambda >= 0 that maximises the REML likelihood.

        0 on the boundary, and for a problem with one value per animal (ordinary least
        squares: the ratio is not identified).
        """
        n_problems = self.counts.shape[0]
        grid = self.reml_deviance(np.broadcast_to(VARIANCE_RATIO_GRID, (n_problems,
                                                                        VARIANCE_RATIO_GRID.size)))
        best = np.argmin(grid, axis=1)
        on_edge = (best == 0) & (grid[:, 1] >= grid[:, 0])
        last = VARIANCE_RATIO_GRID.size - 1
        low = np.where(on_edge, VARIANCE_RATIO_GRID[0],
                       VARIANCE_RATIO_GRID[np.maximum(best - 1, 0)])
        high = np.where(on_edge, VARIANCE_RATIO_GRID[1],
                        VARIANCE_RATIO_GRID[np.minimum(best + 1, last)])
        u, deviance = self._golden_section(low, high)
        u = np.where(deviance < grid[:, 0], u, 0.0)  # the boundary u = 0 is a candidate too
        ratio = np.where(u <= VARIANCE_RATIO_TOLERANCE, 0.0, u / (1.0 - u))
        return np.where(self.max_count == 1, 0.0, ratio)

    def _golden_section(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Golden-section search of every problem's bracket at once, to the ratio tolerance."""
        inner = (np.sqrt(5.0) - 1.0) / 2.0
        left, right = high - inner * (high - low), low + inner * (high - low)
        f_left, f_right = self._deviance_at(left), self._deviance_at(right)
        # a problem stops when its own bracket is narrow enough, so that its answer does not
        # depend on the other problems searched with it
        while (open_ := high - low > VARIANCE_RATIO_TOLERANCE).any():
            go_left = open_ & (f_left <= f_right)  # the minimum is in [low, right]
            go_right = open_ & ~go_left
            high = np.where(go_left, right, high)
            low = np.where(go_right, left, low)
            probe = np.where(go_left, high - inner * (high - low), low + inner * (high - low))
            f_probe = np.where(open_, self._deviance_at(probe), np.nan)
            left, right = (np.where(go_left, probe, np.where(go_right, right, left)),
                           np.where(go_right, probe, np.where(go_left, left, right)))
            f_left, f_right = (np.where(go_left, f_probe, np.where(go_right, f_right, f_left)),
                               np.where(go_right, f_probe, np.where(go_left, f_left, f_right)))
        better_left = f_left <= f_right
        return np.where(better_left, left, right), np.where(better_left, f_left, f_right)

    def _deviance_at(self, u: np.ndarray) -> np.ndarray:
        return self.reml_deviance(u[:, None])[:, 0]


def t_inference(
    estimate: float, standard_error: float, df: int, confidence: float
) -> dict[str, object]:
    """CI, t statistic and two-sided p of ``estimate`` on ``df`` degrees of freedom.

    Examples
    --------
    >>> row = t_inference(1.0, 0.5, 10, 0.95)
    >>> round(row["statistic"], 6), row["df"]
    (2.0, 10.0)
    >>> t_inference(1.0, 0.0, 10, 0.95)
    {'note': 'no CI: the values do not vary'}
    """
    if not (np.isfinite(standard_error) and standard_error > 0):
        return {"note": "no CI: the values do not vary"}
    half_width = float(t_ppf(0.5 + confidence / 2.0, df)) * standard_error
    statistic = estimate / standard_error
    return {
        "ci_low": estimate - half_width,
        "ci_high": estimate + half_width,
        "statistic": statistic,
        "df": float(df),
        "p": float(2.0 * t_sf(abs(statistic), df)),
    }
