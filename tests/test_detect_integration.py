"""Detected units flow through load, the tables and the CLI like sorted ones."""

from __future__ import annotations

import json
from pathlib import Path

import neo
import numpy as np
import pandas as pd
import pytest
import quantities as pq

from conftest import REALDATA, make_block, requires_realdata, write_nix
from rapheunit import load
from rapheunit.cli import main
from rapheunit.core.errors import UnreadableFileError
from rapheunit.detection.detect import spike_agreement

SAMPLING_RATE_HZ = 20_000.0


def _signal_with_spikes(
    duration_s: float, rate_hz: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian noise (SD 10 uV) with a -120 uV biphasic spike at regular times."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(0.0, 10.0, int(duration_s * SAMPLING_RATE_HZ))
    spike_times = np.arange(0.05, duration_s - 0.01, 1.0 / rate_hz) + rng.uniform(0, 0.01)
    samples = np.arange(24)
    shape = -120.0 * np.exp(-(((samples - 6) / 2.0) ** 2)) + 40.0 * np.exp(
        -(((samples - 14) / 4.0) ** 2)
    )
    for index in (spike_times * SAMPLING_RATE_HZ).astype(int):
        signal[index : index + 24] += shape
    peak_offset_s = int(np.argmax(np.abs(shape))) / SAMPLING_RATE_HZ
    return signal, spike_times + peak_offset_s


def test_file_without_spike_trains_gets_detected_units(tmp_path: Path) -> None:
    signal, truth = _signal_with_spikes(20.0, 2.0, seed=1)
    segment = neo.Segment()
    segment.analogsignals.append(
        neo.AnalogSignal(signal[:, None] * pq.uV, sampling_rate=SAMPLING_RATE_HZ * pq.Hz, name="Vm")
    )
    segment.events.append(
        neo.Event([10.0] * pq.s, labels=np.array(["ipsapirone 5 ug/kg"]), name="Markers")
    )
    rec = load(write_nix(make_block(segment), tmp_path / "signal.nix"))
    dominant = [u for u in rec.units if u.annotations["dominant"]]
    assert [u.id for u in dominant] == ["Vm#ch0#0"]
    precision, recall = spike_agreement(dominant[0].spike_times, truth, 0.0005)
    assert precision > 0.97 and recall > 0.97
    assert dominant[0].waveforms.shape[0] == dominant[0].n_spikes
    assert [i.time_s for i in rec.injections] == [10.0]  # markers survive detection
    assert len(rec.detections) == 1 and rec.detections[0].excerpts


def test_raw_file_through_the_cli(tmp_path: Path) -> None:
    signal, truth = _signal_with_spikes(30.0, 3.0, seed=2)
    raw = tmp_path / "cell.dat"
    np.round(signal * 4).astype(np.int16).tofile(raw)  # 0.25 uV per count
    out = tmp_path / "out"
    flags = ["--raw-dtype", "int16", "--raw-sampling-rate", str(SAMPLING_RATE_HZ),
             "--raw-channels", "1", "--quiet"]
    assert main(["analyze", str(raw), "--out", str(out), *flags]) == 0
    units = pd.read_csv(out / "units.csv")
    dominant = units[units["dominant"]]
    assert len(dominant) == 1
    assert dominant["n_spikes"].iloc[0] == pytest.approx(truth.size, abs=2)
    assert {"l_ratio", "isolation_confidence", "detection_threshold"} <= set(units.columns)


def test_raw_layout_from_sidecar_and_bad_layout(tmp_path: Path) -> None:
    raw = tmp_path / "cell.raw"
    np.zeros(1001, dtype=np.int16).tofile(raw)
    (tmp_path / "cell.raw.json").write_text(
        json.dumps({"dtype": "int16", "sampling_rate_hz": 10000.0, "n_channels": 2})
    )
    with pytest.raises(UnreadableFileError) as caught:
        load(raw)
    assert "cell.raw" in str(caught.value) and "\n" not in str(caught.value)


@requires_realdata
def test_real_locust_tetrode_has_units_on_channels_0_to_2() -> None:
    rec = load(REALDATA / "tridesclous" / "locust_trial_01.raw")
    assert rec.t_stop == pytest.approx(28.8, abs=0.05)
    for channel in (0, 1, 2):
        on_channel = [u for u in rec.units if u.annotations["channel"] == channel]
        events_per_s = sum(u.n_spikes for u in on_channel) / rec.duration_s
        assert 6.0 < events_per_s < 30.0
        assert sum(u.annotations["dominant"] for u in on_channel) == 1
