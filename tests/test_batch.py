"""Batch execution: parallel, Dask and resumed runs give the serial tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapheunit import analyze
from rapheunit.cli import main
from rapheunit.run.batch import PARTS_FOLDER


def _write_inputs(folder: Path, n_recordings: int = 6) -> Path:
    rng = np.random.default_rng(7)
    folder.mkdir()
    for index in range(n_recordings):
        rows = []
        for unit in range(1 + index % 3):
            times = np.cumsum(rng.gamma(10.0, 0.1 / (unit + 1), size=800))
            rows += [f"u{unit},{t:.6f}\n" for t in times]
        (folder / f"rec{index:02d}.csv").write_text("unit,time_s\n" + "".join(rows))
        (folder / f"rec{index:02d}.doses.csv").write_text(
            "time_s,drug,dose,unit\n200,ipsapirone,5,ug/kg\n260,ipsapirone,5,ug/kg\n"
        )
    (folder / "broken.csv").write_text("unit,time_s\nu0,not-a-number\n")
    return folder


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(out / f"{name}.csv") for name in ("recordings", "units", "doses")}


def _assert_same(first: Path, second: Path) -> None:
    for name, table in _tables(first).items():
        pd.testing.assert_frame_equal(table, _tables(second)[name], obj=name)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_inputs(tmp_path_factory.mktemp("batch") / "data")


@pytest.fixture(scope="module")
def serial(inputs: Path) -> Path:
    out = inputs.parent / "serial"
    analyze(inputs, out=out, jobs=1)
    return out


def test_parallel_equals_serial_and_reports_failure(inputs: Path, serial: Path) -> None:
    out = inputs.parent / "parallel"
    batch = analyze(inputs, out=out, jobs=2)
    _assert_same(serial, out)
    assert batch.n_failed == 1
    failed = batch.recordings[batch.recordings["status"] == "failed"]
    assert failed["recording"].tolist() == ["broken"]
    assert (batch.recordings["status"] == "ok").sum() == 6


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(inputs: Path, serial: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        out = inputs.parent / "dask"
        analyze(inputs, out=out, scheduler=client)
        _assert_same(serial, out)
        out_by_address = inputs.parent / "dask_address"
        analyze(inputs, out=out_by_address, scheduler=cluster.scheduler_address)
        _assert_same(serial, out_by_address)


def test_resume_after_interruption(inputs: Path, serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    first_half = sorted(inputs.glob("rec0[0-2].csv"))
    analyze(first_half, out=out)  # an interrupted run: parts for three inputs only
    for table in out.glob("*.csv"):
        table.unlink()  # killed before the final tables were written
    parts_before = {p.name: p.stat().st_mtime_ns for p in (out / PARTS_FOLDER).iterdir()}
    assert len(parts_before) == 3
    analyze(inputs, out=out, resume=True, jobs=2)
    _assert_same(serial, out)
    parts_after = {p.name: p.stat().st_mtime_ns for p in (out / PARTS_FOLDER).iterdir()}
    assert {k: parts_after[k] for k in parts_before} == parts_before  # reused, not redone
    assert len(parts_after) == 6  # the failed input leaves no part


def test_resume_recomputes_when_parameters_change(inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "changed"
    analyze(inputs, out=out)
    batch = analyze(inputs, out=out, resume=True, baseline_s=100.0)
    assert set(batch.units["baseline_start_s"]) == {100.0}


def test_cli_jobs_resume_and_parquet(inputs: Path, serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["analyze", str(inputs), "--out", str(out), "--jobs", "2", "--quiet"]
    assert main([*args, "--format", "parquet"]) == 1  # broken.csv fails
    _assert_same(serial, out)
    # CSV reads empty text as NaN; Parquet keeps it: compare with the tables in memory.
    in_memory = analyze(inputs, jobs=1).units
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "units.parquet"), in_memory, check_dtype=False
    )
    assert main([*args, "--resume"]) == 1
    _assert_same(serial, out)


def test_bad_jobs_is_a_usage_error(inputs: Path, tmp_path: Path) -> None:
    assert main(["analyze", str(inputs), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2


@pytest.mark.parametrize(
    "names",
    [("drn01_5ht_clock.nix", "drn03_mixed.nwb", "drn04_slow_irregular.csv"),
     ("drn04_slow_irregular.csv",)],
    ids=["every format", "spike tables only"],
)
def test_a_batch_imports_up_front_what_the_analysis_imports_on_first_use(
    names: tuple[str, ...],
) -> None:
    # In a fresh interpreter: after the batch's up-front imports, analysing one recording of
    # each format loads nothing more from the heavy libraries (else it escapes the frozen heap
    # and is imported again by every worker).
    heavy = ("elephant", "scipy", "quantities", "neo", "nixio", "pynwb", "hdmf", "h5py")
    folder = Path(__file__).parents[1] / "recordings"
    recordings = [folder / name for name in names]
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from importlib import import_module\n"
        "from rapheunit.run.batch import first_use_imports\n"
        "from rapheunit.run.pipeline import analyze_recording\n"
        "from rapheunit.run.options import AnalysisOptions\n"
        f"paths = [Path(p) for p in {[str(p) for p in recordings]!r}]\n"
        "for module in first_use_imports(paths):\n"
        "    import_module(module)\n"
        "before = set(sys.modules)\n"
        "results = [analyze_recording(path, AnalysisOptions()) for path in paths]\n"
        "assert all(result.ok for result in results), [r.recording_row for r in results]\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    lines = output.strip().splitlines()
    new, loaded = json.loads(lines[-2]), json.loads(lines[-1])
    assert not [name for name in new if name.split(".")[0] in heavy], new
    # a batch of spike tables has no waveforms: it does not pay for the spline and smoothing
    waveform_modules = {"scipy.interpolate", "scipy.ndimage"}
    assert waveform_modules.isdisjoint(loaded) == all(name.endswith(".csv") for name in names)


def test_waveforms_are_measured_once_per_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapheunit.core.model import Injection, Recording, Unit
    from rapheunit.measures import analysis, classify, qc_metrics, waveform
    from rapheunit.run.pipeline import measure

    calls: list[str] = []
    original = waveform.unit_waveform_features

    def counted(unit: Unit, *window: float | None) -> waveform.WaveformFeatures:
        calls.append(unit.id)
        return original(unit, *window)

    for module in (analysis, classify, qc_metrics):
        monkeypatch.setattr(module, "unit_waveform_features", counted)
    rng = np.random.default_rng(0)
    template = -np.hanning(40)
    units = [Unit(f"u{k}", np.sort(rng.uniform(0.0, 600.0, 400)),
                  np.tile(template, (400, 1)) * 80.0 + rng.normal(0.0, 2.0, (400, 40)),
                  20_000.0, "uV") for k in range(3)]
    recording = Recording("r", Path("r.nix"), 0.0, 600.0, units,
                          [Injection(300.0, "ipsapirone", 5.0, "ug/kg", 5.0)])
    analysis_result = measure(recording)
    assert sorted(calls) == ["u0", "u1", "u2"]  # verdicts, QC and report share one
    assert set(analysis_result.waveforms) == {"u0", "u1", "u2"}


@pytest.mark.parametrize("collecting", [True, False])
def test_recordings_are_analysed_with_the_collector_on_and_its_state_is_restored(
    collecting: bool,
) -> None:
    # the console script switches the collector off while it imports; a batch's recordings
    # (which make reference cycles) must still be collected, and the caller's state come back
    import gc

    from rapheunit.run.batch import frozen_heap

    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        with frozen_heap():
            assert gc.isenabled() and gc.get_freeze_count() > 0
        assert gc.isenabled() == collecting and gc.get_freeze_count() == 0
    finally:
        (gc.enable if was else gc.disable)()
