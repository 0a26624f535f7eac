"""Spike total duration on waveform families the measurement does not assume.

Each test builds its spikes here and computes the true duration from the noise-free
template: for abutting half-sine phases, the support from the first phase leaving zero to
the last phase back at zero; for Gaussian sums, the span where the spike's own phases (not
its after-wave) exceed 2 % of the peak. Polarities, sampling rates and noise vary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from rapheunit.core.model import Recording, Unit
from rapheunit.measures.classify import classify_recording
from rapheunit.measures.waveform import waveform_features

SNIPPET_MS = 8.0
PEAK_AT_MS = 3.5


def tolerance_ms(rate_hz: float) -> float:
    """One sample, or 50 us: a slow phase's last 1-2 % is within the noise of any recording."""
    return max(1000.0 / rate_hz, 0.05)


def half_sines(phases: Sequence[tuple[float, float]], start_ms: float) -> Callable:
    """A spike of abutting half-sine phases ``(duration_ms, amplitude)`` from ``start_ms``."""

    def shape(t_ms: np.ndarray) -> np.ndarray:
        values = np.zeros_like(t_ms)
        begin = start_ms
        for duration, amplitude in phases:
            inside = (t_ms >= begin) & (t_ms < begin + duration)
            values[inside] = amplitude * np.sin(np.pi * (t_ms[inside] - begin) / duration)
            begin += duration
        return values

    return shape


def gaussians(components: Sequence[tuple[float, float, float]]) -> Callable:
    """A sum of Gaussians ``(amplitude, centre_ms, sd_ms)``."""

    def shape(t_ms: np.ndarray) -> np.ndarray:
        return sum(a * np.exp(-0.5 * ((t_ms - c) / sd) ** 2) for a, c, sd in components)

    return shape


def sampled(shape: Callable, rate_hz: float, sign: float = 1.0) -> np.ndarray:
    t_ms = np.arange(round(SNIPPET_MS * rate_hz / 1000.0)) * 1000.0 / rate_hz
    return sign * shape(t_ms)


def gaussian_truth(spike_components: Sequence[tuple[float, float, float]]) -> float:
    """Span where the spike's phases alone exceed 2 % of their peak, on a fine grid."""
    t_ms = np.arange(0.0, SNIPPET_MS, 0.0005)
    values = np.abs(gaussians(spike_components)(t_ms))
    above = np.flatnonzero(values > 0.02 * values.max())
    return float(t_ms[above[-1]] - t_ms[above[0]])


def triphasic(last_amplitude: float, last_ms: float) -> tuple[Callable, float]:
    phases = ((0.35, 0.25), (0.85, -1.0), (last_ms, last_amplitude))
    return half_sines(phases, PEAK_AT_MS - 0.35 - 0.425), sum(d for d, _ in phases)


@pytest.mark.parametrize("rate_hz", [20_000.0, 25_000.0, 40_000.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize(
    ("last_amplitude", "last_ms"), [(0.3, 1.8), (0.25, 2.0), (0.2, 2.2)]
)
def test_a_slow_low_last_phase_is_part_of_the_spike(
    rate_hz: float, sign: float, last_amplitude: float, last_ms: float
) -> None:
    shape, truth_ms = triphasic(last_amplitude, last_ms)  # 3.0, 3.2 and 3.4 ms
    features = waveform_features(sampled(shape, rate_hz, sign), rate_hz, is_mean=True)
    assert features.waveform_duration_ms == pytest.approx(truth_ms, abs=tolerance_ms(rate_hz))


BROAD_FAMILIES = {
    "positive_first": (((1.1, 0.6), (1.4, -1.0)), 2.5),
    "negative_first": (((0.8, -1.0), (1.6, 0.4)), 2.4),
    "triphasic": (((0.3, 0.3), (0.7, -1.0), (1.2, 0.45)), 2.2),
}


@pytest.mark.parametrize("family", sorted(BROAD_FAMILIES))
@pytest.mark.parametrize("rate_hz", [20_000.0, 25_000.0, 40_000.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_broad_half_sine_families(family: str, rate_hz: float, sign: float) -> None:
    phases, truth_ms = BROAD_FAMILIES[family]
    features = waveform_features(
        sampled(half_sines(phases, 2.0), rate_hz, sign), rate_hz, is_mean=True
    )
    assert features.waveform_duration_ms == pytest.approx(truth_ms, abs=tolerance_ms(rate_hz))


FAST_SPIKE = ((-1.0, 2.0, 0.127), (0.35, 2.45, 0.2))  # half-width 0.3 ms


@pytest.mark.parametrize("after_wave", [0.08, 0.1, 0.12, -0.1])
@pytest.mark.parametrize("rate_hz", [20_000.0, 40_000.0])
def test_a_faint_slow_after_wave_is_not_part_of_a_fast_spike(
    after_wave: float, rate_hz: float
) -> None:
    truth_ms = gaussian_truth(FAST_SPIKE)
    shape = gaussians((*FAST_SPIKE, (after_wave, 3.6, 0.6)))
    features = waveform_features(sampled(shape, rate_hz), rate_hz, is_mean=True)
    assert features.waveform_duration_ms < 1.5
    assert features.waveform_duration_ms == pytest.approx(truth_ms, abs=0.25)


def noisy_snippets(
    shape: Callable, rate_hz: float, snr: float, n_spikes: int, rng: np.random.Generator
) -> np.ndarray:
    """Snippets of a template with white noise; SNR = peak-to-peak / (2 noise SD)."""
    template = sampled(shape, rate_hz)
    noise_sd = np.ptp(template) / (2.0 * snr)
    return template + rng.normal(0.0, noise_sd, (n_spikes, template.size))


def test_a_narrow_spike_at_low_snr_reads_narrow() -> None:
    rng = np.random.default_rng(2)
    narrow = half_sines(((0.4, -1.0), (0.6, 0.4)), 3.0)  # 1.0 ms
    durations = np.array(
        [
            waveform_features(noisy_snippets(narrow, 25_000.0, 2.5, 30, rng), 25_000.0)
            .waveform_duration_ms
            for _ in range(100)
        ]
    )
    assert np.mean(durations >= 1.5) <= 0.05
    assert np.nanmedian(durations) == pytest.approx(1.0, abs=0.2)


def clock_spikes(rng: np.random.Generator, duration_s: float = 300.0) -> np.ndarray:
    """A regular 1.2 Hz train (gamma ISIs, CV 0.2): slow and clock-like."""
    isis = rng.gamma(25.0, 1.0 / (25.0 * 1.2), int(duration_s * 1.5))
    times = np.cumsum(isis)
    return times[times < duration_s]


def verdicts(shapes: list[Callable], rng: np.random.Generator) -> list[str]:
    units = []
    for index, shape in enumerate(shapes):
        spikes = clock_spikes(rng)
        snr = rng.uniform(5.0, 15.0)
        waveforms = noisy_snippets(shape, 25_000.0, snr, spikes.size, rng)
        units.append(Unit(f"u{index}", spikes, waveforms, 25_000.0, "uV"))
    recording = Recording("r", __import__("pathlib").Path("r.nix"), 0.0, 300.0, units)
    table = classify_recording(recording, baseline=(0.0, 300.0)).table
    return table["classification"].tolist()


@pytest.mark.slow
def test_verdicts_follow_the_spike_width_of_every_family() -> None:
    rng = np.random.default_rng(9)
    broad, narrow = [], []
    for _ in range(20):
        for phases, _truth in BROAD_FAMILIES.values():
            sign = rng.choice([-1.0, 1.0])
            broad.append(half_sines([(d, sign * a) for d, a in phases], 2.0))
        broad.append(triphasic(0.2, 2.2)[0])
        width = rng.uniform(0.8, 1.2)
        narrow.append(half_sines(((0.4 * width, -1.0), (0.6 * width, 0.4)), 3.0))
        narrow.append(gaussians((*FAST_SPIKE, (0.1, 3.6, 0.6))))
    broad_right = np.mean([v == "putative_5ht" for v in verdicts(broad, rng)])
    narrow_right = np.mean([v == "non_5ht" for v in verdicts(narrow, rng)])
    assert broad_right >= 0.95
    assert narrow_right >= 0.95
