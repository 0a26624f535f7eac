"""Linear models of values nested in animals, and t inference on their group effect.

:func:`linear_model` fits ``value ~ group`` with a random intercept per animal
(statsmodels ``MixedLM``, REML), or ordinary least squares when every animal
gave one value (the two then coincide). statsmodels and scipy are imported on
first use, so the option tree (and ``rapheunit --help``) does not load them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

MIXED_MODEL_TEST = "mixedlm_t"
OLS_TEST = "ols_t"
# Powell (derivative-free) converges when the animal variance is at its 0 bound, where
# gradient optimizers stall or hit a singular matrix; L-BFGS is the fallback.
MIXED_MODEL_OPTIMIZERS = ["powell", "lbfgs"]


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
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    _, cells_per_animal = np.unique(animals, return_counts=True)
    try:
        if cells_per_animal.max() == 1:
            result = sm.OLS(values, design).fit()
            return LinearFit(OLS_TEST, np.asarray(result.params), float(result.bse[1]))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", RuntimeWarning)
            result = sm.MixedLM(values, design, groups=animals).fit(
                reml=True, method=MIXED_MODEL_OPTIMIZERS
            )
            # a singular covariance warns here (sqrt of a negative variance): NaN, no CI
            standard_error = float(np.asarray(result.bse_fe)[1])
    except (np.linalg.LinAlgError, ValueError):
        return None
    on_boundary = any("boundary" in str(warning.message) for warning in caught)
    note = (
        "mixed model did not converge"
        if not result.converged
        else "between-animal variance estimated at 0" if on_boundary else ""
    )
    return LinearFit(MIXED_MODEL_TEST, np.asarray(result.fe_params), standard_error, note)


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
    from scipy import stats

    if not (np.isfinite(standard_error) and standard_error > 0):
        return {"note": "no CI: the values do not vary"}
    half_width = stats.t.ppf(0.5 + confidence / 2.0, df) * standard_error
    statistic = estimate / standard_error
    return {
        "ci_low": estimate - half_width,
        "ci_high": estimate + half_width,
        "statistic": statistic,
        "df": float(df),
        "p": float(2.0 * stats.t.sf(abs(statistic), df)),
    }
