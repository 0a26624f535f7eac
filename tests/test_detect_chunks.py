"""Chunked detection equals detection on the whole trace, on raw and NIX files (issue #17).

The reference is computed here with scipy.signal on the whole trace at once, not through
the package's helpers, so a chunk-edge error in the package cannot hide in both sides.
"""

from __future__ import annotations

import json
from pathlib import Path

import neo
import numpy as np
import pytest
import quantities as pq
from scipy.signal import butter, sosfiltfilt

from rapheunit.detection.detect import ArraySource, DetectParams, detect_events, detect_units
from rapheunit.detection.rawfile import open_raw
from rapheunit.io.readers import signals
from rapheunit.io.readers.neo_files import open_neo_io

FS = 20_000.0
N_SAMPLES = 600_000  # 30 s: three chunks of the default 2**18 samples
NOISE_SD = 10.0  # ADC counts
SPIKE_AMPLITUDE = 120.0  # trough depth, ADC counts (about 12 noise SDs)
MIN_GAP_S = 0.01
TOLERANCE_S = 0.5e-3
SMALL_CHUNK = 7_001  # odd, far below the filter margin times ten: ~86 chunks


def _spike_shape() -> np.ndarray:
    """A 2.5 ms biphasic spike whose trough is at sample 10 (0.5 ms)."""
    t_ms = np.arange(50) / FS * 1e3
    return -np.exp(-0.5 * ((t_ms - 0.5) / 0.12) ** 2) + 0.3 * np.exp(
        -0.5 * ((t_ms - 1.1) / 0.3) ** 2
    )


def simulated_trace(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Noise, a slow drift and spikes at known times; the int16 trace and the trough times (s)."""
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.uniform(MIN_GAP_S, 0.2, 400) * FS).astype(np.int64) + 500
    starts = starts[starts < N_SAMPLES - 500]
    trace = rng.normal(0.0, NOISE_SD, N_SAMPLES)
    trace += 20 * NOISE_SD * np.sin(2 * np.pi * 1.3 * np.arange(N_SAMPLES) / FS)
    shape = SPIKE_AMPLITUDE * _spike_shape()
    for start in starts:
        trace[start : start + shape.size] += shape
    return np.round(trace).astype(np.int16), (starts + 10) / FS


def write_raw_file(folder: Path, trace: np.ndarray) -> Path:
    path = folder / "sim.raw"
    trace.tofile(path)
    layout = {"dtype": "int16", "sampling_rate_hz": FS, "n_channels": 1}
    (folder / "sim.raw.json").write_text(json.dumps(layout))
    return path


def whole_trace_events(
    trace: np.ndarray, threshold: float, params: DetectParams
) -> tuple[np.ndarray, np.ndarray]:
    """Events of the whole trace filtered at once: extrema of |x| beyond the threshold that no
    larger one (nor an equal earlier one) lies within the dead time of; and the filtered trace."""
    sos = butter(params.filter_order, params.band_hz, "bandpass", fs=FS, output="sos")
    filtered = sosfiltfilt(sos.astype(np.float32), trace.astype(np.float32))
    strength = np.abs(filtered)
    dead = round(params.dead_time_ms * FS / 1000)
    candidates = [
        index
        for index in np.flatnonzero(strength > threshold)
        if 0 < index < strength.size - 1
        and strength[index] > strength[index - 1]
        and strength[index] >= strength[index + 1]
    ]
    kept = []
    for index in candidates:
        rivals = [other for other in candidates if other != index and abs(other - index) <= dead]
        if all(
            strength[other] < strength[index]
            or (strength[other] == strength[index] and other > index)
            for other in rivals
        ):
            kept.append(index)
    return np.asarray(kept, dtype=np.int64), filtered


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    trace, truth_s = simulated_trace()
    return write_raw_file(tmp_path_factory.mktemp("raw"), trace), trace, truth_s


def test_chunked_events_of_a_raw_file_equal_the_whole_trace_and_the_truth(simulated):
    path, trace, truth_s = simulated
    params = DetectParams(polarity="both")
    [found] = detect_events(open_raw(path), params=params)
    expected, filtered = whole_trace_events(trace, found.threshold, params)

    np.testing.assert_array_equal(found.sample_indices, expected)
    # Snippets are the whole-trace filtered signal around each event (float32 rounding apart).
    pre = found.peak_index
    cut = np.stack([filtered[i - pre : i - pre + found.snippets.shape[1]] for i in expected])
    np.testing.assert_allclose(found.snippets, cut, rtol=0, atol=1e-3 * found.threshold)
    # The threshold is 5 x the MAD noise of the filtered trace, estimated on windows.
    whole_noise = np.median(np.abs(filtered)) / 0.6745
    assert found.threshold == pytest.approx(params.threshold_mad * whole_noise, rel=0.05)
    # Every simulated spike is found at its trough, and nothing else.
    detected_s = found.sample_indices / FS
    assert detected_s.size == truth_s.size
    np.testing.assert_allclose(detected_s, truth_s, atol=TOLERANCE_S)


def test_many_small_chunks_give_the_same_units_as_one_chunk(simulated):
    path, _, truth_s = simulated
    one = detect_units(open_raw(path), params=DetectParams(chunk_samples=N_SAMPLES))
    many = detect_units(open_raw(path), params=DetectParams(chunk_samples=SMALL_CHUNK))
    default = detect_units(open_raw(path))  # 2**18 samples: three chunks

    assert N_SAMPLES // SMALL_CHUNK > 50
    for run in (many, default):
        assert [unit.id for unit in run.units] == [unit.id for unit in one.units]
        for unit, reference in zip(run.units, one.units, strict=True):
            np.testing.assert_array_equal(unit.spike_times, reference.spike_times)
            np.testing.assert_allclose(unit.waveforms, reference.waveforms, atol=1e-3)
        assert run.threshold == one.threshold
    all_times = np.sort(np.concatenate([unit.spike_times for unit in one.units]))
    np.testing.assert_allclose(all_times, truth_s, atol=TOLERANCE_S)


def test_a_nix_signal_is_read_lazily_and_gives_the_array_result(simulated, tmp_path, monkeypatch):
    _, trace, _ = simulated
    microvolts = (0.195 * trace).astype(np.float32)
    segment = neo.Segment()
    segment.analogsignals.append(
        neo.AnalogSignal(microvolts[:, None], units="uV", sampling_rate=FS * pq.Hz, name="Vm")
    )
    block = neo.Block()
    block.segments.append(segment)
    path = tmp_path / "sim.nix"
    with neo.io.NixIO(str(path), mode="ow") as nix_file:
        nix_file.write_block(block)

    def loaded_whole(signal: object) -> None:
        raise AssertionError("the NIX signal was loaded whole")

    monkeypatch.setattr(signals, "_loaded_source", loaded_whole)
    options = signals.DetectOptions(detect=True, params=DetectParams(chunk_samples=SMALL_CHUNK))
    content = signals.detect_in_neo(path, open_neo_io(path, "NixIO"), options)
    expected = detect_units(ArraySource(microvolts, FS, units="uV"), unit_prefix="Vm")

    assert content.reader == "NixIO"
    assert [unit.id for unit in content.units] == [unit.id for unit in expected.units]
    for unit, reference in zip(content.units, expected.units, strict=True):
        np.testing.assert_array_equal(unit.spike_times, reference.spike_times)


def _signal_only_nix(path: Path, trace: np.ndarray) -> Path:
    """A NIX file holding ``trace`` as its only signal (no spike trains)."""
    segment = neo.Segment()
    segment.analogsignals.append(
        neo.AnalogSignal(trace[:, None].astype(np.float32), units="uV", sampling_rate=FS * pq.Hz)
    )
    block = neo.Block()
    block.segments.append(segment)
    with neo.io.NixIO(str(path), mode="ow") as nix_file:
        nix_file.write_block(block)
    return path


def test_a_nix_file_without_spike_trains_is_detected_lazily_without_the_flag(
    simulated, tmp_path, monkeypatch
):
    from rapheunit.io.load import load

    _, trace, _ = simulated
    path = _signal_only_nix(tmp_path / "signal_only.nix", trace)
    monkeypatch.setattr(signals, "_loaded_source", lambda signal: pytest.fail("loaded whole"))
    from rapheunit.io import load as load_module

    # the simulated file is small: treat it as one large enough for the header check
    monkeypatch.setattr(load_module, "LAZY_CHECK_MIN_BYTES", 0)

    recording = load(path)  # no --detect: the file has no spike trains
    expected = detect_units(ArraySource(trace.astype(np.float32), FS, units="uV"))
    assert recording.units and len(recording.units) == len(expected.units)
    for unit, reference in zip(recording.units, expected.units, strict=True):
        np.testing.assert_array_equal(unit.spike_times, reference.spike_times)


def test_a_small_nix_file_is_read_at_once_without_a_header_check(simulated, tmp_path,
                                                                 monkeypatch):
    from rapheunit.io.load import load

    _, trace, _ = simulated
    path = _signal_only_nix(tmp_path / "small.nix", trace)
    from rapheunit.io import load as load_module

    monkeypatch.setattr(load_module, "has_spike_trains",
                        lambda *args: pytest.fail("header checked"))
    recording = load(path)  # detected all the same, from the signals read whole
    expected = detect_units(ArraySource(trace.astype(np.float32), FS, units="uV"))
    assert [u.spike_times.size for u in recording.units] == [
        u.spike_times.size for u in expected.units]
