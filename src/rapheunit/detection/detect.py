# Over 400 lines: the chunked pass (noise, filter, events, snippets) and the per-channel
# steps after it share one sample-level plan; the settings, sources, results and the
# alignment live in their own modules.
"""Find spikes in continuous electrode signals, chunk by chunk, and sort them into units.

The signal comes from any :class:`SignalSource` (a numpy array or memmap, a
raw binary file from :mod:`rapheunit.detection.rawfile`, a neo lazy
``AnalogSignalProxy``) and is processed in chunks of ``chunk_samples`` plus
margins, so memory stays bounded whatever the recording length:

1. Noise: each channel is band-passed (Butterworth second-order sections,
   zero phase) on ``NOISE_WINDOW_COUNT`` windows spread evenly over the
   recording (not a full pass) and its noise SD is estimated as
   ``median(|x|) / 0.6745``; the threshold is ``threshold_mad`` times it.
2. Detection: every chunk is read with a margin on both sides, filtered, and
   searched for events: local extrema beyond the threshold (above it,
   below minus it, or either for ``polarity="both"``, each event then sitting
   on its larger deflection) that are the largest extremum within
   +/- ``dead_time_ms``. Events are therefore more than one dead time apart;
   ties go to the earlier sample.
3. A chunk keeps only the events inside its own interval. The margin is the
   filter's settling length (its impulse response decays below 1e-6 of its
   peak, under float32 resolution) plus the dead time and the snippet extent,
   so every decision about a kept event sees the same filtered samples as a
   single pass over the whole signal would: no event is lost or doubled at a
   chunk edge, and the dead time holds across edges.
4. Each event gets a snippet of the filtered signal (``snippet_ms`` long, its
   extremum at ``snippet_pre_ms``, with room on either side to re-align it);
   snippets running past either end of the recording are padded with zeros
   (the filtered baseline).
5. Each channel's events are split into units by :func:`rapheunit.detection.sorting.sort_events`,
   re-aligned on their unit's template, phase-shifted copies merged and noise
   crossings dropped (:mod:`rapheunit.detection.align`), then sorted again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rapheunit.core.errors import (
    BadParameterError,
    check_positive,
    validate_type,
)
from rapheunit.core.model import Unit
from rapheunit.detection.align import ALIGN_MAX_SHIFT_MS, realign
from rapheunit.detection.params import DEFAULT_DETECT_PARAMS, DetectParams
from rapheunit.detection.results import ChannelEvents, DetectionResult, SignalExcerpt
from rapheunit.detection.sorting import SortResult, sort_events
from rapheunit.detection.sources import ArraySource, NeoSignalSource, SignalSource

# Detection's public names, gathered here where they were before the split.
__all__ = [
    "ArraySource",
    "ChannelEvents",
    "DetectParams",
    "DetectionResult",
    "NeoSignalSource",
    "SignalExcerpt",
    "SignalSource",
    "detect_events",
    "detect_units",
    "spike_agreement",
]

# The median absolute value of Gaussian noise is 0.6745 SD (Quiroga, Nadasdy & Ben-Shaul 2004,
# Neural Comput 16:1661), so median(|x|) / 0.6745 estimates the noise SD despite the spikes.
MAD_TO_SD = 0.6745
NOISE_WINDOW_COUNT = 20  # windows of the noise estimate, spread evenly over the recording
NOISE_WINDOW_S = 0.5
EXCERPT_S = 2.0  # length of the filtered excerpt kept for the report
EXCERPT_LEAD_S = 0.25  # the excerpt starts this long before the dominant unit's first spike
FILTER_SETTLE_TOLERANCE = 1e-6  # impulse response below float32 resolution: transients are gone
# Filtered "noise" below this fraction of the raw signal's magnitude is float32 rounding of a
# constant (disconnected, zero-filled) channel: the channel counts as flat and gets no events.
FLAT_NOISE_RATIO = 1e-6
# How far each polarity's events stand out: a signal whose local maxima above threshold are events.
_STRENGTH = {"positive": np.asarray, "negative": np.negative, "both": np.abs}


@dataclass(frozen=True)
class _Plan:
    """Sample-level settings derived from the parameters and the sampling rate."""

    sos: np.ndarray
    settle_samples: int
    dead_samples: int
    snippet_samples: int
    peak_index: int
    align_samples: int

    @property
    def margin(self) -> int:
        """Samples read on each side of a chunk so that its kept events are exact."""
        reach = self.align_samples + max(
            self.dead_samples + 1, self.peak_index, self.snippet_samples - self.peak_index
        )
        return self.settle_samples + reach


def detect_units(
    source: SignalSource,
    *,
    channel: int | None = None,
    params: DetectParams = DEFAULT_DETECT_PARAMS,
    unit_prefix: str = "det",
) -> DetectionResult:
    """Detect spikes in a continuous signal and sort each channel's events into units.

    Parameters
    ----------
    source : SignalSource
        The signal (see :class:`ArraySource`, :class:`NeoSignalSource`,
        :func:`rapheunit.detection.rawfile.open_raw`).
    channel : int or None
        Channel to analyse; None analyses every channel.
    params : DetectParams
        Band, threshold, polarity, dead time, snippet and chunk settings.
    unit_prefix : str
        Units are named ``"<prefix>#ch<channel>#<cluster>"``; cluster 0 is the
        channel's dominant unit.

    Returns
    -------
    DetectionResult
        Units (spike times in s, snippets as waveforms), thresholds, noise,
        polarity and a 2 s filtered excerpt per channel. A channel with no
        event gives no unit and a warning.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fs = 20000.0
    >>> signal = rng.normal(0.0, 10.0, 200_000)
    >>> spike_starts = np.arange(1000, 199_000, 4000)
    >>> for start in spike_starts:
    ...     signal[start:start + 20] -= 150.0 * np.hanning(20)
    >>> result = detect_units(ArraySource(signal, fs, units="uV"))
    >>> [(unit.id, unit.n_spikes) for unit in result.units]
    [('det#ch0#0', 50)]
    >>> result.polarity_used
    {0: 'negative'}
    """
    channels = _channel_list(source, None if channel is None else [channel])
    plan = _plan(params, source.sampling_rate_hz)
    events = _detect_events(source, channels, params, plan)
    units: list[Unit] = []
    result = DetectionResult(units, {}, {}, {}, {}, params)
    for found in events:
        channel_units, found, notes = _channel_units(source, found, params, plan, unit_prefix)
        result.warnings.extend(notes)
        units.extend(channel_units)
        result.threshold[found.channel] = found.threshold
        result.noise_mad[found.channel] = found.noise_mad
        result.polarity_used[found.channel] = _resolved_polarity(params.polarity, channel_units)
        if channel_units:
            result.excerpts[found.channel] = _excerpt(source, found, channel_units, plan)
        else:
            result.warnings.append(_no_event_warning(found))
    return result


def detect_events(
    source: SignalSource,
    *,
    channels: Sequence[int] | None = None,
    params: DetectParams = DEFAULT_DETECT_PARAMS,
) -> list[ChannelEvents]:
    """Detect threshold events on ``channels``, chunk by chunk, without sorting them.

    Parameters
    ----------
    source : SignalSource
        The signal.
    channels : sequence of int or None
        Channels to search; None searches every channel.
    params : DetectParams
        Band, threshold, polarity, dead time, snippet and chunk settings.

    Returns
    -------
    list of ChannelEvents
        Per channel: event sample indices (from the source's first sample),
        float32 snippets of the filtered signal, the snippet column of the
        extremum, the noise SD and the threshold.

    Examples
    --------
    >>> signal = np.zeros(30_000, dtype=np.float32)
    >>> signal[::7] = 1.0  # a little broadband noise
    >>> signal[10_000:10_010] += 50 * np.hanning(10)
    >>> [found] = detect_events(ArraySource(signal, 20000.0))
    >>> found.sample_indices.tolist(), found.snippets.shape
    ([10004], (1, 120))
    """
    channels = _channel_list(source, channels)
    plan = _plan(params, source.sampling_rate_hz)
    core = slice(plan.align_samples, plan.align_samples + plan.snippet_samples)
    return [
        replace(found, snippets=found.snippets[:, core])
        for found in _detect_events(source, channels, params, plan)
    ]


def _detect_events(
    source: SignalSource, channels: list[int], params: DetectParams, plan: _Plan
) -> list[ChannelEvents]:
    if source.n_samples < 1:
        raise BadParameterError("the signal has no samples")
    noise = _noise_sd(source, channels, plan)
    thresholds = np.where(noise > 0, params.threshold_mad * noise, np.inf)
    indices: list[list[np.ndarray]] = [[] for _ in channels]
    snippets: list[list[np.ndarray]] = [[] for _ in channels]
    for start in range(0, source.n_samples, params.chunk_samples):
        stop = min(start + params.chunk_samples, source.n_samples)
        first = max(0, start - plan.margin)
        block = source.read(first, min(source.n_samples, stop + plan.margin), channels)
        for column, threshold in enumerate(thresholds):
            filtered = _bandpass(block[:, column], plan)
            peaks = _find_events(filtered, threshold, plan.dead_samples, params.polarity)
            peaks = peaks[(peaks >= start - first) & (peaks < stop - first)]
            indices[column].append(peaks + first)
            snippets[column].append(_snippets(filtered, peaks, plan))
    return [
        ChannelEvents(
            channel=channel,
            sample_indices=np.concatenate(indices[column]),
            snippets=np.concatenate(snippets[column]),
            peak_index=plan.peak_index,
            noise_mad=float(noise[column]),
            threshold=float(thresholds[column]),
        )
        for column, channel in enumerate(channels)
    ]


def spike_agreement(
    detected_s: np.ndarray, truth_s: np.ndarray, tolerance_s: float
) -> tuple[float, float]:
    """Precision and recall of detected spike times against known ones.

    A detected time is correct when a true time lies within ``tolerance_s`` of
    it (precision); a true time is found when a detected one lies within
    ``tolerance_s`` (recall). The matching is one-to-one whenever both sets are
    spaced by more than twice the tolerance, as the dead time ensures for
    detections. An empty set gives NaN for the fraction taken over it.

    Parameters
    ----------
    detected_s, truth_s : numpy.ndarray
        Detected and true spike times in seconds (any order).
    tolerance_s : float
        Largest time difference that still counts as a match.

    Returns
    -------
    tuple of float
        ``(precision, recall)``.

    Examples
    --------
    >>> spike_agreement(np.array([1.0, 2.0003, 5.0]), np.array([1.0, 2.0, 3.0, 4.0]), 0.0005)
    (0.6666666666666666, 0.5)
    """
    tolerance_s = check_positive(tolerance_s, "tolerance_s")
    detected = np.sort(np.asarray(detected_s, dtype=np.float64))
    truth = np.sort(np.asarray(truth_s, dtype=np.float64))
    precision = _fraction_near(detected, truth, tolerance_s)
    recall = _fraction_near(truth, detected, tolerance_s)
    return precision, recall


def _fraction_near(times: np.ndarray, reference: np.ndarray, tolerance_s: float) -> float:
    if times.size == 0:
        return float("nan")
    if reference.size == 0:
        return 0.0
    after = np.clip(np.searchsorted(reference, times), 0, reference.size - 1)
    before = np.clip(after - 1, 0, reference.size - 1)
    distance = np.minimum(np.abs(times - reference[before]), np.abs(times - reference[after]))
    return float(np.mean(distance <= tolerance_s))


def _channel_list(source: SignalSource, channels: Sequence[int] | None) -> list[int]:
    if channels is None:
        return list(range(source.n_channels))
    for channel in channels:
        validate_type(channel, (int, np.integer), "channel")
        if not 0 <= channel < source.n_channels:
            raise BadParameterError(
                f"channel {channel} does not exist "
                f"(the signal has channels 0..{source.n_channels - 1})"
            )
    return [int(channel) for channel in channels]


def _plan(params: DetectParams, sampling_rate_hz: float) -> _Plan:
    low_hz, high_hz = params.band_hz
    nyquist_hz = sampling_rate_hz / 2
    if high_hz >= nyquist_hz:
        raise BadParameterError(
            f"band upper edge {high_hz:g} Hz must be below the Nyquist frequency {nyquist_hz:g} Hz "
            f"(sampling rate {sampling_rate_hz:g} Hz): lower it"
        )
    from scipy.signal import butter  # imported when first used, not at start-up

    sos = butter(
        params.filter_order, (low_hz, high_hz), "bandpass", fs=sampling_rate_hz, output="sos"
    )
    samples_per_ms = sampling_rate_hz / 1000.0
    snippet_samples = max(1, round(params.snippet_ms * samples_per_ms))
    return _Plan(
        sos=sos.astype(np.float32),  # float32 filtering: half the memory traffic, ample precision
        settle_samples=_settle_samples(sos, sampling_rate_hz / low_hz),
        dead_samples=max(1, round(params.dead_time_ms * samples_per_ms)),
        snippet_samples=snippet_samples,
        peak_index=min(round(params.snippet_pre_ms * samples_per_ms), snippet_samples - 1),
        align_samples=round(ALIGN_MAX_SHIFT_MS * samples_per_ms),
    )


def _settle_samples(sos: np.ndarray, slowest_period_samples: float) -> int:
    """Length after which the filter's impulse response stays below the settle tolerance."""
    impulse = np.zeros(int(np.ceil(50 * slowest_period_samples)) + 1)
    impulse[0] = 1.0
    from scipy.signal import sosfilt

    response = np.abs(sosfilt(sos, impulse))
    return int(np.flatnonzero(response > FILTER_SETTLE_TOLERANCE * response.max())[-1]) + 1


def _bandpass(samples: np.ndarray, plan: _Plan) -> np.ndarray:
    from scipy.signal import sosfiltfilt

    return sosfiltfilt(plan.sos, samples)


def _noise_sd(source: SignalSource, channels: list[int], plan: _Plan) -> np.ndarray:
    """Noise SD per channel from filtered windows spread over the recording (not a full pass)."""
    length = round(NOISE_WINDOW_S * source.sampling_rate_hz)
    if source.n_samples <= NOISE_WINDOW_COUNT * length:
        windows = [(0, source.n_samples)]
    else:
        starts = np.linspace(0, source.n_samples - length, NOISE_WINDOW_COUNT).astype(np.int64)
        windows = [(int(start), int(start) + length) for start in starts]
    pieces = []
    signal_scale = np.zeros(len(channels))
    for start, stop in windows:
        first = max(0, start - plan.settle_samples)
        block = source.read(first, min(source.n_samples, stop + plan.settle_samples), channels)
        filtered = np.stack([_bandpass(block[:, column], plan) for column in range(len(channels))])
        pieces.append(filtered[:, start - first : stop - first])
        signal_scale = np.maximum(signal_scale, np.abs(block).max(axis=0))
    noise_sd = np.median(np.abs(np.concatenate(pieces, axis=1)), axis=1) / MAD_TO_SD
    return np.where(noise_sd > FLAT_NOISE_RATIO * signal_scale, noise_sd, 0.0)


def _find_events(
    filtered: np.ndarray, threshold: float, dead_samples: int, polarity: str
) -> np.ndarray:
    """Indices of extrema beyond ``threshold`` that are the largest within +/- dead time."""
    strength = _STRENGTH[polarity](filtered)
    beyond = np.flatnonzero(strength > threshold)
    height = strength[beyond]
    before = np.where(beyond > 0, strength[np.maximum(beyond - 1, 0)], -np.inf)
    after = np.where(
        beyond < strength.size - 1, strength[np.minimum(beyond + 1, strength.size - 1)], -np.inf
    )
    is_extremum = (height > before) & (height >= after)
    peaks, height = beyond[is_extremum], height[is_extremum]
    return peaks[_dead_time_winners(peaks, height, dead_samples)]


def _dead_time_winners(peaks: np.ndarray, height: np.ndarray, dead_samples: int) -> np.ndarray:
    """Mask of the peaks that no higher peak (or equal earlier one) lies within the dead time of."""
    keep = np.ones(peaks.size, dtype=bool)
    for offset in range(1, peaks.size):
        earlier = np.flatnonzero(peaks[offset:] - peaks[:-offset] <= dead_samples)
        if earlier.size == 0:  # peaks are sorted: no pair further apart in rank can be closer
            break
        later = earlier + offset
        later_wins = height[later] > height[earlier]
        keep[earlier[later_wins]] = False
        keep[later[~later_wins]] = False
    return keep


def _snippets(filtered: np.ndarray, peaks: np.ndarray, plan: _Plan) -> np.ndarray:
    """Snippets with ``align_samples`` extra on either side, room to re-align each event."""
    width = plan.snippet_samples + 2 * plan.align_samples
    starts = peaks - plan.peak_index - plan.align_samples
    if peaks.size and (starts[0] < 0 or starts[-1] + width > filtered.size):
        # Only at the ends of the recording: the chunk margins cover every other event.
        filtered = np.pad(filtered, width)
        starts = starts + width
    return filtered[starts[:, None] + np.arange(width)].astype(np.float32)


def _channel_units(
    source: SignalSource, found: ChannelEvents, params: DetectParams, plan: _Plan,
    unit_prefix: str,
) -> tuple[list[Unit], ChannelEvents, list[str]]:
    """Sort a channel's events, re-align them on their units' templates, make the units.

    Returns the units, the channel's events as re-aligned and kept, and notes.
    """
    core = found.snippets[:, plan.align_samples : plan.align_samples + plan.snippet_samples]
    first_pass = sort_events(core, found.peak_index, max_clusters=params.max_clusters)
    aligned = realign(
        found.snippets,
        found.sample_indices,
        first_pass.labels,
        align=plan.align_samples,
        snippet_samples=plan.snippet_samples,
        peak_index=plan.peak_index,
        dead_samples=plan.dead_samples,
    )
    found = replace(found, sample_indices=aligned.sample_indices, snippets=aligned.snippets)
    sorted_events = sort_events(
        aligned.snippets, found.peak_index, max_clusters=int(aligned.labels.max(initial=0)) + 1
    ) if aligned.labels.size else first_pass
    notes = [f"channel {found.channel}: {note}" for note in aligned.notes]
    return _units(source, found, sorted_events, unit_prefix), found, notes


def _units(
    source: SignalSource, found: ChannelEvents, sorted_events: SortResult, unit_prefix: str
) -> list[Unit]:
    times = source.t_start_s + found.sample_indices / source.sampling_rate_hz
    return [
        Unit(
            id=f"{unit_prefix}#ch{found.channel}#{cluster}",
            spike_times=times[sorted_events.labels == cluster],
            waveforms=found.snippets[sorted_events.labels == cluster],
            sampling_rate_hz=source.sampling_rate_hz,
            waveform_units=source.units,
            annotations=_unit_annotations(found, sorted_events, cluster),
        )
        for cluster in range(sorted_events.n_clusters)
    ]


def _unit_annotations(found: ChannelEvents, sorted_events: SortResult, cluster: int) -> dict:
    quality = sorted_events.clusters[cluster]
    peaks = found.snippets[sorted_events.labels == cluster, found.peak_index]
    return {
        "channel": found.channel,
        "cluster": cluster,
        "n_clusters": sorted_events.n_clusters,
        "dominant": cluster == 0,
        "l_ratio": quality.l_ratio,
        "isolation_confidence": quality.confidence,
        "isolation_note": quality.note,
        "peak_amplitude": quality.peak_amplitude,
        "dominance_score": quality.dominance,
        "polarity": "negative" if np.median(peaks) < 0 else "positive",
        "threshold": found.threshold,
        "noise_mad": found.noise_mad,
        "sorting_method": sorted_events.method,
    }


def _resolved_polarity(requested: str, channel_units: list[Unit]) -> str:
    if requested != "both" or not channel_units:
        return requested
    return str(channel_units[0].annotations["polarity"])


def _excerpt(
    source: SignalSource, found: ChannelEvents, channel_units: list[Unit], plan: _Plan
) -> SignalExcerpt:
    """``EXCERPT_S`` of filtered signal starting just before the dominant unit's first spike."""
    length = min(source.n_samples, round(EXCERPT_S * source.sampling_rate_hz))
    first_spike_s = channel_units[0].spike_times[0] - source.t_start_s
    wanted = round((first_spike_s - EXCERPT_LEAD_S) * source.sampling_rate_hz)
    start = int(np.clip(wanted, 0, source.n_samples - length))
    first = max(0, start - plan.settle_samples)
    block = source.read(
        first, min(source.n_samples, start + length + plan.settle_samples), [found.channel]
    )
    filtered = _bandpass(block[:, 0], plan)[start - first : start - first + length]
    t_start_s = source.t_start_s + start / source.sampling_rate_hz
    t_stop_s = t_start_s + length / source.sampling_rate_hz
    return SignalExcerpt(
        channel=found.channel,
        t_start_s=t_start_s,
        sampling_rate_hz=source.sampling_rate_hz,
        filtered=filtered,
        units=source.units,
        threshold=found.threshold,
        spike_times={
            unit.id: unit.spike_times[
                (unit.spike_times >= t_start_s) & (unit.spike_times < t_stop_s)
            ]
            for unit in channel_units
        },
    )


def _no_event_warning(found: ChannelEvents) -> str:
    if not np.isfinite(found.threshold):
        return f"channel {found.channel}: flat signal (zero noise after filtering), no events"
    return f"channel {found.channel}: no event beyond {found.threshold:.3g} (threshold), no unit"
