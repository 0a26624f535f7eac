"""Spike waveform templates of the simulator, with exactly known durations.

Waveform truth
--------------
Spike templates are runs of contiguous half-sine phases (see
:func:`spike_template`), so where the spike starts and ends is known exactly
from the template itself, not from any measurement's definitions:

- total duration: the support of the spike's phases, from the start of the
  first phase to the end of the last (an after-wave that follows the spike is
  not part of it);
- first-phase duration: the length of the first phase;
- half-width: width of the largest phase at :data:`HALF_AMPLITUDE_FRACTION` of
  its amplitude;
- peak-to-trough: time from the largest negative extremum to the following
  positive maximum (NaN when no positive phase follows it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rapheunit.core.errors import BadParameterError, check_option, check_positive, validate_type
from rapheunit.simulate.celltypes import WAVEFORM_SHAPES, Phase

# Waveform snippets: 6 ms at 25 kHz with the trough 2.4 ms after the snippet start (on a sample)
# (neo's left_sweep), room for a 3.5 ms spike with baseline on both sides.
WAVEFORM_SAMPLING_RATE_HZ = 25_000.0
SNIPPET_SAMPLES = 150
PEAK_MS = 2.4
# Half-width is measured at half the amplitude of the largest phase.
HALF_AMPLITUDE_FRACTION = 0.5
# Per-spike amplitude jitter (relative SD) on top of the additive noise.
AMPLITUDE_JITTER_SD = 0.05


@dataclass(frozen=True)
class WaveformDurations:
    """Exact durations (ms) of a noiseless template (module docstring)."""

    total_ms: float
    first_phase_ms: float
    peak_to_trough_ms: float
    half_width_ms: float


@dataclass(frozen=True)
class _Layout:
    """Phases of a template in ms from the start of its support."""

    starts_ms: np.ndarray
    durations_ms: np.ndarray
    amplitudes: np.ndarray

    @property
    def largest(self) -> int:
        return int(np.argmin(self.amplitudes))

    def center_ms(self, phase: int) -> float:
        return float(self.starts_ms[phase] + self.durations_ms[phase] / 2.0)


def _phases(shape: str) -> tuple[Phase, ...]:
    return WAVEFORM_SHAPES[check_option(shape, WAVEFORM_SHAPES, "shape")]


def _layout(total_ms: float, shape: str) -> _Layout:
    """Every phase, after-waves included, scaled so the spike's phases span ``total_ms``."""
    check_positive(total_ms, "total_ms")
    durations = total_ms * np.array([phase.fraction for phase in _phases(shape)])
    starts = np.concatenate(([0.0], np.cumsum(durations)[:-1]))
    return _Layout(starts, durations, np.array([phase.amplitude for phase in _phases(shape)]))


def template_durations(total_ms: float, shape: str = "triphasic") -> WaveformDurations:
    """Durations of the noiseless :func:`spike_template`, from its phases.

    Parameters
    ----------
    total_ms : float
        Total duration: the support of the spike's phases, ms.
    shape : str
        A key of ``celltypes.WAVEFORM_SHAPES``.

    Returns
    -------
    WaveformDurations
        Total, first-phase, peak-to-trough and half-width durations in ms.

    Examples
    --------
    >>> durations = template_durations(2.2, "triphasic")
    >>> round(durations.total_ms, 6), round(durations.first_phase_ms, 3)
    (2.2, 0.264)
    >>> durations.half_width_ms < durations.peak_to_trough_ms < durations.total_ms
    True
    """
    layout = _layout(total_ms, shape)
    in_spike = np.array([not phase.after_wave for phase in _phases(shape)])
    trough = layout.largest
    following = [
        index
        for index in range(trough + 1, layout.amplitudes.size)
        if in_spike[index] and layout.amplitudes[index] > 0
    ]
    # Width of a half-sine above a fraction q of its peak is d * (1 - 2 asin(q) / pi).
    half_width = layout.durations_ms[trough] * (
        1.0 - 2.0 * np.arcsin(HALF_AMPLITUDE_FRACTION) / np.pi
    )
    peak_to_trough = (
        layout.center_ms(following[0]) - layout.center_ms(trough) if following else np.nan
    )
    return WaveformDurations(
        total_ms=float(layout.durations_ms[in_spike].sum()),
        first_phase_ms=float(layout.durations_ms[0]),
        peak_to_trough_ms=float(peak_to_trough),
        half_width_ms=float(half_width),
    )


def spike_template(
    total_ms: float,
    *,
    shape: str = "triphasic",
    amplitude_uv: float = 100.0,
    sampling_rate_hz: float = WAVEFORM_SAMPLING_RATE_HZ,
    n_samples: int = SNIPPET_SAMPLES,
    peak_ms: float = PEAK_MS,
) -> np.ndarray:
    """Noiseless extracellular spike template with an exactly known total duration.

    The template is a run of contiguous half-sine phases with alternating sign
    (``celltypes.WAVEFORM_SHAPES``): phase ``j`` spans ``d_j`` ms and equals
    ``a_j * amplitude_uv * sin(pi * (t - start_j) / d_j)``. The largest phase is
    negative with depth ``amplitude_uv`` and its trough sits at ``peak_ms``.
    Phase lengths are scaled so that the spike's phases span ``total_ms``
    (an after-wave follows them); :func:`template_durations` gives the
    durations.

    Parameters
    ----------
    total_ms : float
        Total duration: the support of the spike's phases, ms.
    shape : str
        A key of ``celltypes.WAVEFORM_SHAPES`` (broad ``"triphasic"``, narrow
        ``"biphasic"``, ...).
    amplitude_uv : float
        Depth of the trough, uV.
    sampling_rate_hz : float
        Sampling rate of the returned samples.
    n_samples : int
        Snippet length in samples.
    peak_ms : float
        Time of the trough from the first sample, ms.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` template in uV; sample ``k`` is at ``k / sampling_rate_hz``.

    Examples
    --------
    >>> template = spike_template(2.2, amplitude_uv=100.0)
    >>> template.shape, int(np.argmin(template)), float(round(template.min(), 1))
    ((150,), 60, -100.0)
    """
    check_positive(amplitude_uv, "amplitude_uv")
    check_positive(sampling_rate_hz, "sampling_rate_hz")
    check_positive(peak_ms, "peak_ms")
    validate_type(n_samples, int, "n_samples")
    layout = _layout(total_ms, shape)
    support_start_ms = peak_ms - layout.center_ms(layout.largest)
    support_end_ms = support_start_ms + float(layout.durations_ms.sum())
    snippet_ms = 1000.0 * n_samples / sampling_rate_hz
    if support_start_ms < 0 or support_end_ms > snippet_ms:
        raise BadParameterError(
            f"a {shape} spike of {total_ms} ms with its trough at {peak_ms} ms does not fit "
            f"in a {snippet_ms:g} ms snippet"
        )
    times_ms = 1000.0 * np.arange(n_samples) / sampling_rate_hz - support_start_ms
    template = np.zeros(n_samples)
    for start, duration, amplitude in zip(
        layout.starts_ms, layout.durations_ms, layout.amplitudes, strict=True
    ):
        inside = (times_ms >= start) & (times_ms < start + duration)
        template[inside] = amplitude * np.sin(np.pi * (times_ms[inside] - start) / duration)
    return amplitude_uv * template


def noisy_waveforms(
    total_ms: float,
    shape: str,
    amplitude_uv: float,
    snr: float,
    n_spikes: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Template with per-spike amplitude jitter plus white noise of SD amplitude / SNR."""
    template = spike_template(total_ms, shape=shape, amplitude_uv=amplitude_uv)
    scales = 1.0 + AMPLITUDE_JITTER_SD * rng.standard_normal(n_spikes)
    # One noise draw for all spikes, scaled and shifted in place to save memory.
    waveforms = rng.standard_normal((n_spikes, template.size))
    waveforms *= amplitude_uv / snr
    waveforms += scales[:, None] * template
    return waveforms
