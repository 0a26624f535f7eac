# Over 400 lines: the mean waveform and every measure on it follow one set of definitions
# (module docstring); where a spike starts and ends is in spike_extent.
"""Spike waveform measures: mean/SD waveform, durations, amplitude, SNR.

The snippets of one unit are re-aligned on their largest extremum (the
file's trigger position is only a guess) and averaged; the mean is
baseline-corrected and upsampled by cubic interpolation to at least :data:`UPSAMPLED_MIN_RATE_HZ`
before measuring. Every measure is stored under its own name; the rule sets in
:mod:`rapheunit.measures.classify` say which one they use.

Definitions
-----------
The total duration is meant as in the literature on identified DRN cells
(Aghajanian & VanderMaelen 1982; Allers & Sharp 2003, 2.2 vs 1.1 ms): from
the onset of the spike's first phase to its return to baseline after the
last phase.

noise
    SD of the mean waveform's noise: the SD of the residuals (each snippet
    minus the mean) over the square root of the number of snippets; none for
    a file's mean waveform (then only the fractions of the amplitude apply).
baseline
    Median of every sample outside the spike (before and after it, a
    :data:`BASELINE_GUARD_MS` margin away), found in two passes: a first
    spike extent from the median of the snippet's first
    :data:`FIRST_PASS_BASELINE_FRACTION`, then the baseline outside it.
phases
    The mean waveform is cut into lobes at its baseline crossings, and a
    lobe is also cut at the bottom of a dip followed by a new rise of more
    than :data:`DIP_RISE_FRACTION` of the amplitude (a later wave riding on
    the decay of a phase). The spike is the run of lobes around the largest
    extremum in which each lobe is a **phase**: its peak reaches
    :data:`PHASE_MIN_FRACTION` of the largest one and :data:`NOISE_K` noise
    SDs, and it starts within :data:`MAX_PHASE_GAP_MS` of where the previous
    phase ended. A smaller or later deflection is an after-wave
    (afterpotential), not part of the spike; lobes smaller than the noise
    between two phases are passed over.
onset / return
    Walking outwards from the first (last) phase's peak, the first sample
    where ``|w|`` falls to :data:`EDGE_FRACTION` of the amplitude or
    :data:`NOISE_K` noise SDs (back at baseline), where the waveform crosses
    baseline, or the bottom of a dip before a later wave.
waveform_duration_ms (total duration)
    Onset to return.
first_phase_ms
    Onset to the first zero crossing after onset.
half_width_ms
    Width of the largest phase at half its amplitude (linear interpolation
    between samples).
peak_to_trough_ms
    Time from the largest negative extremum to the following positive
    maximum; for a positive-polarity spike the mirror (largest positive
    extremum to the following negative minimum).
amplitude
    Absolute value of the largest extremum (baseline 0).
polarity
    ``"negative"`` when the largest extremum is negative, else ``"positive"``.
waveform_snr
    Peak-to-peak amplitude of the mean waveform over twice the SD of the
    residuals (each snippet minus the mean), pooled over samples and spikes
    (Kelly et al. 2007, J Neurosci 27:261). Needs >= 2 snippets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rapheunit.core.errors import BadParameterError, check_positive
from rapheunit.core.model import Unit
from rapheunit.measures.spike_extent import (
    EDGE_FRACTION,
    spike_extent,
)

# First pass of the baseline: the median of this share of the snippet's start
# (at least MIN_BASELINE_SAMPLES); the second pass uses every sample outside the
# spike, this far from it.
FIRST_PASS_BASELINE_FRACTION = 0.1
MIN_BASELINE_SAMPLES = 2
BASELINE_GUARD_MS = 0.2
# The largest extremum's opposite phase must reach this share to give a peak-to-trough.
OPPOSITE_PHASE_MIN_FRACTION = 0.05
# Half-width is measured at this fraction of the largest phase's amplitude.
HALF_AMPLITUDE_FRACTION = 0.5
# The mean waveform is upsampled to at least this rate before measuring.
UPSAMPLED_MIN_RATE_HZ = 100_000.0
# A snippet's extremum is searched within this distance of the template's,
# on a copy smoothed by a Gaussian of this SD (noise barely moves its extremum).
MAX_ALIGN_SHIFT_MS = 0.3
ALIGN_SMOOTHING_MS = 0.1
# An aligned sample enters the mean only where at least this share of snippets cover it.
MIN_ALIGNED_COVERAGE = 0.5
# Shorter snippets cannot hold a baseline and a spike.
MIN_SNIPPET_SAMPLES = 8
NO_WAVEFORMS = "no waveforms"

MEASURE_NAMES = ("waveform_duration_ms", "first_phase_ms", "peak_to_trough_ms", "half_width_ms")


# Extracellular spikes of single units span tens of uV to about a mV (Henze et al. 2000,
# J Neurophysiol 84:390), juxtacellular ones several mV (Pinault 1996, J Neurosci Methods
# 65:113); outside this range (uV) the file's amplitude unit is almost surely wrong.
PLAUSIBLE_SPIKE_AMPLITUDE_UV = (5.0, 20_000.0)


@dataclass
class WaveformFeatures:
    """Waveform measures of one unit plus the arrays needed to draw them.

    ``mean_waveform``, ``sd_waveform`` and ``time_ms`` are on the upsampled
    grid (``time_ms`` is 0 at the largest extremum). The ``*_index`` fields
    are indices into those arrays (-1 when undefined): ``trough_index`` is the
    largest extremum and ``peak_index`` the following extremum of opposite
    sign (roles mirrored for positive polarity). ``reasons`` maps the name of
    every NaN measure to a short explanation.
    """

    waveform_duration_ms: float = np.nan
    first_phase_ms: float = np.nan
    peak_to_trough_ms: float = np.nan
    half_width_ms: float = np.nan
    amplitude: float = np.nan
    amplitude_units: str = ""
    polarity: str = ""
    waveform_snr: float = np.nan
    n_waveforms: int = 0
    is_mean: bool = False
    sampling_rate_hz: float = np.nan
    upsampled_rate_hz: float = np.nan
    mean_waveform: np.ndarray = field(default_factory=lambda: np.empty(0))
    sd_waveform: np.ndarray = field(default_factory=lambda: np.empty(0))
    time_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    onset_index: int = -1
    return_index: int = -1
    first_zero_crossing_index: int = -1
    trough_index: int = -1
    peak_index: int = -1
    half_width_start_index: int = -1
    half_width_stop_index: int = -1
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def has_measures(self) -> bool:
        """True when a mean waveform was measured (some measures may still be NaN)."""
        return self.mean_waveform.size > 0


def waveform_features(
    waveforms: np.ndarray | None,
    sampling_rate_hz: float | None,
    *,
    is_mean: bool = False,
    amplitude_units: str = "",
) -> WaveformFeatures:
    """Measure the mean spike waveform of one unit.

    Parameters
    ----------
    waveforms : numpy.ndarray or None
        ``(n_spikes, n_samples)`` snippets (or one row / 1-D array when
        ``is_mean``). None gives all-NaN measures with reason "no waveforms".
    sampling_rate_hz : float or None
        Sampling rate of the snippets.
    is_mean : bool
        True when ``waveforms`` is the file's mean waveform, not spikes:
        no re-alignment, no SD, no SNR.
    amplitude_units : str
        Unit of the samples, copied to ``amplitude_units``.

    Returns
    -------
    WaveformFeatures

    Examples
    --------
    >>> fs = 50_000.0
    >>> t_ms = np.arange(200) / fs * 1000
    >>> spike = -np.sin(np.pi * (t_ms - 1.0) / 1.0) * ((t_ms >= 1.0) & (t_ms < 2.0))
    >>> spike += 0.5 * np.sin(np.pi * (t_ms - 2.0) / 1.0) * ((t_ms >= 2.0) & (t_ms < 3.0))
    >>> features = waveform_features(spike, fs, is_mean=True)
    >>> features.polarity, round(features.half_width_ms, 2), round(features.peak_to_trough_ms, 2)
    ('negative', 0.67, 1.0)
    >>> round(features.waveform_duration_ms, 2), round(features.first_phase_ms, 2)
    (2.0, 1.01)
    >>> waveform_features(None, None).reasons["waveform_duration_ms"]
    'no waveforms'
    """
    if waveforms is None or sampling_rate_hz is None:
        return _unmeasured(NO_WAVEFORMS, is_mean=is_mean, amplitude_units=amplitude_units)
    sampling_rate_hz = check_positive(sampling_rate_hz, "sampling_rate_hz")
    snippets = _as_snippets(waveforms, is_mean)
    if snippets.shape[0] == 0:
        return _unmeasured(NO_WAVEFORMS, is_mean=is_mean, amplitude_units=amplitude_units)
    if snippets.shape[1] < MIN_SNIPPET_SAMPLES:
        reason = f"snippets have {snippets.shape[1]} samples, need >= {MIN_SNIPPET_SAMPLES}"
        return _unmeasured(reason, is_mean=is_mean, amplitude_units=amplitude_units)
    aligned = snippets if is_mean else _align_on_extremum(snippets, sampling_rate_hz)
    mean, sd = _mean_and_sd(aligned)
    features = _measure_mean(mean, sd, sampling_rate_hz, _noise_of_mean(aligned, mean, is_mean))
    features.amplitude_units = amplitude_units
    features.is_mean = is_mean
    features.n_waveforms = int(snippets.shape[0])
    features.waveform_snr = _snr(aligned, mean, is_mean, features.reasons)
    return features


def unit_waveform_features(
    unit: Unit, start: float | None = None, stop: float | None = None
) -> WaveformFeatures:
    """Waveform features of ``unit`` from its spikes in ``[start, stop)``.

    A file's mean waveform (``unit.waveforms_are_mean``) is used whatever the
    window; per-spike snippets are restricted to the window (all spikes when
    ``start``/``stop`` are None).

    Examples
    --------
    >>> snippets = np.tile(np.r_[np.zeros(10), -np.hanning(20), np.zeros(10)], (3, 1))
    >>> unit = Unit("u1", np.array([1.0, 2.0, 3.0]), snippets, 20_000.0, "uV")
    >>> features = unit_waveform_features(unit, 0.0, 2.5)
    >>> features.n_waveforms, features.amplitude_units, features.polarity
    (2, 'uV', 'negative')
    """
    if not unit.has_waveforms:
        return waveform_features(None, None, amplitude_units=unit.waveform_units)
    snippets = np.asarray(unit.waveforms)
    if not unit.waveforms_are_mean:
        if snippets.shape[0] != unit.n_spikes:
            raise BadParameterError(
                f"unit {unit.id!r}: {snippets.shape[0]} waveforms for {unit.n_spikes} spikes"
            )
        first = 0 if start is None else np.searchsorted(unit.spike_times, start, side="left")
        last = unit.n_spikes if stop is None else np.searchsorted(unit.spike_times, stop, "left")
        snippets = snippets[first:last]
    return waveform_features(
        snippets,
        unit.sampling_rate_hz,
        is_mean=unit.waveforms_are_mean,
        amplitude_units=unit.waveform_units,
    )


def amplitude_implausible(features: WaveformFeatures) -> bool:
    """True when a waveform in uV peaks outside :data:`PLAUSIBLE_SPIKE_AMPLITUDE_UV`.

    Examples
    --------
    >>> amplitude_implausible(WaveformFeatures(amplitude=80.0, amplitude_units="uV"))
    False
    >>> amplitude_implausible(WaveformFeatures(amplitude=8e7, amplitude_units="uV"))
    True
    """
    low, high = PLAUSIBLE_SPIKE_AMPLITUDE_UV
    return features.amplitude_units == "uV" and not low <= features.amplitude <= high


def amplitude_warning(unit_id: str, features: WaveformFeatures) -> list[str]:
    """The warning for an implausible amplitude (:func:`amplitude_implausible`), or none."""
    if not amplitude_implausible(features):
        return []
    low, high = PLAUSIBLE_SPIKE_AMPLITUDE_UV
    return [
        f"unit {unit_id}: waveform amplitude {features.amplitude:.3g} uV is outside any "
        f"physiological range ({low:g}-{high:g} uV): check the file's amplitude unit"
    ]


def _unmeasured(reason: str, *, is_mean: bool, amplitude_units: str) -> WaveformFeatures:
    names = (*MEASURE_NAMES, "amplitude", "waveform_snr")
    return WaveformFeatures(
        amplitude_units=amplitude_units, is_mean=is_mean, reasons=dict.fromkeys(names, reason)
    )


def _as_snippets(waveforms: np.ndarray, is_mean: bool) -> np.ndarray:
    snippets = np.asarray(waveforms, dtype=np.float64)
    if snippets.ndim == 1:
        snippets = snippets[None, :]
    if snippets.ndim != 2:
        raise BadParameterError(f"waveforms must be (n_spikes, n_samples), got {snippets.shape}")
    if is_mean and snippets.shape[0] != 1:
        raise BadParameterError(f"a mean waveform must be one row, got {snippets.shape[0]}")
    if not np.all(np.isfinite(snippets)):
        raise BadParameterError("waveforms contain NaN or infinite values")
    return snippets


def _first_pass_baseline(waveform: np.ndarray) -> float:
    n_samples = max(MIN_BASELINE_SAMPLES, round(FIRST_PASS_BASELINE_FRACTION * waveform.size))
    return float(np.median(waveform[:n_samples]))


def _noise_of_mean(aligned: np.ndarray, mean: np.ndarray, is_mean: bool) -> float:
    """SD of the noise left in the mean of the snippets; NaN for a file's mean waveform."""
    if is_mean or aligned.shape[0] < 2:
        return float("nan")
    residuals = aligned[:, _covered_columns(aligned)] - mean
    return float(np.nanstd(residuals, ddof=1) / np.sqrt(aligned.shape[0]))


def _largest_extremum(values: np.ndarray) -> tuple[int, float]:
    """Index of the largest absolute value and its sign (+1 or -1)."""
    index = int(np.argmax(np.abs(values)))
    return index, (-1.0 if values[index] < 0 else 1.0)


def _align_on_extremum(snippets: np.ndarray, sampling_rate_hz: float) -> np.ndarray:
    """Shift each snippet so its extremum (template's polarity) sits at the template's.

    The extremum is searched on a lightly smoothed copy so that noise does not
    pull it off the true peak. Samples shifted in from outside the snippet are NaN.
    """
    n_spikes, n_samples = snippets.shape
    template = snippets.mean(axis=0)
    reference, sign = _largest_extremum(template - _first_pass_baseline(template))
    # Capped at a quarter snippet so every snippet still covers the middle half.
    max_shift = min(round(MAX_ALIGN_SHIFT_MS * sampling_rate_hz / 1000.0), n_samples // 4)
    low, high = max(reference - max_shift, 0), min(reference + max_shift + 1, n_samples)
    sigma_samples = ALIGN_SMOOTHING_MS * sampling_rate_hz / 1000.0
    from scipy.ndimage import gaussian_filter1d  # scipy is imported when first used

    smoothed = gaussian_filter1d(snippets, sigma_samples, axis=1, mode="nearest")
    extrema = low + np.argmax(sign * smoothed[:, low:high], axis=1)
    source = np.arange(n_samples)[None, :] - (reference - extrema)[:, None]
    inside = (source >= 0) & (source < n_samples)
    rows = np.arange(n_spikes)[:, None]
    return np.where(inside, snippets[rows, np.clip(source, 0, n_samples - 1)], np.nan)


def _covered_columns(aligned: np.ndarray) -> slice:
    """Columns that at least :data:`MIN_ALIGNED_COVERAGE` of the snippets (and >= 2) cover."""
    n_spikes = aligned.shape[0]
    needed = max(min(2, n_spikes), MIN_ALIGNED_COVERAGE * n_spikes)
    kept = np.flatnonzero(np.isfinite(aligned).sum(axis=0) >= needed)
    return slice(int(kept[0]), int(kept[-1]) + 1)


def _mean_and_sd(aligned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD over snippets, cropped to the covered columns."""
    columns = aligned[:, _covered_columns(aligned)]
    mean = np.nanmean(columns, axis=0)
    if columns.shape[0] < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, np.nanstd(columns, axis=0, ddof=1)


def _snr(aligned: np.ndarray, mean: np.ndarray, is_mean: bool, reasons: dict[str, str]) -> float:
    if is_mean or aligned.shape[0] < 2:
        reasons["waveform_snr"] = "needs >= 2 spike waveforms, not a mean"
        return np.nan
    residuals = aligned[:, _covered_columns(aligned)] - mean
    noise_sd = float(np.nanstd(residuals, ddof=1))
    if noise_sd == 0:
        reasons["waveform_snr"] = "identical waveforms: no noise to compare with"
        return np.nan
    return float(np.ptp(mean) / (2.0 * noise_sd))


def _upsample(values: np.ndarray, factor: int) -> np.ndarray:
    """Cubic-spline interpolation onto a grid ``factor`` times finer (NaN stays NaN)."""
    fine = np.arange((values.size - 1) * factor + 1) / factor
    if not np.all(np.isfinite(values)):
        return np.full(fine.size, np.nan)
    from scipy.interpolate import CubicSpline

    return CubicSpline(np.arange(values.size), values)(fine)


def _measure_mean(
    mean: np.ndarray, sd: np.ndarray, sampling_rate_hz: float, noise_sd: float
) -> WaveformFeatures:
    factor = max(1, int(np.ceil(UPSAMPLED_MIN_RATE_HZ / sampling_rate_hz - 1e-9)))
    upsampled_rate_hz = sampling_rate_hz * factor
    ms_per_sample = 1000.0 / upsampled_rate_hz
    raw = _upsample(mean, factor)
    waveform = raw - _first_pass_baseline(raw)
    extent = spike_extent(waveform, noise_sd, ms_per_sample)
    if extent is not None:  # second pass: the baseline is everything outside the spike
        waveform = raw - _outside_baseline(raw, extent, round(BASELINE_GUARD_MS / ms_per_sample))
    extremum, sign = _largest_extremum(waveform)
    features = WaveformFeatures(
        sampling_rate_hz=sampling_rate_hz,
        upsampled_rate_hz=upsampled_rate_hz,
        mean_waveform=waveform,
        sd_waveform=_upsample(sd, factor),
        time_ms=(np.arange(waveform.size) - extremum) * ms_per_sample,
        amplitude=float(abs(waveform[extremum])),
        polarity="negative" if sign < 0 else "positive",
        trough_index=extremum,
    )
    if features.amplitude == 0:
        reason = "flat waveform"
        features.reasons.update(dict.fromkeys(MEASURE_NAMES, reason))
        return features
    _measure_extent(features, waveform, noise_sd, ms_per_sample)
    _measure_half_width(features, sign * waveform, ms_per_sample)
    _measure_peak_to_trough(features, -sign * waveform, ms_per_sample)
    return features


def _outside_baseline(raw: np.ndarray, extent: tuple[int, int], guard: int) -> float:
    """Median of the samples at least ``guard`` away from the spike (first pass if none)."""
    onset, end = extent
    outside = np.r_[raw[: max(onset - guard, 0)], raw[end + guard + 1 :]]
    return float(np.median(outside)) if outside.size >= MIN_BASELINE_SAMPLES else (
        _first_pass_baseline(raw)
    )


def _measure_extent(
    features: WaveformFeatures, waveform: np.ndarray, noise_sd: float, ms_per_sample: float
) -> None:
    """Onset, return, total duration and first-phase duration."""
    extent = spike_extent(waveform, noise_sd, ms_per_sample)
    if extent is None:
        reason = "spike does not start and end at baseline within the snippet"
        features.reasons.update(waveform_duration_ms=reason, first_phase_ms=reason)
        return
    onset, end = extent
    features.onset_index, features.return_index = onset, end
    features.waveform_duration_ms = (end - onset) * ms_per_sample
    # the first phase's sign: the first sample past the onset that stands out of baseline
    inside = waveform[onset : end + 1]
    onset_sign = np.sign(inside[np.argmax(np.abs(inside) > EDGE_FRACTION * features.amplitude)])
    crossings = np.flatnonzero(inside[1:] * onset_sign < 0) + 1
    if crossings.size == 0:
        features.reasons["first_phase_ms"] = "monophasic: no zero crossing before return"
        return
    features.first_zero_crossing_index = onset + int(crossings[0])
    features.first_phase_ms = float(crossings[0] * ms_per_sample)


def _measure_half_width(
    features: WaveformFeatures, oriented: np.ndarray, ms_per_sample: float
) -> None:
    """Width of the largest phase (positive in ``oriented``) at half its amplitude."""
    half = HALF_AMPLITUDE_FRACTION * features.amplitude
    extremum = features.trough_index
    below_before = np.flatnonzero(oriented[:extremum] < half)
    below_after = np.flatnonzero(oriented[extremum:] < half)
    if below_before.size == 0 or below_after.size == 0:
        features.reasons["half_width_ms"] = "largest phase runs off the snippet"
        return
    left, right = int(below_before[-1]), extremum + int(below_after[0])
    start = left + _crossing_fraction(oriented[left], oriented[left + 1], half)
    stop = right - 1 + _crossing_fraction(oriented[right - 1], oriented[right], half)
    features.half_width_start_index = round(start)
    features.half_width_stop_index = round(stop)
    features.half_width_ms = (stop - start) * ms_per_sample


def _crossing_fraction(before: float, after: float, level: float) -> float:
    """Where between two samples a straight line through them crosses ``level``."""
    return float((level - before) / (after - before))


def _measure_peak_to_trough(
    features: WaveformFeatures, mirrored: np.ndarray, ms_per_sample: float
) -> None:
    """Largest extremum to the following maximum of opposite sign (positive in ``mirrored``)."""
    extremum = features.trough_index
    following = extremum + int(np.argmax(mirrored[extremum:]))
    if mirrored[following] <= OPPOSITE_PHASE_MIN_FRACTION * features.amplitude:
        features.reasons["peak_to_trough_ms"] = "no opposite phase after the largest extremum"
        return
    features.peak_index = following
    features.peak_to_trough_ms = (following - extremum) * ms_per_sample
