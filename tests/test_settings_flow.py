"""Every option group, set away from its default, reaches both the tables and the report.

The report once rebuilt its settings and showed default QC thresholds for a run made with
others. Here one batch is analysed with non-default QC, fit, time-course, group, epoch and
detection settings, and each is looked for where a reader meets it: ``params.json``, the
tables whose numbers it shapes, and the HTML report.
"""

from __future__ import annotations

import json
from pathlib import Path

import neo
import numpy as np
import pandas as pd
import pytest
import quantities as pq

import rapheunit
from rapheunit.simulate import simulate_recording, write_recording

SETTINGS = {
    "warn_presence_ratio": 0.99,  # QC
    "fail_presence_ratio": 0.98,
    "fit_confidence": 0.8,  # fit
    "timecourse_bin_s": 30.0,  # time course
    "group_confidence": 0.9,  # groups
    "n_bootstrap": 199,
    "baseline_s": 120.0,  # epochs
    "recovery_pct": 40.0,
    "threshold_mad": 6.0,  # detection
}
SAMPLING_HZ = 20_000.0


def _raw_signal_file(path: Path) -> Path:
    """A NIX file with one continuous channel: noise and a broad spike every ~0.8 s."""
    rng = np.random.default_rng(4)
    n_samples = int(40 * SAMPLING_HZ)
    signal = rng.normal(0.0, 10.0, n_samples)
    time_ms = np.arange(-1.0, 2.5, 1000.0 / SAMPLING_HZ)
    template = -120.0 * np.exp(-((time_ms / 0.3) ** 2)) + 50.0 * np.exp(
        -(((time_ms - 0.9) / 0.5) ** 2)
    )
    for start in np.arange(0.5, 39.0, 0.8):
        first = int(start * SAMPLING_HZ)
        signal[first : first + template.size] += template
    segment = neo.Segment()
    segment.analogsignals.append(
        neo.AnalogSignal(signal.reshape(-1, 1) * pq.uV, sampling_rate=SAMPLING_HZ * pq.Hz,
                         name="electrode")
    )
    block = neo.Block()
    block.segments.append(segment)
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, rapheunit.BatchResult]:
    folder = tmp_path_factory.mktemp("settings")
    inputs = folder / "inputs"
    inputs.mkdir()
    metadata = []
    for k in range(4):
        recording, truth = simulate_recording(
            f"rec{k}", ["5ht_clock", "5ht_clock"], seed=40 + k, with_waveforms=False
        )
        write_recording(recording, truth, inputs, "csv")
        metadata.append({"recording": f"rec{k}", "animal": f"rat{k}", "group": "ab"[k % 2]})
    _raw_signal_file(inputs / "raw_electrode.nix")
    pd.DataFrame(metadata).to_csv(folder / "animals.csv", index=False)
    out = folder / "out"
    result = rapheunit.analyze(
        inputs, out=out, metadata=folder / "animals.csv", group_by="group", **SETTINGS
    )
    return out, result


def _report(out: Path, recording: str) -> str:
    return (out / "reports" / f"{recording}.html").read_text()


def test_params_json_holds_every_setting(batch) -> None:
    out, _ = batch
    params = json.loads((out / "params.json").read_text())
    flat = json.dumps(params)
    for value in SETTINGS.values():
        assert json.dumps(value) in flat


def test_qc_thresholds_reach_the_report(batch) -> None:
    out, _ = batch
    html = _report(out, "rec0")
    assert "presence_ratio &lt; 0.99" in html
    assert "presence_ratio &lt; 0.98" in html
    assert "presence_ratio &lt; 0.9<" not in html  # the default rule is gone


def test_fit_confidence_reaches_the_tables_and_the_report(batch) -> None:
    out, _ = batch
    units = pd.read_csv(out / "units.csv")
    fitted = units[units["fit_status"] == "ok"]
    assert len(fitted) and (fitted["ed50_ci_level"] == 0.8).all()
    assert "ed50_ci_level" in _report(out, "rec0")


def test_epochs_and_recovery_reach_the_tables(batch) -> None:
    out, _ = batch
    units = pd.read_csv(out / "units.csv")
    simulated = units[units["recording"].str.startswith("rec")]
    length = simulated["baseline_stop_s"] - simulated["baseline_start_s"]
    assert np.allclose(length, 120.0)
    assert "&#34;recovery_pct&#34;: 40.0" in _report(out, "rec0")


def test_timecourse_bins_reach_the_tables_and_the_report(batch) -> None:
    out, _ = batch
    course = pd.read_csv(out / "timecourse.csv")
    assert len(course) and np.allclose(course["bin_stop_s"] - course["bin_start_s"], 30.0)
    assert "Firing in 30 s bins" in _report(out, "rec0")


def test_group_settings_reach_the_groups_table(batch) -> None:
    out, _ = batch
    groups = pd.read_csv(out / "groups.csv")
    assert len(groups) and (groups["confidence"] == 0.9).all()


def test_detection_threshold_reaches_the_tables_and_the_report(batch) -> None:
    out, _ = batch
    units = pd.read_csv(out / "units.csv")
    detected = units[units["recording"] == "raw_electrode"]
    assert len(detected)
    assert np.allclose(detected["detection_threshold"], 6.0 * detected["noise_mad"])
    html = _report(out, "raw_electrode")
    assert "(6 &times; noise SD" in html


def test_the_report_says_which_units_left_the_population_and_why(tmp_path: Path) -> None:
    steady = np.arange(0.4, 1200.0, 0.8)  # regular 1.25 Hz, no drug effect
    lost = np.arange(0.3, 700.0, 0.8)  # silent from 700 s, after the antagonist too
    rows = [("steady", t) for t in steady] + [("lost", t) for t in lost]
    pd.DataFrame(rows, columns=["unit", "time_s"]).to_csv(tmp_path / "cell.csv", index=False)
    (tmp_path / "cell.doses.csv").write_text(
        "time_s,drug,dose,unit\n300,ipsapirone,5,ug/kg\n480,ipsapirone,5,ug/kg\n"
        "660,ipsapirone,10,ug/kg\n840,ipsapirone,20,ug/kg\n1020,WAY-100635,100,ug/kg\n"
    )
    out = tmp_path / "out"
    rapheunit.analyze(tmp_path / "cell.csv", out=out)
    units = pd.read_csv(out / "units.csv", keep_default_na=False).set_index("unit")
    assert units.loc["lost", "fit_status"] == "unit_lost"
    assert "unit_lost" in units.loc["lost", "population_exclusion"]
    html = _report(out, "cell")
    lost_section = html[html.index("<h2>Unit lost"):]
    assert "<tr><th>in_population</th><td>no</td></tr>" in lost_section
    assert "unit_lost" in lost_section.split("<h3>Quality control</h3>")[0]
