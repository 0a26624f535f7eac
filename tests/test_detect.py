"""Spike detection on continuous signals: accuracy, polarity, chunk edges, sources, errors."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import neo
import numpy as np
import pytest

from rapheunit.core.errors import BadParameterError
from rapheunit.detection.detect import (
    ArraySource,
    DetectParams,
    NeoSignalSource,
    SignalSource,
    detect_events,
    detect_units,
    spike_agreement,
)
from rapheunit.detection.rawfile import RawLayout, open_raw

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
LOCUST = REALDATA / "tridesclous" / "locust_trial_01.raw"
FS = 25_000.0
TOLERANCE_S = 0.5e-3


def spike_shape(t_ms: np.ndarray) -> np.ndarray:
    """Extracellular spike: a sharp trough at t = 0, then a broader positive phase."""
    trough = -np.exp(-0.5 * (t_ms / 0.15) ** 2)
    return trough + 0.35 * np.exp(-0.5 * ((t_ms - 0.5) / 0.3) ** 2)


def add_spikes(signal: np.ndarray, times_s: np.ndarray, amplitude: float) -> None:
    """Add spikes whose trough (``amplitude``, negative for troughs) is at ``times_s``."""
    centres = np.asarray(times_s) * FS
    samples = np.round(centres).astype(np.int64)[:, None] + np.arange(-50, 51)[None, :]
    inside = (samples >= 0) & (samples < signal.size)
    t_ms = (samples - centres[:, None]) / FS * 1000.0
    np.add.at(signal, samples[inside], amplitude * -spike_shape(t_ms)[inside])


def spike_train(rng: np.random.Generator, duration_s: float, rate_hz: float) -> np.ndarray:
    """Spike times at about ``rate_hz``, at least 10 ms apart, away from the two ends."""
    intervals = 0.010 + rng.exponential(1.0 / rate_hz, int(3 * duration_s * rate_hz) + 10)
    times = 0.005 + np.cumsum(intervals)
    return times[times < duration_s - 0.005]


def noisy_signal(rng: np.random.Generator, duration_s: float) -> np.ndarray:
    """Unit-SD white noise plus a slow field potential that the band-pass must remove."""
    t = np.arange(round(duration_s * FS)) / FS
    return rng.normal(0.0, 1.0, t.size) + 3.0 * np.sin(2 * np.pi * 4.0 * t)


def test_spike_agreement_counts_matches_within_tolerance():
    precision, recall = spike_agreement(
        np.array([1.0, 2.0003, 5.0]), np.array([1.0001, 2.0, 3.0, 4.0]), 0.5e-3
    )
    assert (precision, recall) == (pytest.approx(2 / 3), pytest.approx(0.5))


@pytest.mark.parametrize("amplitude", [-8.0, 8.0, -14.0, 14.0])  # SNR in raw noise SDs; sign
@pytest.mark.parametrize("polarity", ["both", "matching"])
def test_high_snr_spikes_are_found_with_either_polarity(amplitude, polarity):
    rng = np.random.default_rng(11)
    signal = noisy_signal(rng, 20.0)
    truth = spike_train(rng, 20.0, 8.0)
    add_spikes(signal, truth, amplitude)
    sign = "negative" if amplitude < 0 else "positive"
    params = DetectParams(polarity=sign if polarity == "matching" else "both")
    result = detect_units(ArraySource(signal, FS), params=params)
    times = np.sort(np.concatenate([unit.spike_times for unit in result.units]))
    precision, recall = spike_agreement(times, truth, TOLERANCE_S)
    assert precision >= 0.95 and recall >= 0.95
    assert result.polarity_used == {0: sign}
    dominant = result.dominant_unit
    assert dominant is not None and dominant.annotations["polarity"] == sign


def test_recall_grows_with_snr_and_the_wrong_polarity_misses_the_troughs():
    """Recall rises with SNR; polarity "positive" finds the after-phase, never the trough."""
    rng = np.random.default_rng(12)
    truth = spike_train(rng, 10.0, 10.0)
    recalls = []
    for amplitude in (2.0, 4.0, 8.0):
        signal = noisy_signal(rng, 10.0)
        add_spikes(signal, truth, -amplitude)
        [found] = detect_events(ArraySource(signal, FS))
        recalls.append(spike_agreement(found.sample_indices / FS, truth, TOLERANCE_S)[1])
    assert recalls[0] < 0.2 < recalls[2] and recalls == sorted(recalls) and recalls[2] >= 0.95
    [positive] = detect_events(ArraySource(signal, FS), params=DetectParams(polarity="positive"))
    assert np.all(positive.snippets[:, positive.peak_index] > 0)
    assert spike_agreement(positive.sample_indices / FS, truth, 0.1e-3)[0] < 0.05


def test_noise_estimate_is_the_sd_of_the_filtered_noise():
    rng = np.random.default_rng(13)
    signal = noisy_signal(rng, 30.0)
    spikes = spike_train(rng, 30.0, 5.0)
    add_spikes(signal, spikes, -10.0)
    [found] = detect_events(ArraySource(signal, FS))
    noise_only = noisy_signal(np.random.default_rng(14), 30.0)
    filtered_sd = _filtered(noise_only).std()
    assert found.noise_mad == pytest.approx(filtered_sd, rel=0.05)
    assert found.threshold == pytest.approx(5.0 * found.noise_mad)


def _filtered(signal: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(3, (300.0, 5000.0), "bandpass", fs=FS, output="sos"), signal)


def test_dead_time_keeps_the_larger_of_two_close_spikes():
    rng = np.random.default_rng(15)
    signal = noisy_signal(rng, 2.0)
    add_spikes(signal, np.array([0.5, 0.5006]), -8.0)  # 0.6 ms apart: one event
    add_spikes(signal, np.array([0.5006]), -6.0)  # the later one is larger (14 SD)
    add_spikes(signal, np.array([1.0, 1.003]), -12.0)  # 3 ms apart: beyond a spike width
    [found] = detect_events(ArraySource(signal, FS))
    times = found.sample_indices / FS
    assert spike_agreement(times, np.array([0.5006, 1.0, 1.003]), 0.1e-3) == (1.0, 1.0)
    dead_time_samples = FS * DetectParams().dead_time_ms / 1000.0
    assert np.all(np.diff(found.sample_indices) > dead_time_samples)


def test_snippets_have_room_for_a_3_5_ms_spike_around_the_extremum():
    rng = np.random.default_rng(16)
    signal = noisy_signal(rng, 5.0)
    add_spikes(signal, spike_train(rng, 5.0, 10.0), -12.0)
    params = DetectParams(snippet_ms=6.0, snippet_pre_ms=2.5)
    [found] = detect_events(ArraySource(signal, FS), params=params)
    assert found.snippets.shape == (found.sample_indices.size, 150) and found.peak_index == 62
    np.testing.assert_array_equal(np.abs(found.snippets).argmax(axis=1), 62)
    # 2.5 ms before and 3.5 ms after the extremum: a 3.5 ms spike fits either way round
    assert found.peak_index / FS >= 2.4e-3 and (150 - found.peak_index) / FS >= 3.4e-3


def edge_spike_signal() -> tuple[np.ndarray, np.ndarray]:
    """Spikes straddling every multiple of 1000 and 4096 samples, plus a close pair at 12288."""
    rng = np.random.default_rng(17)
    signal = noisy_signal(rng, 2.0)
    edges = np.union1d(np.arange(1000, 50_000, 1000), np.arange(4096, 50_000, 4096))
    shifts = np.resize([-1, 0, 1, -25, 25, 26], edges.size)  # on, beside and a dead time away
    centres = edges + shifts
    centres = centres[np.diff(centres, prepend=-np.inf) > 100]
    add_spikes(signal, centres / FS, -12.0)
    add_spikes(signal, np.array([12_288 - 10, 12_288 + 5]) / FS, -6.0)  # 0.6 ms apart, both edges
    return signal, centres


def test_chunk_edges_neither_lose_nor_double_events():
    signal, centres = edge_spike_signal()
    runs = {
        chunk: detect_events(ArraySource(signal, FS), params=DetectParams(chunk_samples=chunk))[0]
        for chunk in (1000, 4096, signal.size)
    }
    whole = runs[signal.size]
    truth_s = np.union1d(centres, [12_288 + 5]) / FS  # the pair keeps one event
    precision, recall = spike_agreement(whole.sample_indices / FS, truth_s, 0.2e-3)
    assert precision == 1.0 and recall >= 0.98
    for chunk in (1000, 4096):
        np.testing.assert_array_equal(runs[chunk].sample_indices, whole.sample_indices)
        np.testing.assert_allclose(runs[chunk].snippets, whole.snippets, atol=1e-3)
        assert runs[chunk].threshold == whole.threshold


def test_detect_units_gives_times_in_seconds_from_t_start_and_annotations():
    rng = np.random.default_rng(18)
    signal = noisy_signal(rng, 6.0)
    truth = spike_train(rng, 6.0, 5.0)
    add_spikes(signal, truth, -12.0)
    source = ArraySource(signal * 5.0, FS, t_start_s=100.0, units="uV")
    result = detect_units(source, unit_prefix="raw")
    [unit] = result.units
    assert unit.id == "raw#ch0#0" and unit.waveform_units == "uV"
    expected_samples = round(DetectParams().snippet_ms * FS / 1000.0)
    assert unit.sampling_rate_hz == FS and unit.waveforms.shape == (unit.n_spikes, expected_samples)
    assert min(spike_agreement(unit.spike_times - 100.0, truth, TOLERANCE_S)) >= 0.95
    annotations = unit.annotations
    assert annotations["channel"] == 0 and annotations["dominant"] is True
    assert annotations["threshold"] == pytest.approx(result.threshold[0])
    excerpt = result.excerpts[0]
    assert excerpt.filtered.size == round(2.0 * FS) and excerpt.t_start_s >= 100.0
    inside = excerpt.spike_times[unit.id]
    assert inside.size > 0 and np.all((inside >= excerpt.t_start_s) & (inside < 102.0 + 6.0))
    assert np.all(inside < excerpt.times_s[-1] + 1 / FS)


def test_two_units_are_separated_and_the_big_one_is_dominant():
    rng = np.random.default_rng(19)
    signal = noisy_signal(rng, 30.0)
    big, small = spike_train(rng, 30.0, 2.0), spike_train(rng, 30.0, 4.0)
    small = small[np.min(np.abs(small[:, None] - big[None, :]), axis=1) > 0.005]
    add_spikes(signal, big, -16.0)
    add_spikes(signal, small, -8.0)
    result = detect_units(ArraySource(signal, FS))
    assert len(result.units) == 2
    dominant, background = result.units
    assert dominant.annotations["dominant"] and not background.annotations["dominant"]
    assert min(spike_agreement(dominant.spike_times, big, TOLERANCE_S)) >= 0.95
    assert min(spike_agreement(background.spike_times, small, TOLERANCE_S)) >= 0.9
    assert dominant.annotations["isolation_confidence"] > 0.95
    assert dominant.annotations["l_ratio"] < 0.1


def test_every_channel_is_analysed_and_labelled():
    rng = np.random.default_rng(20)
    signals = np.stack([noisy_signal(rng, 4.0) for _ in range(3)], axis=1)
    truths = [spike_train(rng, 4.0, rate) for rate in (5.0, 10.0)]
    add_spikes(signals[:, 0], truths[0], -12.0)
    add_spikes(signals[:, 2], truths[1], 12.0)
    signals[:, 1] = 2048.0  # a disconnected channel: a constant ADC value
    result = detect_units(ArraySource(signals, FS))
    assert sorted(unit.id for unit in result.units) == ["det#ch0#0", "det#ch2#0"]
    assert result.polarity_used == {0: "negative", 1: "both", 2: "positive"}
    assert any("channel 1: flat signal" in warning for warning in result.warnings)
    only_two = detect_units(ArraySource(signals, FS), channel=2)
    assert [unit.id for unit in only_two.units] == ["det#ch2#0"]
    assert min(spike_agreement(only_two.units[0].spike_times, truths[1], TOLERANCE_S)) >= 0.95


def test_raw_file_and_neo_proxy_give_the_same_events(tmp_path):
    rng = np.random.default_rng(21)
    signals = np.stack([noisy_signal(rng, 3.0) for _ in range(2)], axis=1)
    add_spikes(signals[:, 1], spike_train(rng, 3.0, 10.0), -12.0)
    path = tmp_path / "rec.raw"
    np.round(signals * 20).astype(np.int16).tofile(path)
    raw = open_raw(path, RawLayout("int16", FS, n_channels=2))
    io = neo.io.RawBinarySignalIO(str(path), dtype="int16", sampling_rate=FS, nb_channel=2)
    proxy = io.read_block(lazy=True).segments[0].analogsignals[0]
    params = DetectParams(chunk_samples=10_000)
    neo_source = NeoSignalSource(proxy)
    assert isinstance(raw, SignalSource) and isinstance(neo_source, SignalSource)
    [from_raw] = detect_events(raw, channels=[1], params=params)
    [from_neo] = detect_events(neo_source, channels=[1], params=params)
    assert from_raw.sample_indices.size > 20
    np.testing.assert_array_equal(from_raw.sample_indices, from_neo.sample_indices)


def test_neo_voltages_are_read_in_microvolts():
    proxies = neo.io.ExampleIO("fake.fake").read_block(lazy=True).segments[0].analogsignals
    voltage, current = NeoSignalSource(proxies[0]), NeoSignalSource(proxies[2])
    assert (voltage.units, current.units) == ("uV", "pA")
    assert voltage.read(10, 30, [0, 3]).shape == (20, 2)


class GeneratedNoise:
    """A long signal made on demand (a repeated noise table plus a spike every 5000 samples)."""

    sampling_rate_hz = FS
    n_channels = 1
    t_start_s = 0.0
    units = ""
    table = np.random.default_rng(22).normal(0.0, 1.0, 2**16).astype(np.float32)

    def __init__(self, n_samples: int) -> None:
        self.n_samples = n_samples

    def read(self, start: int, stop: int, channels: list[int]) -> np.ndarray:
        values = np.resize(np.roll(self.table, -(start % self.table.size)), (stop - start, 1))
        values[(-start) % 5000 :: 5000] -= 30.0
        return values


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_recording_length():
    peaks = []
    for n_samples in (2_000_000, 8_000_000):
        tracemalloc.start()
        [found] = detect_events(GeneratedNoise(n_samples), params=DetectParams(chunk_samples=2**18))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert found.sample_indices.size >= n_samples // 5000 - 1
    signal_bytes = 8_000_000 * 4
    assert peaks[1] < 1.3 * peaks[0] and peaks[1] < 0.25 * signal_bytes


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (dict(band_hz=(300.0, 15000.0)), "Nyquist"),
        (dict(band_hz=(5000.0, 300.0)), "low < high"),
        (dict(threshold_mad=0), "threshold_mad"),
        (dict(dead_time_ms=-1.0), "dead_time_ms"),
        (dict(snippet_ms=1.0, snippet_pre_ms=2.0), "snippet_pre_ms"),
        (dict(chunk_samples=0), "chunk_samples"),
        (dict(chunk_samples=1.5), "chunk_samples"),
    ],
)
def test_bad_parameters_are_refused_in_one_line(params, fragment):
    with pytest.raises(BadParameterError, match=fragment) as caught:
        detect_units(ArraySource(np.zeros(1000), FS), params=DetectParams(**params))
    assert "\n" not in str(caught.value)


def test_bad_channels_and_empty_signals_are_refused():
    with pytest.raises(BadParameterError, match="channel 2 does not exist"):
        detect_units(ArraySource(np.zeros((100, 2)), FS), channel=2)
    with pytest.raises(BadParameterError, match="no samples"):
        detect_units(ArraySource(np.zeros(0), FS))


@pytest.mark.realdata
@pytest.mark.skipif(not LOCUST.exists(), reason=f"real recordings not present at {REALDATA}")
def test_locust_tetrode_has_large_units_on_channels_0_to_2():
    source = open_raw(LOCUST)
    result = detect_units(source)
    duration_s = source.n_samples / source.sampling_rate_hz
    for channel in (0, 1, 2):
        units = [unit for unit in result.units if unit.annotations["channel"] == channel]
        rate_hz = sum(unit.n_spikes for unit in units) / duration_s
        assert 6.0 <= rate_hz <= 24.0, (channel, rate_hz)  # README: about 12 events/s
        dominant = next(unit for unit in units if unit.annotations["dominant"])
        assert dominant.n_spikes / duration_s >= 4.0 and dominant.waveform_units == "adc"
