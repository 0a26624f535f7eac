"""Profile SSE of the Hill fit and the profile-likelihood CI of the ED50.

The model is linear in its span (``top - bottom``), so for a given log ED50
and slope the best bottom and the residual sum of squares follow in closed
form (:func:`sse_for`). The 95 % CI of the ED50 is the range of log ED50 whose
profile residual sum of squares (slope and bottom re-optimised) stays below
``SSE_min * (1 + F(confidence; 1, n - p) / (n - p))`` (the F form, because the
residual variance is estimated from the same few points; ``p`` free
parameters). Each limit is bracketed on the fitter's grid and located by
regula falsi. Everything is vectorised over units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from rapheunit.core.distributions import f_ppf
from rapheunit.doseresponse.hill import N_FREE_PARAMETERS, FitParams, effect_fraction

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
# Golden-section steps shrink the slope bracket (two grid steps) by 0.618**20 ~ 7e-5;
# the regula falsi for each CI limit converges superlinearly, to ~1e-7 relative in 10.
_GOLDEN_ITERATIONS = 20
_ROOT_ITERATIONS = 10


@dataclass(frozen=True)
class FitData:
    """Padded per-unit arrays: log doses, responses, validity mask, ED50 search range.

    ``bottom_low`` and ``bottom_high`` bound each unit's bottom; they are equal
    (the lower bound) where the bottom is fixed, as for a full agonist.
    """

    log_dose: np.ndarray
    response: np.ndarray
    weight: np.ndarray
    log_ed50_low: np.ndarray
    log_ed50_high: np.ndarray
    log_dose_min: np.ndarray
    log_dose_max: np.ndarray
    bottom_low: np.ndarray
    bottom_high: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        dose: np.ndarray,
        response: np.ndarray,
        valid: np.ndarray,
        params: FitParams,
        bottom_fixed: np.ndarray,
    ) -> FitData:
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
            bottom_low=np.full(dose.shape[0], params.bottom_bounds_pct[0]),
            bottom_high=np.where(
                bottom_fixed, params.bottom_bounds_pct[0], params.bottom_bounds_pct[1]
            ),
        )

    def take(self, rows: np.ndarray) -> FitData:
        return FitData(**{name: value[rows] for name, value in asdict(self).items()})

    @property
    def n_points(self) -> np.ndarray:
        return self.weight.sum(axis=1).astype(int)

    @property
    def bottom_fixed(self) -> np.ndarray:
        return self.bottom_high <= self.bottom_low

    @property
    def residual_df(self) -> np.ndarray:
        """Points minus free parameters (log ED50, slope and, unless fixed, bottom)."""
        return self.n_points - N_FREE_PARAMETERS + self.bottom_fixed

    def bottom_bounds(self, rows: slice | np.ndarray, trailing: int) -> tuple[np.ndarray, ...]:
        """Bottom bounds of ``rows`` shaped to broadcast over ``trailing`` more axes."""
        shape = (-1,) + (1,) * trailing
        return self.bottom_low[rows].reshape(shape), self.bottom_high[rows].reshape(shape)


def total_sum_of_squares(data: FitData) -> np.ndarray:
    mean = (data.response * data.weight).sum(axis=1) / data.weight.sum(axis=1)
    return (data.weight * (data.response - mean[:, None]) ** 2).sum(axis=1)


def sse_for(
    data_axes: tuple[np.ndarray, np.ndarray, np.ndarray],
    log_ed50: np.ndarray,
    slope: np.ndarray,
    params: FitParams,
    bottom_bounds: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """SSE and least-squares bottom for given log ED50 and slope (doses on axis -1).

    The model is linear in ``span = top - bottom``: ``top - response = span *
    fraction``. The best span is a ratio of sums, clipped to the bottom
    bounds, and the SSE follows from the same sums without residual arrays.
    """
    log_dose, response, weight = data_axes
    fraction = effect_fraction(log_dose, log_ed50, slope)
    deficit = weight * (params.top_pct - response)
    return sse_from_sums(
        (deficit * fraction).sum(axis=-1),
        (weight * fraction**2).sum(axis=-1),
        (deficit * (params.top_pct - response)).sum(axis=-1),
        params,
        bottom_bounds,
    )


def sse_from_sums(
    deficit_fraction: np.ndarray,
    fraction_squared: np.ndarray,
    deficit_squared: np.ndarray,
    params: FitParams,
    bottom_bounds: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """SSE and bottom from the sums over points of :func:`sse_for` (``deficit = top - response``).

    ``deficit_fraction = sum(w deficit fraction)``, ``fraction_squared = sum(w fraction**2)``,
    ``deficit_squared = sum(w deficit**2)``.
    """
    low, high = bottom_bounds
    span = np.divide(
        deficit_fraction,
        fraction_squared,
        out=np.zeros(np.broadcast_shapes(deficit_fraction.shape, fraction_squared.shape)),
        where=fraction_squared > 0,
    )
    span = np.clip(span, params.top_pct - high, params.top_pct - low)
    sse = deficit_squared - 2.0 * span * deficit_fraction + span**2 * fraction_squared
    return np.maximum(sse, 0.0), params.top_pct - span


def slope_grid(params: FitParams) -> np.ndarray:
    low, high = params.slope_bounds
    return np.geomspace(low, high, params.n_slope_grid)



def profile_sse(data: FitData, log_ed50: np.ndarray, params: FitParams) -> np.ndarray:
    """Profile SSE at fixed log ED50 per unit: best slope (grid, then golden section)."""
    axes = (data.log_dose[:, None, :], data.response[:, None, :], data.weight[:, None, :])
    slopes = slope_grid(params)
    all_rows = slice(None)
    grid_sse, _ = sse_for(
        axes,
        log_ed50[:, None, None],
        slopes[None, :, None],
        params,
        data.bottom_bounds(all_rows, 1),
    )
    best = grid_sse.argmin(axis=1)
    log_slopes = np.log(slopes)
    left = log_slopes[np.maximum(best - 1, 0)]
    right = log_slopes[np.minimum(best + 1, slopes.size - 1)]

    def sse_at(log_slope: np.ndarray) -> np.ndarray:
        return sse_for(
            (data.log_dose, data.response, data.weight),
            log_ed50[:, None],
            np.exp(log_slope)[:, None],
            params,
            data.bottom_bounds(all_rows, 0),
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


def profile_ci(
    data: FitData,
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
    residual_df = data.residual_df
    has_df = residual_df > 0
    safe_df = np.maximum(residual_df, 1)
    threshold = sse * (1.0 + f_ppf(params.confidence, 1, safe_df) / safe_df)
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
    data: FitData,
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
        refined = profile_sse(data.take(rows), log_grid[rows, index[rows]], params)
        below = refined <= threshold[rows]
        pending[rows[~below]] = False
        walking = rows[below]
        index[walking] += side
        off_grid = walking[(index[walking] < 0) | (index[walking] >= log_grid.shape[1])]
        closed[off_grid] = False
        pending[off_grid] = False
    return np.clip(index, 0, log_grid.shape[1] - 1), closed


def _locate_crossing(
    data: FitData,
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
        return profile_sse(subset, log_ed50, params) - threshold[rows]

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

