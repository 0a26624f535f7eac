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
   extremum at ``snippet_pre_ms``); snippets running past either end of the
   recording are padded with zeros (the filtered baseline).
5. Each channel's events are split into units by :func:`rapheunit.detection.sorting.sort_events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rapheunit.core.errors import (
    BadParameterError,
    UnreadableFileError,
    check_option,
    check_positive,
    validate_type,
)
from rapheunit.core.model import Unit
from rapheunit.core.params import param
from rapheunit.detection.align import ALIGN_MAX_SHIFT_MS, realign
from rapheunit.detection.sorting import MAX_CLUSTERS, SortResult, sort_events

# The median absolute value of Gaussian noise is 0.6745 SD (Quiroga, Nadasdy & Ben-Shaul 2004,
# Neural Comput 16:1661), so median(|x|) / 0.6745 estimates the noise SD despite the spikes.
MAD_TO_SD = 0.6745
# Extracellular spike band: 300 Hz removes field potentials, 5 kHz keeps the spike shape.
DEFAULT_BAND_HZ = (300.0, 5000.0)
DEFAULT_FILTER_ORDER = 3  # Butterworth order of the band-pass (applied forward and backward)
# Quiroga et al. (2004) detect at 4-5 noise SDs; 5 keeps false events from noise rare.
DEFAULT_THRESHOLD_MAD = 5.0
# Events are locally exclusive over one spike width: a peak is kept only when it is the
# largest within 2 ms, where the other phases of a broad biphasic or triphasic DRN spike
# lie (up to 3.5 ms long), so one spike gives one event; a neuron cannot fire twice
# within 2 ms anyway (spike and refractory period).
DEFAULT_DEAD_TIME_MS = 2.0
# 6 ms with the aligned extremum at 2.5 ms leaves room for a 3.5 ms spike and its baseline.
DEFAULT_SNIPPET_MS = 6.0
DEFAULT_SNIPPET_PRE_MS = 2.5
# 2**18 samples (10 s at 25 kHz, 1 MiB as float32) per chunk: as fast as 2**20 in the benchmark,
# with a quarter of the working memory (benchmarks/README_detect.md).
DEFAULT_CHUNK_SAMPLES = 2**18
POLARITIES = ("both", "negative", "positive")
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


@runtime_checkable
class SignalSource(Protocol):
    """A continuous multichannel signal that can be read by sample range.

    ``read(start, stop, channels)`` returns samples ``start:stop`` of the
    given channels as a float32 ``(stop - start, len(channels))`` array in
    ``units``; the first sample is at ``t_start_s`` seconds.
    """

    n_samples: int
    sampling_rate_hz: float
    n_channels: int
    t_start_s: float
    units: str

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels``, float32, shape ``(n, n_channels)``."""
        ...


class ArraySource:
    """A numpy array or memmap, ``(n_samples,)`` or ``(n_samples, n_channels)``, as a source.

    Examples
    --------
    >>> source = ArraySource(np.arange(10), 1000.0, units="uV")
    >>> source.n_samples, source.n_channels, source.read(2, 4, [0]).ravel().tolist()
    (10, 1, [2.0, 3.0])
    """

    def __init__(
        self, data: np.ndarray, sampling_rate_hz: float, *, t_start_s: float = 0.0, units: str = ""
    ) -> None:
        data = np.asanyarray(data)  # keeps a memmap a memmap: nothing is loaded here
        if data.ndim not in (1, 2):
            raise BadParameterError(f"signal array must be 1-D or 2-D, got shape {data.shape}")
        self.data = data.reshape(-1, 1) if data.ndim == 1 else data
        self.n_samples, self.n_channels = (int(size) for size in self.data.shape)
        self.sampling_rate_hz = check_positive(sampling_rate_hz, "sampling_rate_hz")
        self.t_start_s = float(t_start_s)
        self.units = units

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels`` as float32 ``(n, len(channels))``."""
        return np.asarray(self.data[start:stop, list(channels)], dtype=np.float32)


class NeoSignalSource:
    """A neo lazy ``AnalogSignalProxy`` read by sample index, values in uV when they are voltages.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import neo
    >>> path = Path(tempfile.mkdtemp()) / "rec.raw"
    >>> np.arange(8, dtype=np.int16).tofile(path)
    >>> io = neo.io.RawBinarySignalIO(str(path), dtype="int16", sampling_rate=1000.0, nb_channel=2)
    >>> proxy = io.read_block(lazy=True).segments[0].analogsignals[0]
    >>> source = NeoSignalSource(proxy)
    >>> source.n_samples, source.units, source.read(1, 3, [1]).ravel().tolist()
    (4, 'dimensionless', [3.0, 5.0])
    """

    def __init__(self, proxy: Any) -> None:
        import quantities as pq  # imported when a signal is first read, not at start-up

        self.proxy = proxy
        self.n_samples, self.n_channels = (int(size) for size in proxy.shape)
        self.sampling_rate_hz = float(proxy.sampling_rate.rescale(pq.Hz).magnitude)
        self.t_start_s = float(proxy.t_start.rescale(pq.s).magnitude)
        units = pq.Quantity(1.0, proxy.units)
        try:
            self._scale = np.float32(units.rescale(pq.uV).magnitude)
            self.units = "uV"
        except ValueError:  # not a voltage: keep the file's own unit
            self._scale = np.float32(1.0)
            self.units = units.dimensionality.string

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels`` as float32 ``(n, len(channels))``."""
        import quantities as pq

        # The proxy rounds times to the nearest sample, so sample-exact times give exact indices.
        window = (
            (self.t_start_s + start / self.sampling_rate_hz) * pq.s,
            (self.t_start_s + stop / self.sampling_rate_hz) * pq.s,
        )
        signal = self.proxy.load(
            time_slice=window, strict_slicing=False, channel_indexes=list(channels)
        )
        values = np.asarray(signal.magnitude, dtype=np.float32) * self._scale
        if values.shape[0] != stop - start:
            raise UnreadableFileError(
                f"neo returned {values.shape[0]} samples for the range {start}:{stop}"
            )
        return values


@dataclass(frozen=True)
class DetectParams:
    """Detection and sorting settings (defaults and their reasons: module constants).

    Examples
    --------
    >>> DetectParams(polarity="negative", threshold_mad=4.5).dead_time_ms
    2.0
    >>> DetectParams(polarity="down")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: polarity must be one of 'both', ...
    """

    band_hz: tuple[float, float] = param(
        DEFAULT_BAND_HZ,
        'band-pass edges in Hz',
        name="band",
        metavar=("LOW_HZ", "HIGH_HZ"),
    )
    filter_order: int = param(
        DEFAULT_FILTER_ORDER,
        'Butterworth order of the band-pass (applied forward and backward)',
        metavar="N",
    )
    threshold_mad: float = param(
        DEFAULT_THRESHOLD_MAD,
        'threshold = K x the MAD noise estimate',
        metavar="K",
    )
    polarity: str = param("both", 'spike sign to detect', choices=POLARITIES)
    dead_time_ms: float = param(
        DEFAULT_DEAD_TIME_MS,
        'events are the largest peak within this much (one spike width)',
        metavar="MS",
    )
    snippet_ms: float = param(
        DEFAULT_SNIPPET_MS,
        'length of the waveform cut around each event',
        metavar="MS",
    )
    snippet_pre_ms: float = param(
        DEFAULT_SNIPPET_PRE_MS,
        'part of the snippet before the event',
        metavar="MS",
    )
    chunk_samples: int = param(
        DEFAULT_CHUNK_SAMPLES,
        'samples filtered at a time (bounds the memory)',
        metavar="N",
    )
    max_clusters: int = param(
        MAX_CLUSTERS,
        'most units the sorter may find per channel',
        metavar="N",
    )

    def __post_init__(self) -> None:
        low_hz, high_hz = (check_positive(edge, "band edge (Hz)") for edge in self.band_hz)
        if low_hz >= high_hz:
            raise BadParameterError(f"band must be (low, high) with low < high, got {self.band_hz}")
        for name in ("filter_order", "chunk_samples", "max_clusters"):
            validate_type(getattr(self, name), int, name)
            if getattr(self, name) < 1:
                raise BadParameterError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_positive(self.threshold_mad, "threshold_mad")
        check_option(self.polarity, POLARITIES, "polarity")
        check_positive(self.dead_time_ms, "dead_time_ms")
        check_positive(self.snippet_ms, "snippet_ms")
        check_positive(self.snippet_pre_ms, "snippet_pre_ms", allow_zero=True)
        if self.snippet_pre_ms >= self.snippet_ms:
            raise BadParameterError(
                f"snippet_pre_ms ({self.snippet_pre_ms}) must be shorter than "
                f"snippet_ms ({self.snippet_ms})"
            )


@dataclass(frozen=True)
class ChannelEvents:
    """Events detected on one channel: sample indices, snippets and the threshold used."""

    channel: int
    sample_indices: np.ndarray
    snippets: np.ndarray
    peak_index: int
    noise_mad: float
    threshold: float


@dataclass(frozen=True)
class SignalExcerpt:
    """A short stretch of one channel's filtered signal and the unit spikes in it."""

    channel: int
    t_start_s: float
    sampling_rate_hz: float
    filtered: np.ndarray
    units: str
    threshold: float
    spike_times: dict[str, np.ndarray]

    @property
    def times_s(self) -> np.ndarray:
        """Time of each sample of ``filtered`` in seconds."""
        return self.t_start_s + np.arange(self.filtered.size) / self.sampling_rate_hz


@dataclass
class DetectionResult:
    """Units found in a continuous signal, with the per-channel detection settings.

    ``threshold``, ``noise_mad`` and ``polarity_used`` map channel -> value.
    ``noise_mad`` is the noise SD estimated as ``median(|filtered|) / 0.6745``
    (0 for a flat channel, whose threshold is then infinite and which gets a
    warning). ``polarity_used`` is the requested polarity, except that
    ``"both"`` resolves to the sign of the dominant unit's peaks on that
    channel (events of either sign are kept). ``excerpts`` holds, for each
    channel with units, ``EXCERPT_S`` of filtered signal and the spikes in it.
    Every unit's annotations hold ``channel``, ``cluster``, ``n_clusters``,
    ``dominant`` (True for cluster 0 of its channel), ``l_ratio``,
    ``isolation_confidence``, ``isolation_note``, ``peak_amplitude``,
    ``dominance_score``, ``polarity``, ``threshold``, ``noise_mad`` and
    ``sorting_method`` (see :mod:`rapheunit.detection.sorting` for the isolation figures).
    """

    units: list[Unit]
    threshold: dict[int, float]
    noise_mad: dict[int, float]
    polarity_used: dict[int, str]
    excerpts: dict[int, SignalExcerpt]
    params: DetectParams
    warnings: list[str] = field(default_factory=list)

    @property
    def dominant_unit(self) -> Unit | None:
        """The unit with the largest dominance score over all channels (None if no units)."""
        return max(self.units, key=lambda unit: unit.annotations["dominance_score"], default=None)


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
    params: DetectParams = DetectParams(),
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
    params: DetectParams = DetectParams(),
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
