"""A spike table carries no bounds: its span must not shrink with one unit's silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rapheunit


def _write(folder: Path, units: dict[str, np.ndarray], doses: str) -> Path:
    rows = [(name, t) for name, times in units.items() for t in times]
    table = pd.DataFrame(rows, columns=["unit", "time_s"])
    path = folder / "cell.csv"
    table.to_csv(path, index=False)
    (folder / "cell.doses.csv").write_text("time_s,drug,dose,unit\n" + doses)
    return path


def test_the_span_is_the_recordings_and_a_unit_silent_to_the_end_is_flagged(
    tmp_path: Path,
) -> None:
    steady = np.arange(0.5, 900.0, 1.0)  # fires to 899.5 s
    lost = np.arange(0.25, 400.0, 1.0)  # silent from 399.25 s
    path = _write(tmp_path, {"steady": steady, "lost": lost}, "300,ipsapirone,5,ug/kg\n")
    batch = rapheunit.analyze(path)
    assert batch.recordings.loc[0, "duration_s"] == pytest.approx(899.5)
    units = batch.units.set_index("unit")
    # silent from 399 s to the end after the agonist, with no antagonist to tell: flagged
    assert bool(units.loc["lost", "silent_to_end_no_antagonist"])
    assert "silent_to_end" in units.loc["lost", "qc_flags"]
    assert units.loc["steady", "final_silence_s"] == 0.0


def test_the_span_reaches_the_last_injection(tmp_path: Path) -> None:
    spikes = np.arange(0.5, 400.0, 1.0)
    path = _write(tmp_path, {"u": spikes}, "200,ipsapirone,5,ug/kg\n450,WAY-100635,100,ug/kg\n")
    batch = rapheunit.analyze(path)
    assert batch.recordings.loc[0, "duration_s"] == pytest.approx(450.0)


def test_a_metadata_end_gives_the_true_span(tmp_path: Path) -> None:
    spikes = np.arange(0.5, 600.0, 0.5)  # 2 Hz to 599.5 s, then the table says nothing more
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = _write(inputs, {"u": spikes}, "300,ipsapirone,5,ug/kg\n")
    metadata = tmp_path / "animals.csv"
    pd.DataFrame({"recording": ["cell"], "animal": ["rat1"], "t_stop_s": [900.0]}).to_csv(
        metadata, index=False
    )
    batch = rapheunit.analyze(path, metadata=metadata)
    assert batch.recordings.loc[0, "duration_s"] == pytest.approx(900.0)
    dose = batch.doses.iloc[0]
    assert (dose["window_start_s"], dose["window_stop_s"]) == (840.0, 900.0)
    assert dose["rate_hz"] == 0.0  # the unit fell silent: the window says so
    assert batch.units.loc[0, "final_silence_s"] == pytest.approx(300.5)
    assert "silent_to_end" in batch.units.loc[0, "qc_flags"]
