"""One unit per neuron, one event per spike, for the broad spike shapes of the raphe.

Signals are made here: spike templates of several families (abutting half-sine phases),
either polarity, a slow drift, white noise, 20 and 25 kHz. The true alignment point of each
spike is the largest extremum of its own template after a 300-5000 Hz band-pass, computed here
with scipy; a detected event matches a true spike within 0.5 ms of that point.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from rapheunit.detection.detect import ArraySource, detect_units

DURATION_S = 60.0
MATCH_S = 0.5e-3

FAMILIES = {  # (duration ms, relative amplitude) of abutting half-sine phases
    "biphasic_positive_first": ((1.1, 0.6), (1.4, -1.0)),
    "biphasic_negative_first": ((0.9, -1.0), (1.6, 0.4)),
    "triphasic": ((0.35, 0.25), (0.85, -1.0), (1.8, 0.3)),
    "triphasic_3_5_ms": ((0.4, 0.3), (1.0, -1.0), (2.1, 0.35)),
    "narrow": ((0.4, -1.0), (0.6, 0.4)),
}


def template(phases: tuple[tuple[float, float], ...], rate_hz: float) -> np.ndarray:
    t_ms = np.arange(round(sum(d for d, _ in phases) * rate_hz / 1000.0) + 1) * 1000.0 / rate_hz
    values, start = np.zeros(t_ms.size), 0.0
    for duration, amplitude in phases:
        inside = (t_ms >= start) & (t_ms < start + duration)
        values[inside] = amplitude * np.sin(np.pi * (t_ms[inside] - start) / duration)
        start += duration
    return values


def band_pass(signal: np.ndarray, rate_hz: float) -> np.ndarray:
    return sosfiltfilt(butter(3, (300.0, 5000.0), "bandpass", fs=rate_hz, output="sos"), signal)


def spike_times(rng: np.random.Generator, rate_hz: float, cv: float) -> np.ndarray:
    shape = 1.0 / cv**2
    isis = rng.gamma(shape, 1.0 / (shape * rate_hz), int(DURATION_S * rate_hz * 2))
    times = 0.05 + np.cumsum(isis)
    return times[times < DURATION_S - 0.05]


def add_unit(
    signal: np.ndarray, shape: np.ndarray, times: np.ndarray, rate_hz: float, scale: float
) -> np.ndarray:
    """Add the spikes; return each spike's true alignment point (s)."""
    filtered = band_pass(np.r_[np.zeros(400), shape, np.zeros(400)], rate_hz)[400:-400]
    offset = int(np.argmax(np.abs(filtered)))
    starts = np.round(times * rate_hz).astype(int)
    for start in starts:
        signal[start : start + shape.size] += scale * shape
    return (starts + offset) / rate_hz


def noise_and_drift(rng: np.random.Generator, rate_hz: float) -> np.ndarray:
    t = np.arange(int(DURATION_S * rate_hz)) / rate_hz
    return rng.normal(0.0, 1.0, t.size) + 3.0 * np.sin(2 * np.pi * 0.7 * t)


def scale_for_snr(shape: np.ndarray, rate_hz: float, snr: float) -> float:
    """Amplitude giving the spike's filtered peak ``snr`` times the filtered noise SD."""
    noise_sd = band_pass(np.random.default_rng(0).normal(0, 1, 200_000), rate_hz).std()
    padded = np.r_[np.zeros(400), shape, np.zeros(400)]
    return snr * noise_sd / np.abs(band_pass(padded, rate_hz)).max()


def f1(detected: np.ndarray, truth: np.ndarray) -> float:
    if detected.size == 0:
        return 0.0
    nearest = np.abs(detected[:, None] - truth[None, :])
    hits = int(np.sum(nearest.min(axis=1) <= MATCH_S))
    found = int(np.sum(nearest.min(axis=0) <= MATCH_S))
    precision, recall = hits / detected.size, found / truth.size
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize(("rate_hz", "snr"), [(20_000.0, 8.0), (25_000.0, 15.0)])
def test_a_single_unit_is_one_unit(family: str, sign: float, rate_hz: float, snr: float) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{family}{sign}{rate_hz}".encode()))
    shape = sign * template(FAMILIES[family], rate_hz)
    signal = noise_and_drift(rng, rate_hz)
    truth = add_unit(signal, shape, spike_times(rng, 1.5, 0.2), rate_hz,
                     scale_for_snr(shape, rate_hz, snr))
    result = detect_units(ArraySource(signal, rate_hz))
    assert len(result.units) == 1, [(u.id, u.n_spikes) for u in result.units]
    assert f1(result.units[0].spike_times, truth) >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("rate_hz", [20_000.0, 25_000.0])
def test_a_broad_slow_cell_and_a_narrow_fast_cell_are_two_units(rate_hz: float) -> None:
    rng = np.random.default_rng(int(rate_hz))
    signal = noise_and_drift(rng, rate_hz)
    broad = template(FAMILIES["triphasic"], rate_hz)
    narrow = template(FAMILIES["narrow"], rate_hz)
    broad_truth = add_unit(signal, broad, spike_times(rng, 1.2, 0.2), rate_hz,
                           scale_for_snr(broad, rate_hz, 15.0))
    narrow_truth = add_unit(signal, narrow, spike_times(rng, 8.0, 0.6), rate_hz,
                            scale_for_snr(narrow, rate_hz, 8.0))
    result = detect_units(ArraySource(signal, rate_hz))
    assert len(result.units) == 2, [(u.id, u.n_spikes) for u in result.units]
    scores = sorted(
        max(f1(u.spike_times, broad_truth), f1(u.spike_times, narrow_truth)) for u in result.units
    )
    assert scores[0] >= 0.95
