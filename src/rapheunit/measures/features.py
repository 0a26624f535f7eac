"""Firing features of one unit in one epoch: rate, ISI variability, bursts.

All windows are half-open, ``[start, stop)``, in seconds. The ISI variability
measures are the textbook formulas, written here (one line each) rather than taken
from :mod:`elephant.statistics`: importing elephant loads all its submodules
(scikit-learn among them), about 0.3 s of CPU per process, more than measuring a
recording; tests/test_features.py checks them against elephant. A measure
that needs more spikes than the epoch holds is NaN, and
``FiringFeatures.reasons`` says why; no exception is raised for short trains.

Definitions
-----------
burst
    A run of consecutive spikes separated by ISIs shorter than ``burst_isi_s``
    (default :data:`BURST_ISI_S` = 20 ms). A doublet is a burst of 2 spikes.
burst_fraction
    Fraction of the epoch's spikes that belong to a burst.
cv_isi_nonburst
    CV of the ISIs left after removing the intraburst ISIs (those shorter
    than ``burst_isi_s``), so that doublets riding on a slow regular rhythm do
    not hide its regularity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rapheunit.core.errors import BadParameterError, check_positive, validate_type
from rapheunit.measures.qc_params import SILENCE_ISI_MULTIPLE, SILENCE_MIN_S

# Intraburst ISI of DRN 5-HT "burst-firing" neurons (doublets/triplets):
# < 20 ms (Hajos et al. 1995, Neuroscience 69:189; Hajos & Sharp 1996).
BURST_ISI_S = 0.020
# Refractoriness constant of the revised local variation LvR
# (Shinomoto et al. 2009, PLoS Comput Biol 5:e1000433).
LVR_REFRACTORY_S = 0.005
# CV2, LV and LvR compare neighbouring intervals, so they need >= 2 ISIs;
# the CV of a single ISI is 0 by construction, so it needs as many.
MIN_ISIS_FOR_VARIABILITY = 2

# Default ISI histogram range: log bins from 1 ms (refractory) to 10 s (slow cells).
ISI_HISTOGRAM_BINS = 60
ISI_HISTOGRAM_MIN_S = 0.001
ISI_HISTOGRAM_MAX_S = 10.0
# Default autocorrelogram: 10 ms bins over +/- 2 s (several 0.5-2.5 Hz cycles).
AUTOCORRELOGRAM_BIN_S = 0.010
AUTOCORRELOGRAM_WINDOW_S = 2.0


@dataclass
class FiringFeatures:
    """Firing features of one unit in the epoch ``[start_s, stop_s)``.

    ``reasons`` maps the name of every NaN feature to a short explanation.
    ``n_spikes``, ``n_isis`` and ``n_nonburst_isis`` are the numbers of
    events each figure rests on.
    """

    start_s: float
    stop_s: float
    rate_hz: float
    n_spikes: int
    n_isis: int
    n_nonburst_isis: int
    cv_isi: float
    cv_isi_nonburst: float
    cv2: float
    lv: float
    lvr: float
    burst_fraction: float
    mean_spikes_per_burst: float
    n_bursts: int
    burst_isi_s: float = BURST_ISI_S
    lvr_refractory_s: float = LVR_REFRACTORY_S
    reasons: dict[str, str] = field(default_factory=dict)


def present_span(
    spike_times: np.ndarray,
    start: float,
    stop: float,
    *,
    min_silence_s: float = SILENCE_MIN_S,
    isi_multiple: float = SILENCE_ISI_MULTIPLE,
) -> tuple[float, float]:
    """The part of ``[start, stop)`` in which the unit is present.

    A unit silent at the start or the end of the epoch for longer than
    ``min_silence_s`` and ``isi_multiple`` median ISIs (the QC rule of unit
    loss) was not there: the span begins at its first spike, or ends one
    median ISI after its last. Rates measured over the whole epoch would be
    diluted by the time the unit was absent.

    Examples
    --------
    >>> fast_then_gone = np.arange(0.0, 75.0, 0.014)
    >>> [round(edge, 3) for edge in present_span(fast_then_gone, 0.0, 5196.0)]
    [0.0, 75.012]
    >>> present_span(np.arange(0.5, 300.0, 1.0), 0.0, 300.0)
    (0.0, 300.0)
    """
    times = spikes_in_window(spike_times, start, stop)
    if times.size < 2:
        return start, stop
    median_isi = float(np.median(np.diff(times)))
    silence_s = max(min_silence_s, isi_multiple * median_isi)
    first = start if times[0] - start < silence_s else float(times[0])
    last = stop if stop - times[-1] < silence_s else float(times[-1]) + median_isi
    return first, min(last, stop)


def spikes_in_window(spike_times: np.ndarray, start: float, stop: float) -> np.ndarray:
    """Return the sorted spike times ``t`` with ``start <= t < stop``.

    Raises :class:`~rapheunit.core.errors.BadParameterError` when the window is
    empty or not finite, or the spike times are unsorted or not finite.

    Examples
    --------
    >>> spikes_in_window(np.array([0.0, 1.0, 2.0, 3.0]), 1.0, 3.0)
    array([1., 2.])
    """
    start, stop = _check_window(start, stop)
    times = _as_spike_times(spike_times)
    first, last = np.searchsorted(times, [start, stop], side="left")
    return times[first:last]


def firing_features(
    spike_times: np.ndarray,
    start: float,
    stop: float,
    *,
    burst_isi_s: float = BURST_ISI_S,
    lvr_refractory_s: float = LVR_REFRACTORY_S,
) -> FiringFeatures:
    """Compute rate, ISI variability and burst features in ``[start, stop)``.

    Parameters
    ----------
    spike_times : numpy.ndarray
        Sorted spike times of one unit, in seconds.
    start, stop : float
        Epoch bounds in seconds, half-open.
    burst_isi_s : float
        ISIs shorter than this are intraburst ISIs.
    lvr_refractory_s : float
        Refractoriness constant R of LvR.

    Returns
    -------
    FiringFeatures
        Features with NaN (and an entry in ``reasons``) where the epoch has
        too few spikes.

    Examples
    --------
    >>> times = np.array([0.0, 1.0, 1.01, 2.0, 3.0, 3.01, 4.0])
    >>> features = firing_features(times, 0.0, 5.0)
    >>> round(features.rate_hz, 2), features.n_bursts, round(features.burst_fraction, 3)
    (1.4, 2, 0.571)
    >>> round(features.cv_isi_nonburst, 3)
    0.005
    >>> firing_features(np.array([1.0]), 0.0, 5.0).reasons["cv_isi"]
    'needs >= 2 ISIs, got 0'
    """
    burst_isi_s = check_positive(burst_isi_s, "burst_isi_s")
    lvr_refractory_s = check_positive(lvr_refractory_s, "lvr_refractory_s", allow_zero=True)
    times = spikes_in_window(spike_times, start, stop)
    isis = np.diff(times)
    nonburst_isis = isis[isis >= burst_isi_s]
    reasons: dict[str, str] = {}
    variability = _variability(isis, lvr_refractory_s, reasons)
    bursts = _burst_summary(isis, times.size, burst_isi_s, reasons)
    return FiringFeatures(
        start_s=float(start),
        stop_s=float(stop),
        rate_hz=times.size / (float(stop) - float(start)),
        n_spikes=int(times.size),
        n_isis=int(isis.size),
        n_nonburst_isis=int(nonburst_isis.size),
        cv_isi=variability["cv_isi"],
        cv_isi_nonburst=_coefficient_of_variation(
            nonburst_isis, "cv_isi_nonburst", reasons, what="non-burst ISIs"
        ),
        cv2=variability["cv2"],
        lv=variability["lv"],
        lvr=variability["lvr"],
        burst_fraction=bursts["burst_fraction"],
        mean_spikes_per_burst=bursts["mean_spikes_per_burst"],
        n_bursts=int(bursts["n_bursts"]),
        burst_isi_s=burst_isi_s,
        lvr_refractory_s=lvr_refractory_s,
        reasons=reasons,
    )


def isi_histogram(
    spike_times: np.ndarray,
    *,
    n_bins: int = ISI_HISTOGRAM_BINS,
    min_s: float = ISI_HISTOGRAM_MIN_S,
    max_s: float = ISI_HISTOGRAM_MAX_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of ISIs on logarithmically spaced bins.

    ISIs outside ``[min_s, max_s]`` are not counted (compare ``counts.sum()``
    with the number of ISIs to see how many fell outside).

    Returns
    -------
    counts : numpy.ndarray
        ``n_bins`` integer counts.
    edges : numpy.ndarray
        ``n_bins + 1`` bin edges in seconds, geometrically spaced.

    Examples
    --------
    >>> counts, edges = isi_histogram(np.array([0.0, 0.5, 1.5, 1.505]), n_bins=3,
    ...                               min_s=0.001, max_s=1.0)
    >>> counts.tolist(), edges.round(3).tolist()
    ([1, 0, 2], [0.001, 0.01, 0.1, 1.0])
    """
    validate_type(n_bins, int, "n_bins")
    if n_bins < 1:
        raise BadParameterError(f"n_bins must be >= 1, got {n_bins}")
    min_s = check_positive(min_s, "min_s")
    max_s = check_positive(max_s, "max_s")
    if max_s <= min_s:
        raise BadParameterError(f"max_s must be > min_s, got min_s={min_s}, max_s={max_s}")
    edges = np.geomspace(min_s, max_s, n_bins + 1)
    counts, _ = np.histogram(np.diff(_as_spike_times(spike_times)), bins=edges)
    return counts, edges


def autocorrelogram(
    spike_times: np.ndarray,
    *,
    bin_s: float = AUTOCORRELOGRAM_BIN_S,
    window_s: float = AUTOCORRELOGRAM_WINDOW_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Spike-train autocorrelogram: counts of spike pairs by time lag.

    Every ordered pair of distinct spikes whose lag lies within
    ``+/- window_s`` is counted once, so the result is symmetric about zero.
    Positive-lag bins are half-open, ``[k * bin_s, (k + 1) * bin_s)``; the
    negative side mirrors them. The count is built from sorted-array searches
    (one :func:`numpy.searchsorted` per bin edge), so memory stays linear in
    the number of spikes.

    Returns
    -------
    counts : numpy.ndarray
        ``2 * n`` pair counts with ``n = ceil(window_s / bin_s)``.
    edges : numpy.ndarray
        ``2 * n + 1`` lag edges in seconds, from ``-n * bin_s`` to ``n * bin_s``.

    Examples
    --------
    >>> counts, edges = autocorrelogram(np.array([0.0, 1.0, 2.0]), bin_s=0.5, window_s=2.5)
    >>> counts.tolist()
    [1, 0, 2, 0, 0, 0, 0, 2, 0, 1]
    >>> edges[[0, 5, -1]].tolist()
    [-2.5, 0.0, 2.5]
    """
    bin_s = check_positive(bin_s, "bin_s")
    window_s = check_positive(window_s, "window_s")
    times = _as_spike_times(spike_times)
    # The small tolerance keeps e.g. 2.0 / 0.01 from rounding up to 201 bins.
    n_half = int(np.ceil(window_s / bin_s - 1e-9))
    positive_edges = np.arange(n_half + 1) * bin_s
    positive_counts = np.diff([_pairs_with_lag_below(times, edge) for edge in positive_edges])
    counts = np.concatenate([positive_counts[::-1], positive_counts])
    edges = np.concatenate([-positive_edges[:0:-1], positive_edges])
    return counts, edges


def _pairs_with_lag_below(times: np.ndarray, lag_s: float) -> int:
    """Number of spike pairs (a, b), b > a, with ``times[b] - times[a] < lag_s``."""
    first_spike_not_below = np.searchsorted(times, times + lag_s, side="left")
    later_spike_index = np.arange(1, times.size + 1)
    return int(np.maximum(first_spike_not_below - later_spike_index, 0).sum())


def _check_window(start: float, stop: float) -> tuple[float, float]:
    validate_type(start, (int, float, np.floating, np.integer), "start")
    validate_type(stop, (int, float, np.floating, np.integer), "stop")
    start, stop = float(start), float(stop)
    if not (np.isfinite(start) and np.isfinite(stop)) or stop <= start:
        raise BadParameterError(f"epoch must satisfy start < stop (finite), got [{start}, {stop})")
    return start, stop


def _as_spike_times(spike_times: np.ndarray) -> np.ndarray:
    times = np.asarray(spike_times, dtype=np.float64)
    if times.ndim != 1:
        raise BadParameterError(f"spike_times must be 1-D, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise BadParameterError("spike_times contain NaN or infinite values")
    if np.any(np.diff(times) < 0):
        raise BadParameterError("spike_times must be sorted in increasing order")
    return times


def _too_few(n_found: int, what: str = "ISIs") -> str:
    return f"needs >= {MIN_ISIS_FOR_VARIABILITY} {what}, got {n_found}"


def _coefficient_of_variation(
    isis: np.ndarray, name: str, reasons: dict[str, str], *, what: str = "ISIs"
) -> float:
    """SD / mean of the intervals (population SD, as ``scipy.stats.variation``)."""
    if isis.size < MIN_ISIS_FOR_VARIABILITY:
        reasons[name] = _too_few(isis.size, what)
        return float("nan")
    return float(isis.std() / isis.mean())


def _variability(isis: np.ndarray, lvr_refractory_s: float, reasons: dict[str, str]) -> dict:
    names = ("cv_isi", "cv2", "lv", "lvr")
    if isis.size < MIN_ISIS_FOR_VARIABILITY:
        reasons.update(dict.fromkeys(names, _too_few(isis.size)))
        return dict.fromkeys(names, float("nan"))
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 on zero-length ISIs: NaN
        values = {"cv_isi": _coefficient_of_variation(isis, "cv_isi", reasons),
                  **_local_variation(isis, lvr_refractory_s)}
    for name, value in values.items():
        if np.isnan(value) and name not in reasons:
            reasons[name] = "undefined: zero-length ISIs (duplicate spike times)"
    return values


def _local_variation(isis: np.ndarray, lvr_refractory_s: float) -> dict[str, float]:
    """CV2 (Holt et al. 1996), LV (Shinomoto et al. 2003) and LvR (Shinomoto et al. 2009).

    Each compares neighbouring intervals ``I_i, I_i+1`` through
    ``(I_i+1 - I_i) / (I_i + I_i+1)``: CV2 is twice the mean of its absolute value,
    LV three times the mean of its square, and LvR corrects LV for refractoriness ``R``:
    ``3 / (n - 1) * sum((1 - 4 I_i I_i+1 / (I_i + I_i+1)^2) (1 + 4 R / (I_i + I_i+1)))``.
    """
    pair_sums = isis[:-1] + isis[1:]
    ratio = np.diff(isis) / pair_sums
    # LvR in ms, the unit its refractoriness constant is usually quoted in
    isis_ms, refractory_ms = isis * 1000.0, lvr_refractory_s * 1000.0
    sums_ms = isis_ms[:-1] + isis_ms[1:]
    product = 4.0 * isis_ms[:-1] * isis_ms[1:] / sums_ms**2
    lvr = 3.0 / (isis.size - 1) * np.sum((1.0 - product) * (1.0 + 4.0 * refractory_ms / sums_ms))
    return {"cv2": float(2.0 * np.mean(np.abs(ratio))), "lv": float(3.0 * np.mean(ratio**2)),
            "lvr": float(lvr)}


def _burst_summary(
    isis: np.ndarray, n_spikes: int, burst_isi_s: float, reasons: dict[str, str]
) -> dict[str, float]:
    if isis.size == 0:
        reason = f"needs >= 2 spikes, got {n_spikes}"
        reasons.update(burst_fraction=reason, mean_spikes_per_burst=reason)
        return {"burst_fraction": np.nan, "mean_spikes_per_burst": np.nan, "n_bursts": 0}
    intraburst = isis < burst_isi_s
    in_burst = np.zeros(n_spikes, dtype=bool)
    in_burst[:-1] |= intraburst
    in_burst[1:] |= intraburst
    burst_starts = intraburst & ~np.concatenate([[False], intraburst[:-1]])
    n_bursts = int(burst_starts.sum())
    n_burst_spikes = int(in_burst.sum())
    if n_bursts == 0:
        reasons["mean_spikes_per_burst"] = f"no bursts (no ISI < {burst_isi_s * 1000:g} ms)"
        mean_spikes_per_burst = float("nan")
    else:
        mean_spikes_per_burst = n_burst_spikes / n_bursts
    return {
        "burst_fraction": n_burst_spikes / n_spikes,
        "mean_spikes_per_burst": mean_spikes_per_burst,
        "n_bursts": n_bursts,
    }
