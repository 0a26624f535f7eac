"""Population summaries of ED50 that account for censored units and for cells as the replicates.

Two problems with the obvious summaries, and what is done instead:

- A unit whose ED50 lies beyond its highest dose has only a lower bound
  (right-censored). Leaving it out of a geometric mean biases the mean
  towards potent cells, and for ipsapirone (ED50 near 125 ug/kg i.v.) such
  units are common. :func:`ed50_distribution` gives the **Kaplan-Meier
  median** of log10 ED50 with those units censored at their bound (Kaplan &
  Meier 1958): with one top dose for all units this is the median with the
  censored units placed above the top dose. When half or more of the units
  lie above the last estimate, the median is reported as a lower bound. The
  geometric mean is given only when no unit is censored.
- One Hill fit to the points of all units treats the points as independent,
  although they come from a few cells: its profile CI is too narrow.
  :func:`cluster_bootstrap_ci` resamples whole cells with replacement and
  refits (a cluster bootstrap for hierarchical data; Davison & Hinkley 1997, ch. 3).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.distributions import t_ppf
from rapheunit.core.errors import BadParameterError, validate_type
from rapheunit.doseresponse.fits import DEFAULT_FIT_PARAMS, FitParams, fit_hill_batch

# Resamples of the cluster bootstrap: about 1000 for percentile intervals
# (Efron & Tibshirani 1993, An Introduction to the Bootstrap).
BOOTSTRAP_RESAMPLES = 1000
# The bootstrap is seeded (with the drug's name), so a batch gives the same CI every run.
BOOTSTRAP_SEED = 20_261_205
# Fewer cells than this leave too few distinct resamples for a percentile interval.
MIN_BOOTSTRAP_UNITS = 3
BOOTSTRAP_CI_METHOD = "cluster_bootstrap_percentile"
NO_CI_METHOD = "none_fewer_than_3_units"
# Statuses of a resampled fit meaning "no inhibition in the dose range": its ED50
# counts as beyond the highest dose. Other non-ok statuses are left out.
ABOVE_RANGE_STATUSES = ("no_response", "no_significant_response")
# Numerical slack when comparing a Kaplan-Meier survival with one half.
_HALF_TOLERANCE = 1e-12


def ed50_distribution(unit_fits: pd.DataFrame, confidence: float = 0.95) -> dict[str, Any]:
    """Median and (without censoring) geometric mean of the per-unit ED50s of one drug.

    Only ``fit_status == "ok"`` rows count. An ED50 beyond the highest dose
    (``ed50_is_lower_bound``, ``ed50`` = that dose) is right-censored there;
    one below the lowest dose (``ed50_is_upper_bound``) is placed at its
    bound. The median is the Kaplan-Meier median of log10 ED50, back-transformed.

    Returns
    -------
    dict
        ``median``: Kaplan-Meier median ED50; ``median_is_lower_bound``:
        True when the median lies above every estimate (it is then the value
        it exceeds); ``median_is_upper_bound``: True when it rests on a unit
        below the lowest dose; ``geometric_mean, ci_low, ci_high``: the
        geometric mean of the estimates and its t interval, NaN when a unit is
        censored (a mean needs every value) and the CI with fewer than two;
        ``n``: estimated ED50s; ``n_lower_bound, n_upper_bound``.

    Examples
    --------
    >>> fits = pd.DataFrame({"drug": "ipsapirone", "fit_status": "ok",
    ...     "ed50": [10.0, 100.0, 160.0], "ed50_is_lower_bound": [False, False, True]})
    >>> result = ed50_distribution(fits)
    >>> float(result["median"]), result["median_is_lower_bound"], result["geometric_mean"]
    (100.0, False, nan)
    """
    validate_type(unit_fits, pd.DataFrame, "unit_fits")
    if not 0 < validate_type(confidence, float, "confidence") < 1:
        raise BadParameterError(f"confidence must be in (0, 1), got {confidence}")
    drugs = unit_fits["drug"].unique() if "drug" in unit_fits.columns else []
    if len(drugs) > 1:
        raise BadParameterError(f"ed50_distribution takes one drug's fits, got {len(drugs)}")
    ok = unit_fits[unit_fits["fit_status"] == "ok"]
    lower = _flag(ok, "ed50_is_lower_bound").to_numpy()
    upper = _flag(ok, "ed50_is_upper_bound").to_numpy()
    log_all = np.log10(ok["ed50"].to_numpy(dtype=np.float64))
    known = np.isfinite(log_all)
    median, median_lower, median_upper = censored_median(
        log_all[known], lower[known], upper[known]
    )
    log_ed50 = log_all[known & ~lower & ~upper]
    n = int(log_ed50.size)
    mean = log_ed50.mean() if n and not (lower.any() or upper.any()) else np.nan
    if n > 1:
        half_width = t_ppf(0.5 + confidence / 2, n - 1) * log_ed50.std(ddof=1) / np.sqrt(n)
    else:
        half_width = np.nan
    return {
        "median": float(10.0**median),
        "median_is_lower_bound": median_lower,
        "median_is_upper_bound": median_upper,
        "geometric_mean": float(10.0**mean),
        "ci_low": float(10.0 ** (mean - half_width)),
        "ci_high": float(10.0 ** (mean + half_width)),
        "n": n,
        "n_lower_bound": int(lower.sum()),
        "n_upper_bound": int(upper.sum()),
    }


def _flag(table: pd.DataFrame, column: str) -> pd.Series:
    if column not in table.columns:
        return pd.Series(False, index=table.index)
    return table[column].astype("boolean").fillna(False).astype(bool)


def censored_median(
    values: np.ndarray, right_censored: np.ndarray, left_censored: np.ndarray | None = None
) -> tuple[float, bool, bool]:
    """Kaplan-Meier median of values some of which are only known to be larger.

    Parameters
    ----------
    values : numpy.ndarray
        Observed values, or for censored ones the bound.
    right_censored : numpy.ndarray of bool
        The true value is above ``values`` (e.g. ED50 beyond the top dose).
    left_censored : numpy.ndarray of bool, optional
        The true value is at or below ``values``; such values are kept at
        their bound, and a median resting on one is an upper bound.

    Returns
    -------
    median : float
        NaN without values. Without censoring: the ordinary median.
    is_lower_bound : bool
        Half or more of the units may lie above the last observed value: the
        true median exceeds ``median``.
    is_upper_bound : bool
        The median rests on a left-censored value.

    Examples
    --------
    >>> censored_median(np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4, bool))
    (2.5, False, False)
    >>> censored_median(np.array([1.0, 2.0, 5.0, 5.0, 5.0]), np.array([0, 0, 1, 1, 1], bool))
    (5.0, True, False)
    """
    left = np.zeros(values.shape, bool) if left_censored is None else np.asarray(left_censored)
    if values.size == 0:
        return float("nan"), False, False
    # events before censored values at a tie: a censored unit was still "at risk" there
    order = np.lexsort((right_censored, values))
    x, censored, at_bound = values[order], right_censored[order], left[order]
    at_risk = np.arange(x.size, 0, -1)
    survival = np.cumprod(np.where(censored, 1.0, 1.0 - 1.0 / at_risk))
    events = np.flatnonzero(~censored)
    crossed = events[survival[events] <= 0.5 + _HALF_TOLERANCE]
    if crossed.size == 0:
        return float(x.max()), True, False
    first = int(crossed[0])
    if survival[first] < 0.5 - _HALF_TOLERANCE:
        return float(x[first]), False, bool(at_bound[first])
    later = events[events > first]
    if later.size == 0:  # exactly half at or below x[first], the rest censored above
        return float(x[first]), True, False
    used = [first, int(later[0])]
    return float(x[used].mean()), False, bool(at_bound[used].any())


def cluster_bootstrap_ci(
    dose: np.ndarray,
    response: np.ndarray,
    seed_text: str,
    params: FitParams = DEFAULT_FIT_PARAMS,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    *,
    full_agonist: bool = False,
) -> tuple[float, float, str]:
    """Percentile CI of the pooled ED50 from refits to cells drawn with replacement.

    Parameters
    ----------
    dose, response : numpy.ndarray
        Shape ``(n_units, n_points)``: each unit's cumulative doses and % of
        baseline, NaN-padded.
    seed_text : str
        Seeds the resampling (e.g. the drug's name), so results repeat.
    params : FitParams
        Fit choices, as for the pooled fit itself.
    confidence : float
        Coverage of the interval.
    resamples : int
        Bootstrap resamples.
    full_agonist : bool
        Fix the bottom at 0 % as the pooled fit does for a full agonist.

    Returns
    -------
    ci_low, ci_high : float
        Order statistics of the resampled ED50s (0 or inf where resamples
        put the ED50 beyond the dose range); NaN with fewer than
        :data:`MIN_BOOTSTRAP_UNITS` units or when fewer than half the
        resamples could be fitted.
    method : str
        :data:`BOOTSTRAP_CI_METHOD`, or :data:`NO_CI_METHOD`.

    Examples
    --------
    >>> doses = np.tile([10.0, 20.0, 40.0, 80.0], (4, 1))
    >>> pct = np.array([[90.0, 70, 40, 15], [80, 55, 30, 10], [95, 80, 55, 25], [85, 65, 35, 12]])
    >>> low, high, method = cluster_bootstrap_ci(doses, pct, "ipsapirone", resamples=200)
    >>> bool(18 < low < 30 < high < 45), method
    (True, 'cluster_bootstrap_percentile')
    """
    n_units = dose.shape[0]
    if n_units < MIN_BOOTSTRAP_UNITS:
        return float("nan"), float("nan"), NO_CI_METHOD
    rng = np.random.default_rng([BOOTSTRAP_SEED, zlib.crc32(seed_text.encode())])
    drawn = rng.integers(0, n_units, size=(resamples, n_units))
    # Replicates that drew the same cells (in any order) have the same fit: a few cells give
    # few distinct draws (4 cells: 35), so each is fitted once.
    _, first, replicate_of = np.unique(np.sort(drawn, axis=1), axis=0, return_index=True,
                                       return_inverse=True)
    fits = fit_hill_batch(
        *_resampled_points(dose, response, drawn[first]),
        params,
        full_agonist=np.full(first.size, full_agonist),
        interval=False,  # a replicate's ED50 is all the percentile interval needs
    )
    log_ed50 = _resampled_log_ed50(fits)[replicate_of.ravel()]
    log_ed50 = log_ed50[~np.isnan(log_ed50)]
    if log_ed50.size < resamples / 2:
        return float("nan"), float("nan"), BOOTSTRAP_CI_METHOD
    tail = (1.0 - confidence) / 2.0
    low = np.quantile(log_ed50, tail, method="lower")
    high = np.quantile(log_ed50, 1.0 - tail, method="higher")
    return float(10.0**low), float(10.0**high), BOOTSTRAP_CI_METHOD


def _resampled_points(
    dose: np.ndarray, response: np.ndarray, drawn: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each resample's points as rows; the means over its cells when every cell has every point.

    With the same points in every cell the least-squares fit to all points and the fit to
    the mean at each point have the same minimum, so the smaller problem is fitted.
    """
    has_point = np.isfinite(dose) & np.isfinite(response)
    same_points = np.all(has_point == has_point[0]) and np.allclose(
        dose[:, has_point[0]], dose[0, has_point[0]]
    )
    if same_points:
        columns = has_point[0]
        mean_response = response[:, columns][drawn].mean(axis=1)
        return np.broadcast_to(dose[0, columns], mean_response.shape), mean_response
    n_resamples = drawn.shape[0]
    return dose[drawn].reshape(n_resamples, -1), response[drawn].reshape(n_resamples, -1)


def _resampled_log_ed50(fits: pd.DataFrame) -> np.ndarray:
    """log10 ED50 per resample: +inf beyond the highest dose, -inf below the lowest, NaN unfit."""
    status = fits["fit_status"].to_numpy()
    log_ed50 = np.log10(fits["ed50"].to_numpy(dtype=np.float64))
    log_ed50[_flag(fits, "ed50_is_lower_bound").to_numpy()] = np.inf
    log_ed50[_flag(fits, "ed50_is_upper_bound").to_numpy()] = -np.inf
    log_ed50[np.isin(status, ABOVE_RANGE_STATUSES)] = np.inf
    log_ed50[(status != "ok") & ~np.isin(status, ABOVE_RANGE_STATUSES)] = np.nan
    return log_ed50
