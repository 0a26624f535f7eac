"""The fitter's search: a coarse grid start, then a batched Levenberg-Marquardt refinement.

A coarse grid over (log ED50, slope), with the best ``bottom`` solved in
closed form at each grid point, starts a batched, bound-projected, damped
Newton (Levenberg-Marquardt) refinement of all three parameters; a fixed
bottom (equal bounds) never moves.
"""

from __future__ import annotations

import numpy as np

from rapheunit.doseresponse.hill import LN10, FitParams, effect_fraction
from rapheunit.doseresponse.profile import FitData, slope_grid, sse_for, sse_from_sums

_GRID_CHUNK_ELEMENTS = 4_000_000  # bounds the memory of the grid stage (~32 MB per array)
# Newton iterations stop when a step no longer lowers the SSE by more than this
# relative amount, or moves no parameter by more than this relative amount.
_RELATIVE_SSE_TOLERANCE = 1e-13
_RELATIVE_STEP_TOLERANCE = 1e-11


def grid_search(data: FitData, params: FitParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coarse (log ED50 x slope) grid: profile SSE over log ED50 and the best start.

    Returns the per-unit log ED50 grid ``(n, K)``, its coarse profile SSE
    ``(n, K)`` (minimum over the slope grid) and the start ``(n, 3)``.
    """
    span = (data.log_ed50_high - data.log_ed50_low).max()
    steps = (
        np.arange(int(np.ceil(span / params.log_ed50_grid_step)) + 1) * params.log_ed50_grid_step
    )
    log_grid = np.minimum(data.log_ed50_low[:, None] + steps, data.log_ed50_high[:, None])
    slopes = slope_grid(params)
    n_units, n_grid = log_grid.shape
    shared = _shared_schedule(data)
    per_row = n_grid * slopes.size * (1 if shared else data.log_dose.shape[1])
    chunk = max(1, _GRID_CHUNK_ELEMENTS // per_row)
    profile = np.empty((n_units, n_grid))
    start = np.empty((n_units, 3))
    for first in range(0, n_units, chunk):
        rows = slice(first, first + chunk)
        if shared:
            sse, bottom = _shared_grid_sse(data, rows, log_grid[0], slopes, params)
        else:
            axes = (
                data.log_dose[rows, None, None, :],
                data.response[rows, None, None, :],
                data.weight[rows, None, None, :],
            )
            sse, bottom = sse_for(
                axes,
                log_grid[rows, :, None, None],
                slopes[None, None, :, None],
                params,
                data.bottom_bounds(rows, 2),
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


def _shared_schedule(data: FitData) -> bool:
    """Every row has the same doses (hence the same grid): bootstrap resamples of one schedule."""
    return data.log_dose.shape[0] > 1 and bool(
        (data.log_dose == data.log_dose[0]).all() and (data.weight == data.weight[0]).all()
    )


def _shared_grid_sse(
    data: FitData, rows: slice, log_grid: np.ndarray, slopes: np.ndarray, params: FitParams
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sse_for` on the grid for rows that share their doses.

    The curve at each (grid point, slope, dose) is then the same for every row, so it is
    computed once and the sums over doses are one matrix product.
    """
    fraction = effect_fraction(data.log_dose[0], log_grid[:, None, None],
                               slopes[None, :, None])
    weight = data.weight[0]
    deficit = data.weight[rows] * (params.top_pct - data.response[rows])
    n_rows, shape = deficit.shape[0], fraction.shape[:2]
    deficit_fraction = (deficit @ fraction.reshape(-1, weight.size).T).reshape(n_rows, *shape)
    fraction_squared = (fraction**2) @ weight
    deficit_squared = (deficit * (params.top_pct - data.response[rows])).sum(axis=1)
    return sse_from_sums(deficit_fraction, fraction_squared[None], deficit_squared[:, None, None],
                         params, data.bottom_bounds(rows, 2))


def _derivatives(
    data: FitData, theta: np.ndarray, params: FitParams
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
    z_by_log_ed50 = np.broadcast_to(-LN10 * slope, data.log_dose.shape)
    z_by_slope = LN10 * (data.log_dose - log_ed50)
    from scipy.special import expit  # imported when first used, not at start-up

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
    cross = LN10 * (weighted * first).sum(axis=1)
    curvature[:, 0, 1] += cross
    curvature[:, 1, 0] += cross
    bottom_cross = np.einsum("nm,nmi->ni", residual * first, z_gradient)
    curvature[:, :2, 2] = bottom_cross
    curvature[:, 2, :2] = bottom_cross
    hessian = np.einsum("nmp,nmq->npq", jacobian, jacobian) + curvature
    return residual, jacobian, hessian


def parameter_bounds(data: FitData, params: FitParams) -> tuple[np.ndarray, np.ndarray]:
    n_units = data.log_dose.shape[0]
    low = np.column_stack(
        [
            data.log_ed50_low,
            np.full(n_units, params.slope_bounds[0]),
            data.bottom_low,
        ]
    )
    high = np.column_stack(
        [
            data.log_ed50_high,
            np.full(n_units, params.slope_bounds[1]),
            data.bottom_high,
        ]
    )
    return low, high


def levenberg_marquardt(
    data: FitData, start: np.ndarray, params: FitParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batched, bound-projected, damped Newton (Levenberg-Marquardt) from the grid start.

    The damping adds ``lambda * diag(J'J)``; it shrinks after a step that
    lowers the SSE and grows after one that does not. A parameter on a bound
    whose gradient points outwards is frozen for that step (active set) and
    steps are clipped to the box. Returns the parameters, their SSE and a
    converged flag per unit.
    """
    low, high = parameter_bounds(data, params)
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
    pushed_out = ((theta <= low) & (gradient > 0)) | ((theta >= high) & (gradient < 0))
    frozen = pushed_out | (high <= low)  # a fixed parameter never moves
    free = ~frozen
    system = hessian * free[:, :, None] * free[:, None, :]
    system = system + (damping * free + frozen)[:, :, None] * np.eye(3)
    return -np.linalg.solve(system, (gradient * free)[..., None])[..., 0]


