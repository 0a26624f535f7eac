"""Per-unit dose-response: Hill fits in log dose, ED50 with profile CIs, reversal.

Firing in each post-injection window is expressed as % of the pre-drug
baseline and fitted, against log10 of the cumulative dose, with

    response = top - (top - bottom) / (1 + 10 ** ((log_ed50 - log_dose) * slope))

``top`` is fixed (the baseline is 100 % by construction); ``bottom`` and
``slope`` are bounded. ``ed50`` is the midpoint of the curve: the dose giving
half of the fitted maximal inhibition (``100 - bottom``).

The fitter is vectorised across units (10,000 units take seconds; see
``benchmarks/bench_fit.py``), which is why it does not call
``scipy.optimize`` once per unit: a coarse grid over (log ED50, slope), with
the best ``bottom`` solved in closed form at each grid point, starts a
batched, bound-projected, damped Newton (Levenberg-Marquardt) refinement of
all three parameters. The 95 % CI of the ED50 is the profile-likelihood
interval: the range of log ED50 whose profile residual sum of squares (slope
and bottom re-optimised) stays below
``SSE_min * (1 + F(confidence; 1, n - 3) / (n - 3))`` (the F form, because the
residual variance is estimated from the same few points). Each limit is
bracketed on the grid and located by regula falsi.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from rapheunit.core.errors import (
    BadDoseTableError,
    BadParameterError,
    check_positive,
    validate_type,
)
from rapheunit.core.markers import AGONIST, ANTAGONIST, VEHICLE, drug_role
from rapheunit.core.params import param

BASELINE_PCT = 100.0
# Hill slopes of 5-HT1A agonist inhibition of raphe firing are near 1-2; 0.3-5
# is a deliberately wide physiological window that only stops degenerate
# step-function (slope -> inf) or flat (slope -> 0) solutions.
HILL_SLOPE_RANGE = (0.3, 5.0)
# Three free parameters (log ED50, slope, bottom) need at least three doses.
N_FREE_PARAMETERS = 3
# A design choice, not a literature value: well above the window-to-window
# variation of a regular 5-HT unit's rate over 60 s (a few %), and about 1.5 SD
# of a Poisson unit at 1 Hz (~13 %), so only a real inhibition is fitted.
MIN_INHIBITION_PCT = 20.0
CI_METHOD = "profile_likelihood"
FIT_STATUSES = ("ok", "too_few_doses", "no_response", "did_not_converge", "unit_lost")
# Drugs that never get a dose-response row of their own.
NON_DOSE_RESPONSE_ROLES = (ANTAGONIST, VEHICLE)
UNIT_KEY = ("recording", "unit")
REQUIRED_COLUMNS = (
    "recording",
    "unit",
    "drug",
    "dose_unit",
    "cumulative_dose",
    "injection_time_s",
    "rate_hz",
    "pct_baseline",
)
_LN10 = float(np.log(10.0))
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
# Golden-section steps shrink the slope bracket (two grid steps) by 0.618**20 ~ 7e-5;
# the regula falsi for each CI limit converges superlinearly, to ~1e-7 relative in 10.
_GOLDEN_ITERATIONS = 20
_ROOT_ITERATIONS = 10
_GRID_CHUNK_ELEMENTS = 4_000_000  # bounds the memory of the grid stage (~32 MB per array)
# Newton iterations stop when a step no longer lowers the SSE by more than this
# relative amount, or moves no parameter by more than this relative amount.
_RELATIVE_SSE_TOLERANCE = 1e-13
_RELATIVE_STEP_TOLERANCE = 1e-11


@dataclass(frozen=True)
class FitParams:
    """Every choice the Hill fit makes.

    Parameters
    ----------
    top_pct : float
        Fixed top of the curve, in % of baseline.
    bottom_bounds_pct : tuple of float
        Bounds of the fitted bottom (residual firing at saturating dose), in %.
    slope_bounds : tuple of float
        Bounds of the Hill slope (:data:`HILL_SLOPE_RANGE`).
    min_doses : int
        Fewer distinct doses than this gives ``fit_status="too_few_doses"``.
    min_inhibition_pct : float
        When no dose inhibits firing by at least this much (100 - % baseline)
        the response is flat: ``fit_status="no_response"``.
    confidence : float
        Level of the ED50 confidence interval.
    ed50_search_decades : float
        The ED50 is searched from this many decades below the lowest dose to
        this many above the highest; profile CIs that do not close inside that
        range are open (``ci_low=0`` or ``ci_high=inf``).
    log_ed50_grid_step : float
        Spacing of the coarse log10 ED50 grid that starts the fit and brackets
        the CI limits.
    n_slope_grid : int
        Number of log-spaced slopes in the coarse grid.
    max_iterations : int
        Levenberg-Marquardt iterations before ``fit_status="did_not_converge"``.

    Examples
    --------
    >>> FitParams(slope_bounds=(0.5, 3.0)).slope_bounds
    (0.5, 3.0)
    >>> FitParams(confidence=1.5)
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: confidence must be in (0, 1), got 1.5
    """

    top_pct: float = param(BASELINE_PCT, 'Hill fit top (% of baseline), fixed', metavar="PCT")
    bottom_bounds_pct: tuple[float, float] = param(
        (0.0, BASELINE_PCT),
        'bounds of the Hill fit bottom (% of baseline)',
        metavar=("LOW", "HIGH"),
    )
    slope_bounds: tuple[float, float] = param(
        HILL_SLOPE_RANGE,
        'bounds of the Hill slope',
        metavar=("LOW", "HIGH"),
    )
    min_doses: int = param(N_FREE_PARAMETERS, 'fewest distinct doses a fit needs', metavar="N")
    min_inhibition_pct: float = param(
        MIN_INHIBITION_PCT,
        'a unit never inhibited this much has no dose-response',
        metavar="PCT",
    )
    confidence: float = param(
        0.95,
        'confidence level of the ED50 interval',
        name="fit_confidence",
        metavar="LEVEL",
    )
    ed50_search_decades: float = param(
        2.0,
        'ED50s searched this many decades beyond the doses given',
        metavar="DECADES",
    )
    log_ed50_grid_step: float = param(
        0.1,
        'grid step of log10 ED50 in the first search',
        metavar="STEP",
    )
    n_slope_grid: int = param(16, 'Hill slopes tried in the first search', metavar="N")
    max_iterations: int = param(200, 'most Levenberg-Marquardt iterations', metavar="N")

    def __post_init__(self) -> None:
        check_positive(self.top_pct, "top_pct")
        _check_bounds(self.bottom_bounds_pct, "bottom_bounds_pct", allow_zero=True)
        if self.bottom_bounds_pct[1] > self.top_pct:
            raise BadParameterError(
                f"bottom_bounds_pct upper bound must not exceed top_pct ({self.top_pct}), "
                f"got {self.bottom_bounds_pct[1]}"
            )
        _check_bounds(self.slope_bounds, "slope_bounds", allow_zero=False)
        _check_int_at_least(self.min_doses, "min_doses", N_FREE_PARAMETERS)
        _check_int_at_least(self.n_slope_grid, "n_slope_grid", 3)
        _check_int_at_least(self.max_iterations, "max_iterations", 1)
        check_positive(self.min_inhibition_pct, "min_inhibition_pct", allow_zero=True)
        if self.min_inhibition_pct >= BASELINE_PCT:
            raise BadParameterError(
                f"min_inhibition_pct must be below {BASELINE_PCT}, got {self.min_inhibition_pct}"
            )
        if not 0 < validate_type(self.confidence, (int, float), "confidence") < 1:
            raise BadParameterError(f"confidence must be in (0, 1), got {self.confidence}")
        check_positive(self.ed50_search_decades, "ed50_search_decades")
        check_positive(self.log_ed50_grid_step, "log_ed50_grid_step")


def _check_bounds(bounds: tuple[float, float], name: str, *, allow_zero: bool) -> None:
    validate_type(bounds, tuple, name)
    if len(bounds) != 2:
        raise BadParameterError(f"{name} must be a (low, high) pair, got {bounds!r}")
    low = check_positive(bounds[0], name, allow_zero=allow_zero)
    high = check_positive(bounds[1], name, allow_zero=allow_zero)
    if not low < high:
        raise BadParameterError(f"{name} must have low < high, got {bounds!r}")


def _check_int_at_least(value: int, name: str, minimum: int) -> None:
    validate_type(value, int, name)
    if value < minimum:
        raise BadParameterError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class HillFit:
    """Result of one Hill fit; fit fields are NaN unless ``fit_status == "ok"``.

    ``ed50_is_lower_bound`` (ED50 above the highest dose) reports
    ``ed50 = highest dose``; ``ed50_is_upper_bound`` (below the lowest dose)
    reports ``ed50 = lowest dose``. Both leave CI, slope, bottom and maximal
    inhibition NaN: the data do not determine them.

    Attributes
    ----------
    ed50, ed50_ci_low, ed50_ci_high : float
        Midpoint dose (in the dose unit) and its profile-likelihood CI; an
        open side is 0 or inf, and the CI is NaN without residual degrees of
        freedom (three doses).
    ed50_ci_method : str
        :data:`CI_METHOD`.
    hill_slope, bottom_pct : float
        Fitted slope and residual firing (% of baseline) at saturation.
    max_inhibition_pct : float
        ``100 - bottom_pct``.
    observed_max_inhibition_pct : float
        ``100 - lowest % baseline`` in the data (known for every status).
    fit_status : str
        One of :data:`FIT_STATUSES`.
    fit_r2, residual_sd : float
        Coefficient of determination and ``sqrt(SSE / (n_points - 3))``.
    n_doses, n_points : int
        Distinct doses and points with a finite response.
    """

    ed50: float
    ed50_ci_low: float
    ed50_ci_high: float
    ed50_is_lower_bound: bool
    ed50_is_upper_bound: bool
    ed50_ci_method: str
    hill_slope: float
    bottom_pct: float
    max_inhibition_pct: float
    observed_max_inhibition_pct: float
    fit_status: str
    fit_r2: float
    residual_sd: float
    n_doses: int
    n_points: int

    def as_row(self) -> dict[str, float | bool | str | int]:
        """The fields as a flat dict, one table row.

        Examples
        --------
        >>> fit = fit_hill(np.array([10.0, 20, 40, 80]), np.array([80.0, 60, 35, 20]))
        >>> fit.as_row()["fit_status"]
        'ok'
        """
        return asdict(self)


HILL_FIT_COLUMNS = tuple(field.name for field in fields(HillFit))
DEFAULT_FIT_PARAMS = FitParams()


def hill_response(
    log_dose: np.ndarray | float,
    log_ed50: np.ndarray | float,
    slope: np.ndarray | float,
    bottom: np.ndarray | float,
    top: np.ndarray | float = BASELINE_PCT,
) -> np.ndarray:
    """Four-parameter logistic in log10 dose (inhibition: falls from top to bottom).

    Examples
    --------
    >>> float(hill_response(2.0, 2.0, 1.0, 0.0))
    50.0
    >>> hill_response(np.array([0.0, 4.0]), 2.0, 1.0, 20.0).round(1).tolist()
    [99.2, 20.8]
    """
    return top - (top - bottom) * _effect_fraction(log_dose, log_ed50, slope)


def _effect_fraction(
    log_dose: np.ndarray | float, log_ed50: np.ndarray | float, slope: np.ndarray | float
) -> np.ndarray:
    """1 / (1 + 10**((log_ed50 - log_dose) * slope)), computed without overflow."""
    return expit(_LN10 * np.multiply(slope, np.subtract(log_dose, log_ed50)))


def fit_hill(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    params: FitParams = FitParams(),
    *,
    recovered: bool = True,
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
        False when the unit stayed silent after the antagonist: if it was also
        silent at the highest dose, the silence may be a lost unit rather than
        a drug effect and the fit is refused with ``fit_status="unit_lost"``.

    Returns
    -------
    HillFit

    Examples
    --------
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
    table = fit_hill_batch(
        dose[None, :], response[None, :], params, recovered=np.array([recovered])
    )
    return HillFit(**table.to_dict("records")[0])


def fit_hill_batch(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    params: FitParams = FitParams(),
    *,
    recovered: np.ndarray | None = None,
) -> pd.DataFrame:
    """Fit many units at once; rows are units, NaN-padded columns are doses.

    Parameters
    ----------
    cumulative_dose, pct_baseline : numpy.ndarray
        ``(n_units, max_doses)`` arrays; a NaN in either marks a missing point.
    params : FitParams
        Fit choices.
    recovered : numpy.ndarray of bool, optional
        Per unit, as in :func:`fit_hill`; all True by default.

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
    recovered = np.ones(n_units, bool) if recovered is None else np.asarray(recovered, bool)
    valid = np.isfinite(dose) & np.isfinite(response)
    data = _Data.from_arrays(dose, response, valid, params)
    result = _unfitted_result(data, recovered, params)
    to_fit = np.flatnonzero(result["fit_status"] == "ok")
    if to_fit.size:
        _fit_subset(data.take(to_fit), params, result, to_fit)
    return pd.DataFrame(result, columns=list(HILL_FIT_COLUMNS))


@dataclass(frozen=True)
class _Data:
    """Padded per-unit arrays: log doses, responses, validity mask, ED50 search range."""

    log_dose: np.ndarray
    response: np.ndarray
    weight: np.ndarray
    log_ed50_low: np.ndarray
    log_ed50_high: np.ndarray
    log_dose_min: np.ndarray
    log_dose_max: np.ndarray

    @classmethod
    def from_arrays(
        cls, dose: np.ndarray, response: np.ndarray, valid: np.ndarray, params: FitParams
    ) -> _Data:
        log_dose = np.where(valid, np.log10(np.where(valid, dose, 1.0)), 0.0)
        with np.errstate(invalid="ignore"):
            log_dose_min = np.where(valid, log_dose, np.inf).min(axis=1)
            log_dose_max = np.where(valid, log_dose, -np.inf).max(axis=1)
        return cls(
            log_dose=log_dose,
            response=np.where(valid, response, 0.0),
            weight=valid.astype(np.float64),
            log_ed50_low=log_dose_min - params.ed50_search_decades,
            log_ed50_high=log_dose_max + params.ed50_search_decades,
            log_dose_min=log_dose_min,
            log_dose_max=log_dose_max,
        )

    def take(self, rows: np.ndarray) -> _Data:
        return _Data(**{name: value[rows] for name, value in asdict(self).items()})

    @property
    def n_points(self) -> np.ndarray:
        return self.weight.sum(axis=1).astype(int)


def _n_distinct_doses(dose: np.ndarray, valid: np.ndarray) -> np.ndarray:
    ordered = np.sort(np.where(valid, dose, np.nan), axis=1)  # NaN sorts last
    changed = ordered[:, 1:] != ordered[:, :-1]
    new_value = np.concatenate([np.ones((dose.shape[0], 1), bool), changed], axis=1)
    return (new_value & np.isfinite(ordered)).sum(axis=1)


def _observed_max_inhibition(response: np.ndarray, valid: np.ndarray) -> np.ndarray:
    lowest = np.where(valid, response, np.inf).min(axis=1)
    return np.where(np.isfinite(lowest), BASELINE_PCT - lowest, np.nan)


def _response_at_highest_dose(
    dose: np.ndarray, response: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    masked = np.where(valid, dose, -np.inf)
    top_index = masked.argmax(axis=1)
    at_top = response[np.arange(dose.shape[0]), top_index]
    return np.where(valid.any(axis=1), at_top, np.nan)


def _unfitted_result(
    data: _Data, recovered: np.ndarray, params: FitParams
) -> dict[str, np.ndarray]:
    """Result columns before fitting: counts, observed inhibition, pre-fit status.

    The status of units that must not be fitted (later rules win: a lost
    unit is reported as lost whatever else holds); "ok" for the rest.
    """
    valid = data.weight > 0
    n_units = valid.shape[0]
    n_doses = _n_distinct_doses(data.log_dose, valid)
    observed = _observed_max_inhibition(data.response, valid)
    silent_at_top_dose = _response_at_highest_dose(data.log_dose, data.response, valid) <= 0
    status = np.full(n_units, "ok", dtype=object)
    status[~(observed >= params.min_inhibition_pct)] = "no_response"
    status[n_doses < params.min_doses] = "too_few_doses"
    status[~recovered & silent_at_top_dose] = "unit_lost"
    result = {name: np.full(n_units, np.nan) for name in HILL_FIT_COLUMNS}
    result.update(
        ed50_is_lower_bound=np.zeros(n_units, bool),
        ed50_is_upper_bound=np.zeros(n_units, bool),
        ed50_ci_method=np.full(n_units, CI_METHOD, dtype=object),
        observed_max_inhibition_pct=observed,
        fit_status=status,
        n_doses=n_doses,
        n_points=data.n_points,
    )
    return result


def _fit_subset(
    data: _Data, params: FitParams, result: dict[str, np.ndarray], rows: np.ndarray
) -> None:
    """Fit the units of ``data`` and write their results into ``rows`` of ``result``."""
    log_grid, coarse_profile, start = _grid_search(data, params)
    theta, sse, converged = _levenberg_marquardt(data, start, params)
    ci_low, ci_high = _profile_ci(data, theta, sse, log_grid, coarse_profile, params)
    log_ed50, slope, bottom = theta.T
    above = log_ed50 > data.log_dose_max
    below = log_ed50 < data.log_dose_min
    bounded = above | below
    ed50 = 10.0 ** np.where(above, data.log_dose_max, np.where(below, data.log_dose_min, log_ed50))
    residual_df = data.n_points - N_FREE_PARAMETERS
    total_ss = _total_sum_of_squares(data)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit_r2 = 1.0 - sse / total_ss
        residual_sd = np.where(residual_df > 0, np.sqrt(sse / residual_df), np.nan)
    fitted = {
        "ed50": ed50,
        "ed50_ci_low": np.where(bounded, np.nan, ci_low),
        "ed50_ci_high": np.where(bounded, np.nan, ci_high),
        "ed50_is_lower_bound": above,
        "ed50_is_upper_bound": below,
        "hill_slope": np.where(bounded, np.nan, slope),
        "bottom_pct": np.where(bounded, np.nan, bottom),
        "max_inhibition_pct": np.where(bounded, np.nan, BASELINE_PCT - bottom),
        "fit_r2": fit_r2,
        "residual_sd": residual_sd,
    }
    for name, values in fitted.items():
        result[name][rows] = np.where(converged, values, result[name][rows])
    result["fit_status"][rows] = np.where(converged, "ok", "did_not_converge")


def _total_sum_of_squares(data: _Data) -> np.ndarray:
    mean = (data.response * data.weight).sum(axis=1) / data.weight.sum(axis=1)
    return (data.weight * (data.response - mean[:, None]) ** 2).sum(axis=1)


def _sse_for(
    data_axes: tuple[np.ndarray, np.ndarray, np.ndarray],
    log_ed50: np.ndarray,
    slope: np.ndarray,
    params: FitParams,
) -> tuple[np.ndarray, np.ndarray]:
    """SSE and least-squares bottom for given log ED50 and slope (doses on axis -1).

    The model is linear in ``span = top - bottom``: ``top - response = span *
    fraction``. The best span is a ratio of sums, clipped to the bottom
    bounds, and the SSE follows from the same sums without residual arrays.
    """
    log_dose, response, weight = data_axes
    fraction = _effect_fraction(log_dose, log_ed50, slope)
    deficit = weight * (params.top_pct - response)
    deficit_fraction = (deficit * fraction).sum(axis=-1)
    fraction_squared = (weight * fraction**2).sum(axis=-1)
    deficit_squared = (deficit * (params.top_pct - response)).sum(axis=-1)
    low, high = params.bottom_bounds_pct
    span = np.divide(
        deficit_fraction,
        fraction_squared,
        out=np.zeros_like(deficit_fraction),
        where=fraction_squared > 0,
    )
    span = np.clip(span, params.top_pct - high, params.top_pct - low)
    sse = deficit_squared - 2.0 * span * deficit_fraction + span**2 * fraction_squared
    return np.maximum(sse, 0.0), params.top_pct - span


def _slope_grid(params: FitParams) -> np.ndarray:
    low, high = params.slope_bounds
    return np.geomspace(low, high, params.n_slope_grid)


def _grid_search(data: _Data, params: FitParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coarse (log ED50 x slope) grid: profile SSE over log ED50 and the best start.

    Returns the per-unit log ED50 grid ``(n, K)``, its coarse profile SSE
    ``(n, K)`` (minimum over the slope grid) and the start ``(n, 3)``.
    """
    span = (data.log_ed50_high - data.log_ed50_low).max()
    steps = (
        np.arange(int(np.ceil(span / params.log_ed50_grid_step)) + 1) * params.log_ed50_grid_step
    )
    log_grid = np.minimum(data.log_ed50_low[:, None] + steps, data.log_ed50_high[:, None])
    slopes = _slope_grid(params)
    n_units, n_grid = log_grid.shape
    chunk = max(1, _GRID_CHUNK_ELEMENTS // (n_grid * slopes.size * data.log_dose.shape[1]))
    profile = np.empty((n_units, n_grid))
    start = np.empty((n_units, 3))
    for first in range(0, n_units, chunk):
        rows = slice(first, first + chunk)
        axes = (
            data.log_dose[rows, None, None, :],
            data.response[rows, None, None, :],
            data.weight[rows, None, None, :],
        )
        sse, bottom = _sse_for(
            axes, log_grid[rows, :, None, None], slopes[None, None, :, None], params
        )
        best_slope = sse.argmin(axis=2)
        profile[rows] = np.take_along_axis(sse, best_slope[..., None], axis=2)[..., 0]
        best_log = profile[rows].argmin(axis=1)
        chunk_index = np.arange(best_log.size)
        slope_index = best_slope[chunk_index, best_log]
        start[rows] = np.column_stack(
            [
                log_grid[rows][chunk_index, best_log],
                slopes[slope_index],
                bottom[chunk_index, best_log, slope_index],
            ]
        )
    return log_grid, profile, start


def _derivatives(
    data: _Data, theta: np.ndarray, params: FitParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residuals ``(n, m)``, Jacobian ``(n, m, 3)`` and Hessian ``(n, 3, 3)`` of SSE / 2.

    Parameters are (log ED50, slope, bottom). The Hessian is exact (Gauss-Newton
    term plus residual curvature): with only the lower part of the curve in
    the data the residuals are large relative to the curvature of the
    (log ED50, slope) valley, and Gauss-Newton alone zig-zags along it.
    """
    log_ed50, slope, bottom = (theta[:, i : i + 1] for i in range(3))
    span = params.top_pct - bottom
    # fraction = expit(z), z = ln10 * slope * (log_dose - log_ed50)
    z_by_log_ed50 = np.broadcast_to(-_LN10 * slope, data.log_dose.shape)
    z_by_slope = _LN10 * (data.log_dose - log_ed50)
    fraction = expit(z_by_slope * slope)
    first = fraction * (1.0 - fraction)
    second = first * (1.0 - 2.0 * fraction)
    residual = data.weight * (params.top_pct - span * fraction - data.response)
    z_gradient = np.stack([z_by_log_ed50, z_by_slope], axis=-1)
    jacobian = np.concatenate(
        [
            (-data.weight * span * first)[..., None] * z_gradient,
            (data.weight * fraction)[..., None],
        ],
        axis=-1,
    )
    curvature = np.zeros((*theta.shape, 3))
    weighted = residual * span
    curvature[:, :2, :2] = -np.einsum("nm,nmi,nmj->nij", weighted * second, z_gradient, z_gradient)
    # d2z / d(log_ed50) d(slope) = -ln10
    cross = _LN10 * (weighted * first).sum(axis=1)
    curvature[:, 0, 1] += cross
    curvature[:, 1, 0] += cross
    bottom_cross = np.einsum("nm,nmi->ni", residual * first, z_gradient)
    curvature[:, :2, 2] = bottom_cross
    curvature[:, 2, :2] = bottom_cross
    hessian = np.einsum("nmp,nmq->npq", jacobian, jacobian) + curvature
    return residual, jacobian, hessian


def _parameter_bounds(data: _Data, params: FitParams) -> tuple[np.ndarray, np.ndarray]:
    n_units = data.log_dose.shape[0]
    low = np.column_stack(
        [
            data.log_ed50_low,
            np.full(n_units, params.slope_bounds[0]),
            np.full(n_units, params.bottom_bounds_pct[0]),
        ]
    )
    high = np.column_stack(
        [
            data.log_ed50_high,
            np.full(n_units, params.slope_bounds[1]),
            np.full(n_units, params.bottom_bounds_pct[1]),
        ]
    )
    return low, high


def _levenberg_marquardt(
    data: _Data, start: np.ndarray, params: FitParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched, bound-projected, damped Newton (Levenberg-Marquardt) from the grid start.

    The damping adds ``lambda * diag(J'J)``; it shrinks after a step that
    lowers the SSE and grows after one that does not. A parameter on a bound
    whose gradient points outwards is frozen for that step (active set) and
    steps are clipped to the box. Returns the parameters, their SSE and a
    converged flag per unit.
    """
    low, high = _parameter_bounds(data, params)
    theta = np.clip(start, low, high)
    residual, jacobian, hessian = _derivatives(data, theta, params)
    sse = (residual**2).sum(axis=1)
    damping = np.full(theta.shape[0], 1e-3)
    converged = np.zeros(theta.shape[0], bool)
    for _ in range(params.max_iterations):
        rows = np.flatnonzero(~converged)
        if not rows.size:
            break
        gradient = np.einsum("nmp,nm->np", jacobian[rows], residual[rows])
        # Marquardt scaling: damping proportional to the diagonal of J'J
        scale = np.maximum((jacobian[rows] ** 2).sum(axis=1), 1e-9)
        step = _newton_step(
            theta[rows], gradient, hessian[rows], damping[rows, None] * scale, low[rows], high[rows]
        )
        trial = np.clip(theta[rows] + step, low[rows], high[rows])
        trial_residual, trial_jacobian, trial_hessian = _derivatives(data.take(rows), trial, params)
        trial_sse = (trial_residual**2).sum(axis=1)
        accepted = trial_sse <= sse[rows]
        relative_step = np.abs(trial - theta[rows]) / (np.abs(theta[rows]) + 1.0)
        settled = accepted & (sse[rows] - trial_sse <= _RELATIVE_SSE_TOLERANCE * sse[rows])
        # a vanishing step, accepted or not, means no direction lowers the SSE
        done = settled | (relative_step.max(axis=1) < _RELATIVE_STEP_TOLERANCE)
        take = rows[accepted]
        theta[take] = trial[accepted]
        sse[take] = trial_sse[accepted]
        residual[take] = trial_residual[accepted]
        jacobian[take] = trial_jacobian[accepted]
        hessian[take] = trial_hessian[accepted]
        damping[rows] = np.where(accepted, damping[rows] / 3.0, damping[rows] * 4.0)
        converged[rows[done]] = True
    return theta, sse, converged


def _newton_step(
    theta: np.ndarray,
    gradient: np.ndarray,
    hessian: np.ndarray,
    damping: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """Damped Newton step with parameters frozen on a bound they are pushed against."""
    frozen = ((theta <= low) & (gradient > 0)) | ((theta >= high) & (gradient < 0))
    free = ~frozen
    system = hessian * free[:, :, None] * free[:, None, :]
    system = system + (damping * free + frozen)[:, :, None] * np.eye(3)
    return -np.linalg.solve(system, (gradient * free)[..., None])[..., 0]


def _profile_sse(data: _Data, log_ed50: np.ndarray, params: FitParams) -> np.ndarray:
    """Profile SSE at fixed log ED50 per unit: best slope (grid, then golden section)."""
    axes = (data.log_dose[:, None, :], data.response[:, None, :], data.weight[:, None, :])
    slopes = _slope_grid(params)
    grid_sse, _ = _sse_for(axes, log_ed50[:, None, None], slopes[None, :, None], params)
    best = grid_sse.argmin(axis=1)
    log_slopes = np.log(slopes)
    left = log_slopes[np.maximum(best - 1, 0)]
    right = log_slopes[np.minimum(best + 1, slopes.size - 1)]

    def sse_at(log_slope: np.ndarray) -> np.ndarray:
        return _sse_for(
            (data.log_dose, data.response, data.weight),
            log_ed50[:, None],
            np.exp(log_slope)[:, None],
            params,
        )[0]

    bracket = _golden_start(left, right, sse_at)
    for _ in range(_GOLDEN_ITERATIONS):
        bracket = _golden_step(bracket, sse_at)
    sse_left, sse_right = bracket[4], bracket[5]
    return np.minimum(np.minimum(sse_left, sse_right), grid_sse.min(axis=1))


_Bracket = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _golden_start(left: np.ndarray, right: np.ndarray, objective: Callable) -> _Bracket:
    """(left, right, inner_left, inner_right, f(inner_left), f(inner_right))."""
    inner_left = right - _GOLDEN * (right - left)
    inner_right = left + _GOLDEN * (right - left)
    return left, right, inner_left, inner_right, objective(inner_left), objective(inner_right)


def _golden_step(bracket: _Bracket, objective: Callable) -> _Bracket:
    """One vectorised golden-section step: drop the outer part beyond the worse inner point."""
    left, right, inner_left, inner_right, value_left, value_right = bracket
    keep_left = value_left < value_right
    left = np.where(keep_left, left, inner_left)
    right = np.where(keep_left, inner_right, right)
    new_inner_left = np.where(keep_left, right - _GOLDEN * (right - left), inner_right)
    new_inner_right = np.where(keep_left, inner_left, left + _GOLDEN * (right - left))
    new_value = objective(np.where(keep_left, new_inner_left, new_inner_right))
    return (
        left,
        right,
        new_inner_left,
        new_inner_right,
        np.where(keep_left, new_value, value_right),
        np.where(keep_left, value_left, new_value),
    )


def _profile_ci(
    data: _Data,
    theta: np.ndarray,
    sse: np.ndarray,
    log_grid: np.ndarray,
    coarse_profile: np.ndarray,
    params: FitParams,
) -> tuple[np.ndarray, np.ndarray]:
    """ED50 CI limits where the profile SSE crosses the F threshold.

    Walking outwards from the estimate, the first grid point whose profile
    exceeds the threshold brackets the crossing; bisection on the refined
    profile then locates it. A side that never crosses inside the search
    range is open: 0 or inf. NaN when there are no residual degrees of freedom.
    """
    residual_df = data.n_points - N_FREE_PARAMETERS
    has_df = residual_df > 0
    safe_df = np.maximum(residual_df, 1)
    threshold = sse * (1.0 + stats.f.ppf(params.confidence, 1, safe_df) / safe_df)
    log_ed50 = theta[:, 0]
    units = np.arange(log_ed50.size)
    limits = []
    for side in (-1, 1):
        outside_index, closed = _first_grid_crossing(
            data, log_grid, coarse_profile, log_ed50, threshold, side, params
        )
        closed &= has_df
        outside = log_grid[units, outside_index]
        inside = log_grid[units, np.clip(outside_index - side, 0, log_grid.shape[1] - 1)]
        inside = np.where((inside - log_ed50) * side > 0, inside, log_ed50)
        crossing_log = _locate_crossing(data, inside, outside, threshold, closed, params)
        open_value = 0.0 if side < 0 else np.inf
        limits.append(np.where(closed, 10.0**crossing_log, np.where(has_df, open_value, np.nan)))
    return limits[0], limits[1]


def _first_grid_crossing(
    data: _Data,
    log_grid: np.ndarray,
    coarse_profile: np.ndarray,
    log_ed50: np.ndarray,
    threshold: np.ndarray,
    side: int,
    params: FitParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first grid point beyond the estimate (on ``side``) above the threshold.

    The coarse profile (minimum over the slope grid only) can overestimate
    the profile, so its first crossing is checked with the refined profile and
    the walk continues outwards while the refined profile stays below. Also
    returns whether a crossing exists inside the grid.
    """
    outward = (log_grid - log_ed50[:, None]) * side > 0
    coarse_crossing = outward & (coarse_profile > threshold[:, None])
    # first True when walking outwards: lowest index going up, highest going down
    ordered = coarse_crossing if side > 0 else coarse_crossing[:, ::-1]
    index = ordered.argmax(axis=1)
    if side < 0:
        index = log_grid.shape[1] - 1 - index
    closed = coarse_crossing.any(axis=1)
    pending = closed.copy()
    while pending.any():
        rows = np.flatnonzero(pending)
        refined = _profile_sse(data.take(rows), log_grid[rows, index[rows]], params)
        below = refined <= threshold[rows]
        pending[rows[~below]] = False
        walking = rows[below]
        index[walking] += side
        off_grid = walking[(index[walking] < 0) | (index[walking] >= log_grid.shape[1])]
        closed[off_grid] = False
        pending[off_grid] = False
    return np.clip(index, 0, log_grid.shape[1] - 1), closed


def _locate_crossing(
    data: _Data,
    inside: np.ndarray,
    outside: np.ndarray,
    threshold: np.ndarray,
    closed: np.ndarray,
    params: FitParams,
) -> np.ndarray:
    """Per unit, the log ED50 between ``inside`` and ``outside`` where the profile
    reaches the threshold.

    Illinois variant of regula falsi: the bracket keeps a point below and one
    above the threshold, and the value of an end kept twice in a row is
    halved so that convergence stays superlinear. NaN for units not ``closed``.
    """
    rows = np.flatnonzero(closed)
    subset = data.take(rows)

    def excess(log_ed50: np.ndarray) -> np.ndarray:
        return _profile_sse(subset, log_ed50, params) - threshold[rows]

    below, above = inside[rows], outside[rows]
    excess_below, excess_above = excess(below), excess(above)
    kept_below_last = np.zeros(rows.size, bool)
    kept_above_last = np.zeros(rows.size, bool)
    for _ in range(_ROOT_ITERATIONS):
        rise = excess_above - excess_below
        # a flat bracket (exact data: SSE and threshold both ~0) falls back to bisection
        secant = above - excess_above * (above - below) / np.where(rise > 0, rise, 1.0)
        guess = np.where(rise > 0, secant, 0.5 * (above + below))
        excess_guess = excess(guess)
        is_above = excess_guess > 0
        excess_below = np.where(is_above & kept_below_last, excess_below / 2, excess_below)
        excess_above = np.where(~is_above & kept_above_last, excess_above / 2, excess_above)
        above = np.where(is_above, guess, above)
        excess_above = np.where(is_above, excess_guess, excess_above)
        below = np.where(is_above, below, guess)
        excess_below = np.where(is_above, excess_below, excess_guess)
        kept_below_last, kept_above_last = is_above, ~is_above
    crossing = np.full(inside.shape, np.nan)
    crossing[rows] = np.where(np.abs(excess_below) <= np.abs(excess_above), below, above)
    return crossing


def dose_responses(doses: pd.DataFrame) -> pd.DataFrame:
    """Validated per-injection responses with the drug ``role`` and ``inhibition_pct``.

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection, as :func:`rapheunit.core.epochs.dose_rates` returns.

    Returns
    -------
    pandas.DataFrame
        A copy sorted by recording, unit and injection time, with ``role``
        (:func:`rapheunit.core.markers.drug_role`) and ``inhibition_pct``
        (``100 - pct_baseline``) added.

    Examples
    --------
    >>> table = pd.DataFrame({"recording": "r", "unit": "u", "drug": ["ipsapirone", "WAY"],
    ...     "dose_unit": "ug/kg", "cumulative_dose": [10.0, 100.0],
    ...     "injection_time_s": [0.0, 60.0], "rate_hz": [0.5, 1.0], "pct_baseline": [50.0, 100.0]})
    >>> dose_responses(table)[["role", "inhibition_pct"]].to_numpy().tolist()
    [['5ht1a_agonist', 50.0], ['5ht1a_antagonist', 0.0]]
    """
    validate_type(doses, pd.DataFrame, "doses")
    missing = [column for column in REQUIRED_COLUMNS if column not in doses.columns]
    if missing:
        raise BadDoseTableError(f"dose table lacks column(s) {', '.join(missing)}")
    table = doses.sort_values([*UNIT_KEY, "injection_time_s"], kind="stable").reset_index(drop=True)
    roles = {drug: drug_role(drug) for drug in table["drug"].unique()}
    table["role"] = table["drug"].map(roles)
    table["inhibition_pct"] = BASELINE_PCT - table["pct_baseline"]
    return table


def unit_dose_response(doses: pd.DataFrame, params: FitParams = FitParams()) -> pd.DataFrame:
    """Hill fit and reversal per recording, unit and dose-response drug.

    Every drug that is neither a 5-HT1A antagonist nor a vehicle gets a row.
    The model describes inhibition: a drug that raises firing (bicuculline)
    gets ``fit_status="no_response"`` and a negative
    ``observed_max_inhibition_pct``.
    Reversal is computed for 5-HT1A agonists only. Each antagonist injection
    belongs to the agonist series of the same unit that ended last before it;
    the last such window gives ``reversal_pct_baseline`` and ``reversal_pct``
    is the share of the inhibition at the highest agonist dose that it undid,
    ``100 * (after - at_max) / (100 - at_max)``, NaN when the inhibition at
    the highest dose is below ``params.min_inhibition_pct`` (nothing to undo).
    A unit silent at the highest dose and still silent after the antagonist
    is ``fit_status="unit_lost"``.

    Parameters
    ----------
    doses : pandas.DataFrame
        Per unit and injection (see :func:`dose_responses`).
    params : FitParams
        Fit choices.

    Returns
    -------
    pandas.DataFrame
        One row per recording, unit and drug: ``recording, unit, drug, role,
        ed50, ed50_unit``, the :class:`HillFit` fields, ``pct_at_max_dose``,
        ``reversal_pct_baseline`` and ``reversal_pct``.

    Examples
    --------
    >>> cumulative = [10.0, 20.0, 40.0, 80.0, 160.0]
    >>> table = pd.DataFrame({"recording": "r", "unit": "u",
    ...     "drug": ["ipsapirone"] * 5 + ["WAY-100635"], "dose_unit": "ug/kg",
    ...     "cumulative_dose": [*cumulative, 100.0], "injection_time_s": np.arange(6.0) * 180,
    ...     "rate_hz": 1.0, "pct_baseline": [90.0, 70.0, 45.0, 25.0, 15.0, 83.0]})
    >>> row = unit_dose_response(table).iloc[0]
    >>> row["fit_status"], round(float(row["reversal_pct"]), 1)
    ('ok', 80.0)
    """
    table = dose_responses(doses)
    responses = table[~table["role"].isin(NON_DOSE_RESPONSE_ROLES)].sort_values(
        [*UNIT_KEY, "drug", "cumulative_dose", "injection_time_s"], kind="stable"
    )
    keys = _series_keys(responses)
    grouped = responses.groupby([*UNIT_KEY, "drug"], sort=False)
    dose, response = _padded(
        responses, grouped.ngroup().to_numpy(), grouped.cumcount().to_numpy(), len(keys)
    )
    keys["pct_at_max_dose"] = _response_at_highest_dose(
        dose, response, np.isfinite(dose * response)
    )
    reversal = _reversal(table, responses, keys, params.min_inhibition_pct)
    fits = fit_hill_batch(
        dose, response, params, recovered=~(reversal["reversal_pct_baseline"] <= 0)
    )
    result = pd.concat([keys, fits, reversal], axis=1)
    return result[[*OUTPUT_COLUMNS, *(c for c in result.columns if c not in OUTPUT_COLUMNS)]]


OUTPUT_COLUMNS = (
    "recording",
    "unit",
    "drug",
    "role",
    "ed50",
    "ed50_unit",
    "ed50_ci_low",
    "ed50_ci_high",
    "ed50_is_lower_bound",
    "hill_slope",
    "max_inhibition_pct",
    "fit_status",
    "fit_r2",
    "n_doses",
    "reversal_pct",
)


def _series_keys(responses: pd.DataFrame) -> pd.DataFrame:
    """One row per (recording, unit, drug) in group order, with its role and dose unit."""
    keys = responses.groupby([*UNIT_KEY, "drug"], sort=False).agg(
        role=("role", "first"),
        ed50_unit=("dose_unit", "first"),
        n_dose_units=("dose_unit", "nunique"),
    )
    mixed = keys[keys["n_dose_units"] > 1]
    if len(mixed):
        recording, unit, drug = mixed.index[0]
        raise BadDoseTableError(
            f"{recording}/{unit}: {drug} doses mix dose units; cumulative doses need one unit"
        )
    return keys.drop(columns="n_dose_units").reset_index()


def _padded(
    responses: pd.DataFrame, group: np.ndarray, position: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """(n_groups, max_doses) cumulative doses and % baseline, NaN-padded."""
    width = int(position.max()) + 1 if position.size else 1
    dose = np.full((n_groups, width), np.nan)
    response = np.full((n_groups, width), np.nan)
    dose[group, position] = responses["cumulative_dose"].to_numpy(dtype=np.float64)
    response[group, position] = responses["pct_baseline"].to_numpy(dtype=np.float64)
    return dose, response


def _reversal(
    table: pd.DataFrame, responses: pd.DataFrame, keys: pd.DataFrame, min_inhibition_pct: float
) -> pd.DataFrame:
    """Per series: firing after the antagonist and the share of inhibition it undid."""
    agonist_ends = (
        responses[responses["role"] == AGONIST]
        .groupby([*UNIT_KEY, "drug"], sort=False)["injection_time_s"]
        .max()
        .rename("series_end_s")
        .reset_index()
        .sort_values("series_end_s", kind="stable")
    )
    antagonists = table.loc[
        table["role"] == ANTAGONIST, [*UNIT_KEY, "injection_time_s", "pct_baseline"]
    ].sort_values("injection_time_s", kind="stable")
    assigned = pd.merge_asof(
        antagonists,
        agonist_ends,
        left_on="injection_time_s",
        right_on="series_end_s",
        by=list(UNIT_KEY),
        direction="backward",
        allow_exact_matches=False,
    ).dropna(subset=["series_end_s"])
    after = (
        assigned.sort_values("injection_time_s", kind="stable")
        .groupby([*UNIT_KEY, "drug"], sort=False)["pct_baseline"]
        .last()
        .rename("reversal_pct_baseline")
    )
    merged = keys.merge(after, on=[*UNIT_KEY, "drug"], how="left")
    at_max = merged["pct_at_max_dose"].to_numpy(dtype=np.float64)
    after_pct = merged["reversal_pct_baseline"].to_numpy(dtype=np.float64)
    inhibition = BASELINE_PCT - at_max
    with np.errstate(divide="ignore", invalid="ignore"):
        undone = 100.0 * (after_pct - at_max) / inhibition
    undone[~((inhibition > 0) & (inhibition >= min_inhibition_pct))] = np.nan
    return pd.DataFrame(
        {"reversal_pct_baseline": after_pct, "reversal_pct": undone}, index=keys.index
    )
