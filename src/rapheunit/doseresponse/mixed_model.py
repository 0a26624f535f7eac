"""Linear models of values nested in animals, and t inference on their group effect.

:func:`linear_model` fits ``value ~ group`` with a random intercept per animal by
restricted maximum likelihood (REML), or ordinary least squares when every animal gave
one value (the two then coincide). With one variance ratio ``lambda = var(animal) /
var(residual)`` to estimate, the REML likelihood profiled over everything else has a
closed form per animal (each animal's covariance is ``I + lambda J``, whose inverse and
determinant are explicit), so it is maximised over that one number: grid, then Brent.
A comparison of 780 pairs of groups makes 2,340 such fits; statsmodels' general
``MixedLM`` optimiser took ~21 ms each, this ~0.3 ms. tests/test_mixed_model.py checks
the estimates against statsmodels and against the balanced-design ANOVA estimator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapheunit.core.distributions import t_ppf, t_sf

MIXED_MODEL_TEST = "mixedlm_t"
OLS_TEST = "ols_t"
# The variance ratio is searched as u = lambda / (1 + lambda) in [0, 1): first on this
# grid, then by Brent's method around the best grid point, to this tolerance in u.
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
    values = np.asarray(values, dtype=np.float64)
    design = np.asarray(design, dtype=np.float64)
    _, animal_index, cells_per_animal = np.unique(animals, return_inverse=True,
                                                  return_counts=True)
    if values.size <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    blocks = _AnimalBlocks(values, design, animal_index, cells_per_animal.astype(np.float64))
    if cells_per_animal.max() == 1:
        return _fit(blocks, 0.0, OLS_TEST, "")
    ratio = blocks.best_variance_ratio()
    note = "between-animal variance estimated at 0" if ratio == 0.0 else ""
    return _fit(blocks, ratio, MIXED_MODEL_TEST, note)


def _fit(blocks: _AnimalBlocks, ratio: float, test: str, note: str) -> LinearFit:
    coefficients, information, scaled_residual = blocks.solve(ratio)
    scale = scaled_residual / (blocks.n_values - blocks.n_parameters)
    covariance = scale * np.linalg.inv(information)
    return LinearFit(test, coefficients, float(np.sqrt(covariance[1, 1])), note)


class _AnimalBlocks:
    """Per-animal sums that make the REML likelihood a function of the variance ratio alone.

    With ``w = lambda / (1 + n lambda)`` for an animal of ``n`` values, its inverse
    covariance is ``I - w J``: every quadratic form is a plain sum minus ``w`` times the
    product of the animal's totals.
    """

    def __init__(self, values: np.ndarray, design: np.ndarray, animal: np.ndarray,
                 counts: np.ndarray) -> None:
        self.n_values, self.n_parameters = design.shape
        self.counts = counts
        n_animals = counts.size
        self.design_totals = np.zeros((n_animals, self.n_parameters))
        np.add.at(self.design_totals, animal, design)
        self.value_totals = np.bincount(animal, weights=values, minlength=n_animals)
        self.cross = design.T @ design
        self.design_values = design.T @ values
        self.sum_of_squares = float(values @ values)

    def solve(self, ratio: float) -> tuple[np.ndarray, np.ndarray, float]:
        """GLS coefficients, ``X' V^-1 X`` and ``r' V^-1 r`` at variance ratio ``ratio``."""
        coefficients, information, scaled_residual = self.solve_many(np.array([ratio]))
        return coefficients[0], information[0], float(scaled_residual[0])

    def solve_many(self, ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`solve` at each of ``ratios`` at once (leading axis: the ratio)."""
        weight = ratios[:, None] / (1.0 + self.counts[None, :] * ratios[:, None])
        weighted = self.design_totals[None, :, :] * weight[:, :, None]
        information = self.cross[None] - np.einsum("ap,kaq->kpq", self.design_totals, weighted)
        right = self.design_values[None] - np.einsum("kap,a->kp", weighted, self.value_totals)
        coefficients = np.linalg.solve(information, right[:, :, None])[:, :, 0]
        # r' V^-1 r = y' V^-1 y - b' X' V^-1 y at the GLS solution
        values_quadratic = self.sum_of_squares - weight @ self.value_totals**2
        return (coefficients, information,
                values_quadratic - np.einsum("kp,kp->k", coefficients, right))

    def reml_deviance(self, ratios: np.ndarray) -> np.ndarray:
        """-2 x REML log likelihood at each ratio, residual variance profiled out, no constants."""
        _, information, scaled_residual = self.solve_many(ratios)
        _, log_det_information = np.linalg.slogdet(information)
        residual_df = self.n_values - self.n_parameters
        return (residual_df * np.log(np.maximum(scaled_residual, np.finfo(float).tiny))
                + np.log1p(self.counts[None, :] * ratios[:, None]).sum(axis=1)
                + log_det_information)

    def best_variance_ratio(self) -> float:
        """The ratio lambda >= 0 that maximises the REML likelihood (0 on the boundary)."""
        from scipy.optimize import minimize_scalar

        def deviance(u: float) -> float:
            return float(self.reml_deviance(np.array([u / (1.0 - u)]))[0])

        grid = self.reml_deviance(VARIANCE_RATIO_GRID / (1.0 - VARIANCE_RATIO_GRID))
        best = int(np.argmin(grid))
        if best == 0 and grid[1] >= grid[0]:
            low, high = VARIANCE_RATIO_GRID[0], VARIANCE_RATIO_GRID[1]
        else:
            low = VARIANCE_RATIO_GRID[max(best - 1, 0)]
            high = VARIANCE_RATIO_GRID[min(best + 1, VARIANCE_RATIO_GRID.size - 1)]
        found = minimize_scalar(deviance, bounds=(low, high), method="bounded",
                                options={"xatol": VARIANCE_RATIO_TOLERANCE})
        candidates = [(float(found.fun), float(found.x)), (float(grid[0]), 0.0)]
        _, u = min(candidates)
        return 0.0 if u <= VARIANCE_RATIO_TOLERANCE else u / (1.0 - u)


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
