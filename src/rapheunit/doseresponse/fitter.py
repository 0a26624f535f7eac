"""The batched Hill fitter: many units at once, with their ED50 CIs.

The fitter is vectorised across units (10,000 units take seconds; see
``benchmarks/bench_fit.py``), which is why it does not call
``scipy.optimize`` once per unit. Units that fail a rule of
:mod:`rapheunit.doseresponse.gates` are not fitted; the rest are searched
(:mod:`rapheunit.doseresponse.refine`), given profile-likelihood CIs
(:mod:`rapheunit.doseresponse.profile`), flags for parameters on a bound and
the absolute ED50.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapheunit.core.errors import BadParameterError
from rapheunit.doseresponse.gates import (
    at_highest_dose,
    n_distinct_doses,
    observed_max_inhibition,
    prefit_status,
    response_test,
)
from rapheunit.doseresponse.hill import (
    AT_BOUND_RELATIVE_TOLERANCE,
    BASELINE_PCT,
    CI_METHOD,
    DEFAULT_FIT_PARAMS,
    HALF_BASELINE_PCT,
    HILL_FIT_COLUMNS,
    FitParams,
    HillFit,
)
from rapheunit.doseresponse.profile import FitData, profile_ci, total_sum_of_squares
from rapheunit.doseresponse.refine import grid_search, levenberg_marquardt, parameter_bounds


def fit_hill(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    params: FitParams = DEFAULT_FIT_PARAMS,
    *,
    recovered: bool = True,
    full_agonist: bool = False,
    noise_sd_pct: np.ndarray | None = None,
) -> HillFit:
    """Fit the Hill curve to one unit's responses.

    Parameters
    ----------
    cumulative_dose : numpy.ndarray
        Cumulative doses (> 0); NaN entries are ignored.
    pct_baseline : numpy.ndarray
        Firing in % of baseline at each dose; NaN entries are ignored.
    params : FitParams
        Fit choices.
    recovered : bool
        False when firing did not recover after the antagonist: if the unit
        was also silent at the highest dose, the silence may be a lost unit
        rather than a drug effect and the fit is refused with
        ``fit_status="unit_lost"``.
    full_agonist : bool
        The drug is a full agonist at the DRN autoreceptor: the bottom is
        fixed at 0 % unless ``params.free_bottom``.
    noise_sd_pct : numpy.ndarray, optional
        Per dose, the SD of % of baseline with no drug effect; without it the
        response test is not applied (``response_p`` NaN).

    Returns
    -------
    HillFit

    Examples
    --------
    >>> from rapheunit.doseresponse.hill import hill_response
    >>> doses = 10.0 * 2.0 ** np.arange(6)
    >>> fit = fit_hill(doses, hill_response(np.log10(doses), np.log10(50.0), 1.5, 10.0))
    >>> fit.fit_status, round(fit.ed50, 3), round(fit.hill_slope, 3), round(fit.bottom_pct, 3)
    ('ok', 50.0, 1.5, 10.0)
    >>> fit_hill(doses[:2], np.array([80.0, 50.0])).fit_status
    'too_few_doses'
    """
    dose = np.asarray(cumulative_dose, dtype=np.float64).ravel()
    response = np.asarray(pct_baseline, dtype=np.float64).ravel()
    if dose.shape != response.shape:
        raise BadParameterError(
            f"cumulative_dose and pct_baseline differ in length ({dose.size} vs {response.size})"
        )
    noise = None if noise_sd_pct is None else np.asarray(noise_sd_pct, np.float64).reshape(1, -1)
    table = fit_hill_batch(
        dose[None, :],
        response[None, :],
        params,
        recovered=np.array([recovered]),
        full_agonist=np.array([full_agonist]),
        noise_sd_pct=noise,
    )
    return HillFit(**table.to_dict("records")[0])


def fit_hill_batch(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    params: FitParams = DEFAULT_FIT_PARAMS,
    *,
    recovered: np.ndarray | None = None,
    full_agonist: np.ndarray | None = None,
    noise_sd_pct: np.ndarray | None = None,
    interval: bool = True,
) -> pd.DataFrame:
    """Fit many units at once; rows are units, NaN-padded columns are doses.

    Parameters
    ----------
    cumulative_dose, pct_baseline : numpy.ndarray
        ``(n_units, max_doses)`` arrays; a NaN in either marks a missing point.
    params : FitParams
        Fit choices.
    recovered, full_agonist : numpy.ndarray of bool, optional
        Per unit, as in :func:`fit_hill`; all True and all False by default.
    noise_sd_pct : numpy.ndarray, optional
        ``(n_units, max_doses)``, as in :func:`fit_hill`.
    interval : bool
        False skips the profile-likelihood ED50 interval (left NaN): for callers that use
        the point estimates only, such as bootstrap replicates. The estimates are the same.

    Returns
    -------
    pandas.DataFrame
        One row per unit with the :class:`HillFit` fields as columns.

    Examples
    --------
    >>> doses = np.array([[10.0, 20, 40, 80], [10.0, 20, np.nan, np.nan]])
    >>> pct = np.array([[90.0, 70, 40, 20], [90.0, 70, np.nan, np.nan]])
    >>> fit_hill_batch(doses, pct)["fit_status"].tolist()
    ['ok', 'too_few_doses']
    """
    dose = np.atleast_2d(np.asarray(cumulative_dose, dtype=np.float64))
    response = np.atleast_2d(np.asarray(pct_baseline, dtype=np.float64))
    if dose.shape != response.shape:
        raise BadParameterError(
            f"cumulative_dose and pct_baseline shapes differ ({dose.shape} vs {response.shape})"
        )
    if np.any(dose[np.isfinite(dose)] <= 0):
        raise BadParameterError("cumulative doses must be > 0 to be fitted in log dose")
    n_units = dose.shape[0]
    recovered = _per_unit(recovered, n_units, default=True)
    full_agonist = _per_unit(full_agonist, n_units, default=False)
    noise = np.full(dose.shape, np.nan) if noise_sd_pct is None else np.asarray(noise_sd_pct)
    valid = np.isfinite(dose) & np.isfinite(response)
    data = FitData.from_arrays(dose, response, valid, params, full_agonist & ~params.free_bottom)
    result = _unfitted_result(data, recovered, noise, params)
    to_fit = np.flatnonzero(result["fit_status"] == "ok")
    if to_fit.size:
        _fit_subset(data.take(to_fit), params, result, to_fit, interval=interval)
    return pd.DataFrame(result, columns=list(HILL_FIT_COLUMNS))


def _per_unit(values: np.ndarray | None, n_units: int, *, default: bool) -> np.ndarray:
    return np.full(n_units, default) if values is None else np.asarray(values, bool)


def _unfitted_result(
    data: FitData, recovered: np.ndarray, noise_sd_pct: np.ndarray, params: FitParams
) -> dict[str, np.ndarray]:
    """Result columns before fitting: counts, observed inhibition, response test, status."""
    valid = data.weight > 0
    n_units = valid.shape[0]
    response_z, response_p = response_test(
        at_highest_dose(data.log_dose, data.response, valid),
        at_highest_dose(data.log_dose, noise_sd_pct, valid),
    )
    result = {name: np.full(n_units, np.nan) for name in HILL_FIT_COLUMNS}
    no = np.zeros(n_units, bool)
    result.update(
        ed50_is_lower_bound=no,
        ed50_is_upper_bound=no.copy(),
        ed50_ci_method=np.full(n_units, CI_METHOD, dtype=object),
        ed50_ci_level=np.full(n_units, params.confidence),
        observed_max_inhibition_pct=observed_max_inhibition(data.response, valid),
        fit_status=prefit_status(data, recovered, response_p, params),
        n_doses=n_distinct_doses(data.log_dose, valid),
        n_points=data.n_points,
        bottom_fixed=data.bottom_fixed,
        hill_slope_at_bound=no.copy(),
        bottom_pct_at_bound=no.copy(),
        ed50_absolute_is_lower_bound=no.copy(),
        ed50_absolute_is_upper_bound=no.copy(),
        response_z=response_z,
        response_p=response_p,
    )
    return result


def _fit_subset(
    data: FitData, params: FitParams, result: dict[str, np.ndarray], rows: np.ndarray, *,
    interval: bool,
) -> None:
    """Fit the units of ``data`` and write their results into ``rows`` of ``result``."""
    log_grid, coarse_profile, start = grid_search(data, params)
    theta, sse, converged = levenberg_marquardt(data, start, params)
    ci_low, ci_high = (profile_ci(data, theta, sse, log_grid, coarse_profile, params)
                       if interval else np.full((2, sse.size), np.nan))
    log_ed50, slope, bottom = theta.T
    above = log_ed50 > data.log_dose_max
    below = log_ed50 < data.log_dose_min
    bounded = above | below
    residual_df = data.residual_df
    total_ss = total_sum_of_squares(data)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit_r2 = 1.0 - sse / total_ss
        residual_sd = np.where(residual_df > 0, np.sqrt(sse / residual_df), np.nan)
    low, high = parameter_bounds(data, params)
    at_bound = _at_bound(theta, low, high)
    fitted = {
        "ed50": _clipped_dose(data, log_ed50),
        "ed50_ci_low": np.where(bounded, np.nan, ci_low),
        "ed50_ci_high": np.where(bounded, np.nan, ci_high),
        "ed50_is_lower_bound": above,
        "ed50_is_upper_bound": below,
        "hill_slope": np.where(bounded, np.nan, slope),
        "bottom_pct": np.where(bounded, np.nan, bottom),
        "max_inhibition_pct": np.where(bounded, np.nan, BASELINE_PCT - bottom),
        "fit_r2": fit_r2,
        "residual_sd": residual_sd,
        "hill_slope_at_bound": ~bounded & at_bound[:, 1],
        "bottom_pct_at_bound": ~bounded & ~data.bottom_fixed & at_bound[:, 2],
        **_absolute_ed50(data, theta, params, bounded=below),
    }
    for name, values in fitted.items():
        result[name][rows] = np.where(converged, values, result[name][rows])
    result["fit_status"][rows] = np.where(converged, "ok", "did_not_converge")


def _clipped_dose(data: FitData, log_dose: np.ndarray) -> np.ndarray:
    """A dose clipped to the doses given (a bound is reported at the dose it passes)."""
    return 10.0 ** np.clip(log_dose, data.log_dose_min, data.log_dose_max)


def _at_bound(theta: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    tolerance = AT_BOUND_RELATIVE_TOLERANCE * np.maximum(high - low, 1e-12)
    return (theta - low <= tolerance) | (high - theta <= tolerance)


def _absolute_ed50(
    data: FitData, theta: np.ndarray, params: FitParams, *, bounded: np.ndarray
) -> dict[str, np.ndarray]:
    """The dose that brings the fitted curve to 50 % of baseline, with its bound flags.

    From ``top - (top - bottom) * f = 50``: ``f = (top - 50) / (top - bottom)``
    and ``log_dose = log_ed50 + log10(f / (1 - f)) / slope``. A curve whose
    bottom is at or above 50 % never gets there: a lower bound at the top dose.
    """
    log_ed50, slope, bottom = theta.T
    span = params.top_pct - bottom
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (params.top_pct - HALF_BASELINE_PCT) / span
        reached = (fraction > 0) & (fraction < 1)
        log_absolute = np.where(
            reached, log_ed50 + np.log10(fraction / (1.0 - fraction)) / slope, np.inf
        )
    lower = log_absolute > data.log_dose_max
    upper = log_absolute < data.log_dose_min
    return {
        "ed50_absolute": np.where(bounded, np.nan, _clipped_dose(data, log_absolute)),
        "ed50_absolute_is_lower_bound": ~bounded & lower,
        "ed50_absolute_is_upper_bound": ~bounded & upper,
    }
