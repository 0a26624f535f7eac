"""A parallel shift of the Hill curve between two groups, and its cluster bootstrap.

A Hill curve with a shared slope and bottom is fitted to every unit's points
of both groups, with a shift parameter ``log10(ED50_b / ED50_a)``
(:func:`fit_ed50_shift`; :func:`fit_ed50_shifts` fits many pairs of groups at once).

Its standard error comes from a cluster bootstrap over animals
(:func:`bootstrap_log_ratios`): each replicate draws ``n - 1`` of a group's
``n`` animals with replacement and refits, which makes the bootstrap variance
match the usual unbiased one (McCarthy & Snowden 1985, stratified bootstrap of
size ``n_h - 1``); a plain size-``n`` bootstrap is too narrow by
``(n - 1) / n`` with the few animals of a typical study. On 80 simulated
studies (4 rats x 3 cells per group, true ratio 3) the resulting t CI
covered the truth 95 % of the time; a plain percentile bootstrap, 83 %.

Drawing an animal ``k``
times is the same least-squares problem as giving its points weight ``k``,
so every replicate is a weighted fit of the same points: replicates that drew
the same animals share one fit, and all distinct fits (of every pair of groups
compared, :func:`bootstrap_log_ratios_many`) run together in one batched,
bounded Levenberg-Marquardt iteration (4 parameters each) instead of one
optimizer call per replicate. The point estimates use the same iteration;
``tests/test_groups.py`` checks both against ``scipy.optimize.least_squares``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rapheunit.core.errors import BadParameterError
from rapheunit.doseresponse.fits import (
    BASELINE_PCT,
    DEFAULT_FIT_PARAMS,
    FitParams,
    fit_hill_batch,
    hill_response,
)

_LN10 = float(np.log(10.0))
# Batched Levenberg-Marquardt: damping starts at 1e-3 of the curvature and is divided
# by 3 after a step that lowers the cost, doubled after one that does not (Nielsen 1999).
_START_DAMPING = 1e-3
_MAX_ITERATIONS = 200
# A fit has converged when a step changes no parameter by more than this (relative), or
# the cost by no more than _COST_TOLERANCE (relative; rounding, no further progress): far
# below scipy least_squares' default 1e-8, which stopped point estimates up to 7e-5 short.
_STEP_TOLERANCE = 1e-10
_COST_TOLERANCE = 1e-13
_MAX_DAMPING = 1e12
# Fits x points of one batch of fits (bounds the memory of the Jacobians: ~32 MB).
_CHUNK_ELEMENTS = 1_000_000


@dataclass(frozen=True)
class ShiftFit:
    """Hill curves of two groups with a shared slope and bottom, shifted in log dose.

    Examples
    --------
    >>> fit = ShiftFit(log_ed50_a=1.0, log_ratio=np.log10(3.0), hill_slope=1.0, bottom_pct=0.0)
    >>> round(fit.ratio, 6), round(fit.ed50_b, 6)
    (3.0, 30.0)
    >>> fit.pct_baseline(np.array([10.0, 30.0]), np.array([False, True])).tolist()
    [50.0, 50.0]
    """

    log_ed50_a: float
    log_ratio: float
    hill_slope: float
    bottom_pct: float
    top_pct: float = BASELINE_PCT

    @property
    def ed50_a(self) -> float:
        """ED50 of group a."""
        return float(10.0**self.log_ed50_a)

    @property
    def ed50_b(self) -> float:
        """ED50 of group b."""
        return float(10.0 ** (self.log_ed50_a + self.log_ratio))

    @property
    def ratio(self) -> float:
        """ED50 of group b over ED50 of group a."""
        return float(10.0**self.log_ratio)

    def pct_baseline(self, cumulative_dose: np.ndarray, in_b: np.ndarray) -> np.ndarray:
        """Fitted % of baseline at each dose, for points of group b where ``in_b``."""
        log_ed50 = self.log_ed50_a + self.log_ratio * np.asarray(in_b, dtype=np.float64)
        log_dose = np.log10(np.asarray(cumulative_dose, dtype=np.float64))
        return hill_response(log_dose, log_ed50, self.hill_slope, self.bottom_pct, self.top_pct)


def fit_ed50_shift(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    in_b: np.ndarray,
    fit: FitParams = DEFAULT_FIT_PARAMS,
    separate: np.ndarray | None = None,
) -> ShiftFit:
    """Least-squares fit of the shared-slope, shared-bottom Hill model with an ED50 shift.

    The start comes from separate fits of each group (``separate``: the rows
    of groups a and b from :func:`separate_fits`, computed here when None);
    bounds are those of ``fit`` (slope, bottom, ED50 search decades around
    the doses).

    Examples
    --------
    >>> doses = np.tile(10.0 * 2.0 ** np.arange(6), 2)
    >>> in_b = np.repeat([False, True], 6)
    >>> truth = ShiftFit(np.log10(40.0), np.log10(3.0), 1.5, 5.0)
    >>> fitted = fit_ed50_shift(doses, truth.pct_baseline(doses, in_b), in_b)
    >>> round(fitted.ratio, 4), round(fitted.ed50_a, 3)
    (3.0, 40.0)
    """
    return fit_ed50_shifts([(cumulative_dose, pct_baseline, in_b, separate)], fit)[0]


def fit_ed50_shifts(
    problems: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]],
    fit: FitParams = DEFAULT_FIT_PARAMS,
) -> list[ShiftFit]:
    """:func:`fit_ed50_shift` of many ``(dose, response, in_b, separate)`` problems together.

    All fits run in one batched, bounded Levenberg-Marquardt iteration (each fit's points
    padded with weightless ones), the iteration the bootstrap replicates use.
    """
    if not problems:
        return []
    arrays = [_shift_arrays(dose, response, in_b) for dose, response, in_b, _ in problems]
    missing = [
        index for index, (problem, (log_dose, response, in_b)) in
        enumerate(zip(problems, arrays, strict=True)) if problem[3] is None
    ]
    computed = separate_fits(
        [(log_dose[members], response[members])
         for log_dose, response, in_b in (arrays[index] for index in missing)
         for members in (~in_b, in_b)],
        fit,
    ) if missing else np.empty((0, 3))
    separate = [problem[3] for problem in problems]
    for row, index in enumerate(missing):
        separate[index] = computed[2 * row: 2 * row + 2]
    bounds = [_shift_bounds(log_dose, fit) for log_dose, _, _ in arrays]
    starts = [
        _inside(_shift_start(own, log_dose, fit), low, high)
        for own, (log_dose, _, _), (low, high) in zip(separate, arrays, bounds, strict=True)
    ]
    solutions = _weighted_shift_fits(
        _ShiftData.padded(arrays, [np.ones(log_dose.size) for log_dose, _, _ in arrays]),
        np.array(starts).reshape(-1, 4), bounds, fit.top_pct,
    )
    return [ShiftFit(*(float(value) for value in row), top_pct=fit.top_pct)
            for row in solutions]


def _shift_arrays(
    cumulative_dose: np.ndarray, pct_baseline: np.ndarray, in_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log10 doses, responses and group-b flags, checked."""
    log_dose = np.log10(np.asarray(cumulative_dose, dtype=np.float64))
    response = np.asarray(pct_baseline, dtype=np.float64)
    in_b = np.asarray(in_b, dtype=bool)
    if not (log_dose.shape == response.shape == in_b.shape) or not np.isfinite(log_dose).all():
        raise BadParameterError("doses, responses and groups must be equal-length, doses > 0")
    return log_dose, response, in_b


def _shift_bounds(log_dose: np.ndarray, fit: FitParams) -> tuple[np.ndarray, np.ndarray]:
    lowest, highest = float(log_dose.min()), float(log_dose.max())
    widest_shift = highest - lowest + 2.0 * fit.ed50_search_decades
    low = [lowest - fit.ed50_search_decades, -widest_shift, fit.slope_bounds[0],
           fit.bottom_bounds_pct[0]]
    high = [highest + fit.ed50_search_decades, widest_shift, fit.slope_bounds[1],
            fit.bottom_bounds_pct[1]]
    return np.array(low), np.array(high)


def separate_fits(
    groups: Sequence[tuple[np.ndarray, np.ndarray]], fit: FitParams = DEFAULT_FIT_PARAMS
) -> np.ndarray:
    """Hill fit of each group's points alone, all groups in one batched call.

    Parameters
    ----------
    groups : sequence of (log10 dose, % of baseline) pairs of arrays
        The points of each group.
    fit : FitParams
        Fit choices (:func:`rapheunit.doseresponse.fit_hill_batch`).

    Returns
    -------
    numpy.ndarray
        One row per group: log10 ED50, Hill slope, bottom (NaN where not fitted).

    Examples
    --------
    >>> log_dose = np.log10(10.0 * 2.0 ** np.arange(6))
    >>> pct = ShiftFit(np.log10(40.0), 0.0, 1.5, 5.0).pct_baseline(10.0**log_dose, False)
    >>> separate_fits([(log_dose, pct), (log_dose[:1], pct[:1])]).round(3).tolist()
    [[1.602, 1.5, 5.0], [nan, nan, nan]]
    """
    width = max(1, *(log_dose.size for log_dose, _ in groups))
    dose = np.full((len(groups), width), np.nan)
    pct = np.full((len(groups), width), np.nan)
    for row, (log_dose, response) in enumerate(groups):
        dose[row, : log_dose.size] = 10.0**log_dose
        pct[row, : log_dose.size] = response
    fitted = fit_hill_batch(dose, pct, fit, interval=False)  # starting values only
    columns = [np.log10(fitted["ed50"].to_numpy(dtype=np.float64))]
    columns += [fitted[name].to_numpy(dtype=np.float64) for name in ("hill_slope", "bottom_pct")]
    return np.column_stack(columns)


def _shift_start(separate: np.ndarray, log_dose: np.ndarray, fit: FitParams) -> np.ndarray:
    """Start from the separate fits of groups a and b (ED50s, mean slope and bottom)."""
    log_ed50, slopes, bottoms = separate.T
    log_ed50 = np.where(np.isfinite(log_ed50), log_ed50, np.median(log_dose))
    slope = np.nanmean(slopes) if np.isfinite(slopes).any() else 1.0
    bottom = np.nanmean(bottoms) if np.isfinite(bottoms).any() else fit.bottom_bounds_pct[0]
    return np.array([log_ed50[0], log_ed50[1] - log_ed50[0], slope, bottom])


def extrapolation_note(estimate: ShiftFit, dose: np.ndarray, in_b: np.ndarray) -> str:
    """Which group's ED50 lies outside the doses it was given ("" when none does).

    Examples
    --------
    >>> fit = ShiftFit(np.log10(40.0), np.log10(10.0), 1.0, 0.0)
    >>> extrapolation_note(fit, np.array([10.0, 80.0, 10.0, 80.0]), np.array([0, 0, 1, 1], bool))
    'ED50 of group b outside its doses'
    """
    beyond = [
        name
        for name, ed50, members in (("a", estimate.ed50_a, ~in_b), ("b", estimate.ed50_b, in_b))
        if not dose[members].min() <= ed50 <= dose[members].max()
    ]
    return f"ED50 of group {' and '.join(beyond)} outside its doses" if beyond else ""


def _inside(start: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``start`` moved strictly inside the box: a start on a bound could be held there."""
    margin = 1e-6 * (high - low)
    return np.clip(start, low + margin, high - margin)


def bootstrap_log_ratios(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    in_b: np.ndarray,
    animals: np.ndarray,
    estimate: ShiftFit,
    n_bootstrap: int,
    seed: int,
    fit: FitParams = DEFAULT_FIT_PARAMS,
) -> np.ndarray:
    """Log ratios refitted on ``n - 1`` animals drawn with replacement within each group.

    Each replicate starts from ``estimate`` and stays within the bounds of
    ``fit``. The draws are those of one ``numpy.random.default_rng(seed)``.

    Examples
    --------
    >>> doses = np.tile(10.0 * 2.0 ** np.arange(6), 6)
    >>> in_b = np.repeat([False, True], 18)
    >>> animals = np.repeat(np.arange(6), 6)
    >>> truth = ShiftFit(np.log10(40.0), np.log10(3.0), 1.5, 5.0)
    >>> start = ShiftFit(np.log10(30.0), 0.0, 1.0, 10.0)
    >>> ratios = bootstrap_log_ratios(doses, truth.pct_baseline(doses, in_b), in_b, animals,
    ...     start, 99, seed=0)
    >>> ratios.shape, bool(np.allclose(10.0**ratios, 3.0))
    ((99,), True)
    """
    problem = (cumulative_dose, pct_baseline, in_b, animals, estimate)
    return bootstrap_log_ratios_many([problem], n_bootstrap, seed, fit)[0]


def bootstrap_log_ratios_many(
    problems: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, ShiftFit]],
    n_bootstrap: int,
    seed: int,
    fit: FitParams = DEFAULT_FIT_PARAMS,
) -> list[np.ndarray]:
    """:func:`bootstrap_log_ratios` of many ``(dose, response, in_b, animals, estimate)``
    problems: the distinct replicates of all of them are fitted together."""
    arrays, weights, bounds, starts, replicates = [], [], [], [], []
    # the draws depend only on the numbers of animals: pairs of groups of equal sizes share them
    patterns_of: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
    for dose, response, in_b, animals, estimate in problems:
        log_dose, response, in_b = _shift_arrays(dose, response, in_b)
        low, high = _shift_bounds(log_dose, fit)
        start = _inside(np.array([estimate.log_ed50_a, estimate.log_ratio,
                                  estimate.hill_slope, estimate.bottom_pct]), low, high)
        sizes, cluster_of_row = _clusters(np.asarray(animals), in_b)
        if sizes not in patterns_of:
            draws = _cluster_draws(sizes, n_bootstrap, seed)
            patterns, replicate_pattern = np.unique(draws, axis=0, return_inverse=True)
            patterns_of[sizes] = patterns, np.ravel(replicate_pattern)
        patterns, replicate_pattern = patterns_of[sizes]
        for pattern in patterns[:, cluster_of_row].astype(np.float64):
            arrays.append((log_dose, response, in_b))
            weights.append(pattern)
            bounds.append((low, high))
            starts.append(start)
        replicates.append(replicate_pattern)
    if not arrays:
        return [np.empty(0) for _ in problems]
    solutions = _weighted_shift_fits(
        _ShiftData.padded(arrays, weights), np.array(starts), bounds, fit.top_pct
    )
    offsets = np.cumsum([0, *(replicate.max() + 1 for replicate in replicates[:-1])])
    return [solutions[offset + replicate, 1]
            for offset, replicate in zip(offsets, replicates, strict=True)]


def _clusters(animals: np.ndarray, in_b: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """Animals (clusters) per group and the cluster of each row.

    Clusters are the animals of group a, then those of group b, each sorted.
    """
    cluster_of_row = np.empty(animals.size, dtype=np.intp)
    sizes: list[int] = []
    for members in (~in_b, in_b):
        names, index = np.unique(animals[members], return_inverse=True)
        cluster_of_row[members] = sum(sizes) + np.ravel(index)
        sizes.append(names.size)
    return tuple(sizes), cluster_of_row


def _cluster_draws(sizes: tuple[int, ...], n_bootstrap: int, seed: int) -> np.ndarray:
    """How often each cluster is drawn per replicate (replicates x clusters).

    Every replicate draws ``n - 1`` of a group's ``n`` clusters with replacement, group a
    first.
    """
    offsets = np.repeat(np.cumsum([0, *sizes[:-1]]), np.subtract(sizes, 1))
    drawn = offsets + uniform_draws(sizes, n_bootstrap, seed).reshape(n_bootstrap, -1)
    replicate = np.arange(n_bootstrap)[:, None] * sum(sizes)
    counts = np.bincount((replicate + drawn).ravel(), minlength=n_bootstrap * sum(sizes))
    return counts.reshape(n_bootstrap, sum(sizes))


def uniform_draws(sizes: Sequence[int], n_repeats: int, seed: int) -> np.ndarray:
    """``rng.integers(size, size=size - 1)`` for each size in turn, ``n_repeats`` times, flat.

    The same values as those calls on ``rng = numpy.random.default_rng(seed)``,
    without a Python call per draw: numpy draws an integer below ``n < 2**32``
    from one 32-bit word ``w`` as ``(w * n) >> 32`` (Lemire's method), and
    redraws only when the low 32 bits of ``w * n`` fall below ``n``; in that
    rare case (probability ``n / 2**32`` per draw) the calls are made one by one.

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> one_by_one = [rng.integers(n, size=n - 1) for _ in range(3) for n in (3, 2)]
    >>> bool(np.array_equal(uniform_draws([3, 2], 3, seed=7), np.concatenate(one_by_one)))
    True
    """
    bound = np.tile(np.repeat(sizes, np.subtract(sizes, 1)), n_repeats).astype(np.uint64)
    words = np.random.default_rng(seed).integers(0, 2**32, size=bound.size, dtype=np.uint64)
    product = words * bound
    if np.any(product & np.uint64(0xFFFFFFFF) < bound):
        rng = np.random.default_rng(seed)
        calls = [rng.integers(n, size=n - 1) for _ in range(n_repeats) for n in sizes]
        return np.concatenate(calls).astype(np.intp)
    return (product >> np.uint64(32)).astype(np.intp)


def _shift_model(
    theta: np.ndarray, log_dose: np.ndarray, shift: np.ndarray, top_pct: float
) -> tuple[np.ndarray, np.ndarray]:
    """Curves (fits x points) and their Jacobian (fits x points x 4) at parameters ``theta``."""
    log_ed50_a, log_ratio, slope, bottom = (theta[:, [k]] for k in range(4))
    distance = log_dose - (log_ed50_a + log_ratio * shift)
    from scipy.special import expit  # scipy is imported when first used, not at start-up

    # the effect fraction of hill_response; d effect / d log_ed50 = -ln10 slope effect (1 - effect)
    effect = expit(_LN10 * slope * distance)
    curve = top_pct - (top_pct - bottom) * effect
    slope_term = (top_pct - bottom) * _LN10 * effect * (1.0 - effect)
    jacobian = np.stack(
        [
            slope_term * slope,
            slope_term * slope * shift,
            -slope_term * distance,
            effect,
        ],
        axis=-1,
    )
    return curve, jacobian


@dataclass(frozen=True)
class _ShiftData:
    """Points of many weighted shift fits as rows (fits x points), padded with weight 0."""

    log_dose: np.ndarray
    response: np.ndarray
    shift: np.ndarray
    weights: np.ndarray

    @classmethod
    def padded(
        cls,
        arrays: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
        weights: Sequence[np.ndarray],
    ) -> _ShiftData:
        width = max(log_dose.size for log_dose, _, _ in arrays)
        columns = [np.zeros((len(arrays), width)) for _ in range(4)]
        for row, ((log_dose, response, in_b), weight) in enumerate(
            zip(arrays, weights, strict=True)
        ):
            for column, values in zip(columns, (log_dose, response, in_b, weight), strict=True):
                column[row, : values.size] = values
        return cls(*columns)

    def take(self, rows: np.ndarray | slice) -> _ShiftData:
        return _ShiftData(self.log_dose[rows], self.response[rows], self.shift[rows],
                          self.weights[rows])


def _weighted_shift_fits(
    data: _ShiftData,
    start: np.ndarray,
    bounds: Sequence[tuple[np.ndarray, np.ndarray]],
    top_pct: float,
) -> np.ndarray:
    """Bounded weighted least squares of the shift model, one fit per row of ``data``.

    Fits run in chunks of bounded memory; each fit's result does not depend on the others.
    Returns the parameters, fits x 4.
    """
    low = np.array([low for low, _ in bounds]).reshape(-1, 4)
    high = np.array([high for _, high in bounds]).reshape(-1, 4)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, data.log_dose.shape[1]))
    return np.concatenate([
        _levenberg_marquardt(data.take(rows), start[rows], low[rows], high[rows], top_pct)
        for rows in (slice(first, first + chunk) for first in range(0, start.shape[0], chunk))
    ]) if start.shape[0] else np.empty((0, 4))


def _levenberg_marquardt(
    data: _ShiftData, start: np.ndarray, low: np.ndarray, high: np.ndarray, top_pct: float
) -> np.ndarray:
    """Levenberg-Marquardt on all fits at once.

    A parameter on a bound that the gradient pushes outwards is held there for the step
    (active set), and steps are clipped to the box.
    """
    n_fits = start.shape[0]
    theta = start.copy()
    curve, jacobian = _shift_model(theta, data.log_dose, data.shift, top_pct)
    cost = np.einsum("fn,fn->f", data.weights, (curve - data.response) ** 2)
    damping = np.full(n_fits, _START_DAMPING)
    running = np.ones(n_fits, dtype=bool)
    identity = np.eye(4)
    for _ in range(_MAX_ITERATIONS):
        if not running.any():
            break
        live = np.flatnonzero(running)
        points = data.take(live)
        weighted_jacobian = jacobian[live] * points.weights[:, :, None]
        gradient = np.einsum("fnk,fn->fk", weighted_jacobian, curve[live] - points.response)
        curvature = np.einsum("fnk,fnl->fkl", weighted_jacobian, jacobian[live])
        held = (((theta[live] <= low[live]) & (gradient > 0))
                | ((theta[live] >= high[live]) & (gradient < 0)))
        diagonal = np.einsum("fkk->fk", curvature)
        damped = curvature + identity * (damping[live, None] * np.maximum(diagonal, 1e-12))[
            :, :, None
        ]
        free = ~held
        damped = damped * (free[:, :, None] & free[:, None, :]) + identity * held[:, :, None]
        step = np.linalg.solve(damped, -(gradient * free)[..., None])[..., 0]
        trial = np.clip(theta[live] + step, low[live], high[live])
        trial_curve, trial_jacobian = _shift_model(trial, points.log_dose, points.shift, top_pct)
        trial_cost = np.einsum("fn,fn->f", points.weights, (trial_curve - points.response) ** 2)
        better = trial_cost < cost[live]
        stalled = live[np.abs(cost[live] - trial_cost) <= _COST_TOLERANCE * cost[live]]
        accepted = live[better]
        moved = np.abs(trial[better] - theta[accepted]).max(axis=1)
        theta[accepted] = trial[better]
        curve[accepted] = trial_curve[better]
        jacobian[accepted] = trial_jacobian[better]
        cost[accepted] = trial_cost[better]
        damping[live] = np.where(better, damping[live] / 3.0, damping[live] * 2.0)
        scale = 1.0 + np.abs(theta[accepted]).max(axis=1)
        running[accepted[moved <= _STEP_TOLERANCE * scale]] = False
        running[stalled] = False
        running[damping > _MAX_DAMPING] = False
    return theta
