"""Waveform measures on noiseless spikes whose onset, return and widths are known exactly.

The truth is the template's own geometry: a spike made of abutting half-sine phases starts
where its first phase leaves zero and ends where its last phase returns to zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from rapheunit.core.errors import BadParameterError
from rapheunit.core.model import Unit
from rapheunit.measures.waveform import unit_waveform_features, waveform_features
from rapheunit.simulate import waveforms as simulate

N_SAMPLES = 100
SNIPPET_MS = 4.0


@dataclass(frozen=True)
class HalfSineSpike:
    """Contiguous half-sine phases ``(duration_ms, amplitude)`` starting at ``start_ms``."""

    start_ms: float
    phases: tuple[tuple[float, float], ...]

    def sample(self, sampling_rate_hz: float, sign: float = 1.0) -> np.ndarray:
        t_ms = np.arange(round(SNIPPET_MS * sampling_rate_hz / 1000.0)) / sampling_rate_hz * 1000.0
        values = np.zeros(t_ms.size)
        start = self.start_ms
        for duration, amplitude in self.phases:
            inside = (t_ms >= start) & (t_ms < start + duration)
            values[inside] = amplitude * np.sin(np.pi * (t_ms[inside] - start) / duration)
            start += duration
        return sign * values

    @property
    def peak(self) -> float:
        return max(abs(amplitude) for _, amplitude in self.phases)

    @property
    def total_ms(self) -> float:
        """The support: first phase leaving zero to last phase back at zero."""
        return sum(duration for duration, _ in self.phases)

    @property
    def first_phase_ms(self) -> float:
        return self.phases[0][0]

    @property
    def trough_ms(self) -> float:
        """Time of the largest phase's extremum from the snippet start."""
        largest = max(range(len(self.phases)), key=lambda k: abs(self.phases[k][1]))
        before = sum(duration for duration, _ in self.phases[:largest])
        return self.start_ms + before + self.phases[largest][0] / 2

    @property
    def half_width_ms(self) -> float:
        # A half-sine is above half its peak for 2/3 of its duration.
        duration = max(self.phases, key=lambda phase: abs(phase[1]))[0]
        return duration * 2.0 / 3.0

    @property
    def peak_to_trough_ms(self) -> float:
        """Centre of the largest phase to the centre of the largest later opposite phase."""
        durations = np.array([duration for duration, _ in self.phases])
        amplitudes = np.array([amplitude for _, amplitude in self.phases])
        centres = np.cumsum(durations) - durations / 2
        largest = int(np.argmax(np.abs(amplitudes)))
        opposite = -np.sign(amplitudes[largest]) * amplitudes[largest + 1 :]
        following = largest + 1 + int(np.argmax(opposite))
        return float(centres[following] - centres[largest])


BROAD_TRIPHASIC = HalfSineSpike(0.43, ((0.31, 0.25), (0.83, -1.0), (1.37, 0.45)))
NARROW_BIPHASIC = HalfSineSpike(0.61, ((0.37, -1.0), (0.59, 0.4)))


@pytest.mark.parametrize("sampling_rate_hz", [12_500.0, 25_000.0, 40_000.0])
@pytest.mark.parametrize("spike", [BROAD_TRIPHASIC, NARROW_BIPHASIC])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_noiseless_durations_within_one_sample(
    sampling_rate_hz: float, spike: HalfSineSpike, sign: float
) -> None:
    features = waveform_features(
        spike.sample(sampling_rate_hz, sign), sampling_rate_hz, is_mean=True
    )
    one_sample_ms = 1000.0 / sampling_rate_hz
    assert abs(features.waveform_duration_ms - spike.total_ms) <= one_sample_ms
    assert abs(features.first_phase_ms - spike.first_phase_ms) <= one_sample_ms
    assert abs(features.half_width_ms - spike.half_width_ms) <= one_sample_ms
    assert abs(features.peak_to_trough_ms - spike.peak_to_trough_ms) <= one_sample_ms
    assert features.polarity == ("negative" if sign > 0 else "positive")
    assert features.amplitude == pytest.approx(1.0, abs=0.02)
    assert features.upsampled_rate_hz >= 100_000.0


def test_indices_point_at_the_measured_events() -> None:
    features = waveform_features(BROAD_TRIPHASIC.sample(25_000.0), 25_000.0, is_mean=True)
    time_ms, mean = features.time_ms, features.mean_waveform
    assert time_ms[features.trough_index] == 0.0
    assert mean[features.trough_index] == mean.min()
    assert mean[features.peak_index] == mean[features.trough_index :].max()
    assert time_ms[features.return_index] - time_ms[features.onset_index] == pytest.approx(
        features.waveform_duration_ms
    )
    one_sample_ms = 1000.0 / 25_000.0
    onset_ms = BROAD_TRIPHASIC.start_ms - BROAD_TRIPHASIC.trough_ms
    assert abs(time_ms[features.onset_index] - onset_ms) <= one_sample_ms
    assert mean[features.first_zero_crossing_index] * mean[features.onset_index] <= 0
    assert features.half_width_start_index < features.trough_index < features.half_width_stop_index


def shifted(template: np.ndarray, shift: int) -> np.ndarray:
    out = np.zeros_like(template)
    if shift >= 0:
        out[shift:] = template[: template.size - shift]
    else:
        out[:shift] = template[-shift:]
    return out


def test_jittered_spikes_are_realigned() -> None:
    sampling_rate_hz = 25_000.0
    template = NARROW_BIPHASIC.sample(sampling_rate_hz) * 80.0
    rng = np.random.default_rng(0)
    shifts = rng.integers(-4, 5, size=200)
    snippets = np.array([shifted(template, int(shift)) for shift in shifts])
    snippets += rng.normal(0.0, 0.5, size=snippets.shape)
    features = waveform_features(snippets, sampling_rate_hz, amplitude_units="uV")
    one_sample_ms = 1000.0 / sampling_rate_hz
    assert abs(features.waveform_duration_ms - NARROW_BIPHASIC.total_ms) <= one_sample_ms
    assert abs(features.half_width_ms - NARROW_BIPHASIC.half_width_ms) <= one_sample_ms
    assert features.amplitude == pytest.approx(80.0, rel=0.05)
    assert features.n_waveforms == 200 and features.amplitude_units == "uV"
    # Unaligned averaging would smear the trough well below 80 uV.
    assert abs(snippets.mean(axis=0)).max() < 0.9 * features.amplitude


def test_snr_is_peak_to_peak_over_twice_noise_sd() -> None:
    sampling_rate_hz = 25_000.0
    template = BROAD_TRIPHASIC.sample(sampling_rate_hz) * 100.0
    noise_sd = 10.0
    rng = np.random.default_rng(1)
    snippets = template + rng.normal(0.0, noise_sd, size=(400, N_SAMPLES))
    features = waveform_features(snippets, sampling_rate_hz)
    expected = np.ptp(template) / (2 * noise_sd)
    assert features.waveform_snr == pytest.approx(expected, rel=0.1)
    assert np.nanmedian(features.sd_waveform) == pytest.approx(noise_sd, rel=0.15)
    assert features.sd_waveform.shape == features.mean_waveform.shape == features.time_ms.shape


def test_none_gives_nan_with_reason() -> None:
    features = waveform_features(None, None)
    for name in (
        "waveform_duration_ms",
        "first_phase_ms",
        "peak_to_trough_ms",
        "half_width_ms",
        "amplitude",
        "waveform_snr",
    ):
        assert math.isnan(getattr(features, name))
        assert features.reasons[name] == "no waveforms"
    assert not features.has_measures


def test_empty_snippet_array_gives_nan() -> None:
    features = waveform_features(np.empty((0, N_SAMPLES)), 25_000.0)
    assert math.isnan(features.waveform_duration_ms)
    assert features.reasons["waveform_duration_ms"] == "no waveforms"


def test_single_spike_has_measures_but_no_sd_or_snr() -> None:
    features = waveform_features(BROAD_TRIPHASIC.sample(25_000.0)[None, :], 25_000.0)
    assert math.isfinite(features.waveform_duration_ms)
    assert np.all(np.isnan(features.sd_waveform))
    assert math.isnan(features.waveform_snr) and "waveform_snr" in features.reasons


def test_monophasic_spike_has_no_first_zero_crossing_or_rebound() -> None:
    spike = HalfSineSpike(1.0, ((0.8, -1.0),))
    features = waveform_features(spike.sample(25_000.0), 25_000.0, is_mean=True)
    assert abs(features.waveform_duration_ms - spike.total_ms) <= 0.04
    assert (
        math.isnan(features.first_phase_ms) and "monophasic" in features.reasons["first_phase_ms"]
    )
    assert math.isnan(features.peak_to_trough_ms) and "peak_to_trough_ms" in features.reasons


def test_spike_cut_by_the_snippet_edge_has_no_duration() -> None:
    spike = HalfSineSpike(2.5, ((0.5, -1.0), (2.0, 0.5)))  # runs past the 4 ms snippet
    features = waveform_features(spike.sample(25_000.0), 25_000.0, is_mean=True)
    assert math.isnan(features.waveform_duration_ms)
    assert "baseline" in features.reasons["waveform_duration_ms"]
    assert math.isfinite(features.half_width_ms)


def test_flat_waveform_gives_nan() -> None:
    features = waveform_features(np.zeros((3, N_SAMPLES)), 25_000.0)
    assert math.isnan(features.waveform_duration_ms)
    assert features.reasons["waveform_duration_ms"] == "flat waveform"


def test_baseline_offset_is_removed() -> None:
    spike = BROAD_TRIPHASIC.sample(25_000.0)
    plain = waveform_features(spike, 25_000.0, is_mean=True)
    offset = waveform_features(spike + 7.0, 25_000.0, is_mean=True)
    assert offset.waveform_duration_ms == pytest.approx(plain.waveform_duration_ms)
    assert offset.amplitude == pytest.approx(plain.amplitude)


@pytest.mark.parametrize(
    ("waveforms", "sampling_rate_hz", "match"),
    [
        (np.full((2, N_SAMPLES), np.nan), 25_000.0, "NaN"),
        (np.zeros((2, 1, N_SAMPLES)), 25_000.0, "n_spikes"),
        (np.zeros((2, N_SAMPLES)), 0.0, "sampling_rate_hz"),
        (np.zeros((2, N_SAMPLES)), -5.0, "sampling_rate_hz"),
    ],
)
def test_bad_input_raises(waveforms: np.ndarray, sampling_rate_hz: float, match: str) -> None:
    with pytest.raises(BadParameterError, match=match):
        waveform_features(waveforms, sampling_rate_hz)


def test_mean_waveform_must_be_one_row() -> None:
    with pytest.raises(BadParameterError, match="one row"):
        waveform_features(np.zeros((2, N_SAMPLES)), 25_000.0, is_mean=True)


def test_unit_features_use_the_window_spikes_only() -> None:
    broad = BROAD_TRIPHASIC.sample(25_000.0)
    narrow = NARROW_BIPHASIC.sample(25_000.0)
    unit = Unit(
        "u",
        np.array([1.0, 2.0, 3.0, 4.0]),
        np.array([broad, broad, narrow, narrow]),
        25_000.0,
        "uV",
    )
    early = unit_waveform_features(unit, 0.0, 2.5)
    late = unit_waveform_features(unit, 2.5, 5.0)
    assert early.n_waveforms == late.n_waveforms == 2
    assert early.waveform_duration_ms > 2.0 > late.waveform_duration_ms


def test_unit_mean_waveform_ignores_the_window() -> None:
    unit = Unit(
        "u",
        np.array([1.0, 2.0]),
        BROAD_TRIPHASIC.sample(25_000.0),
        25_000.0,
        waveforms_are_mean=True,
    )
    features = unit_waveform_features(unit, 5.0, 6.0)
    assert features.is_mean and features.n_waveforms == 1
    assert math.isfinite(features.waveform_duration_ms)
    assert "waveform_snr" in features.reasons


def test_unit_without_waveforms_and_mismatched_counts() -> None:
    assert unit_waveform_features(Unit("u", np.array([1.0]))).reasons["amplitude"] == (
        "no waveforms"
    )
    unit = Unit("u", np.array([1.0, 2.0]), np.zeros((3, N_SAMPLES)), 25_000.0)
    with pytest.raises(BadParameterError, match="3 waveforms for 2 spikes"):
        unit_waveform_features(unit)


def test_simulator_templates_within_one_sample() -> None:
    one_sample_ms = 1000.0 / simulate.WAVEFORM_SAMPLING_RATE_HZ
    for shape, total_ms in [
        ("triphasic", 2.0),
        ("triphasic", 3.0),
        ("biphasic", 0.8),
        ("biphasic", 1.4),
    ]:
        template = simulate.spike_template(total_ms, shape=shape)
        truth = simulate.template_durations(total_ms, shape)
        features = waveform_features(template, simulate.WAVEFORM_SAMPLING_RATE_HZ, is_mean=True)
        assert abs(features.waveform_duration_ms - truth.total_ms) <= one_sample_ms
        assert abs(features.first_phase_ms - truth.first_phase_ms) <= one_sample_ms
        assert abs(features.half_width_ms - truth.half_width_ms) <= one_sample_ms
        assert abs(features.peak_to_trough_ms - truth.peak_to_trough_ms) <= one_sample_ms
