"""End to end on recordings/: the verdicts and ED50s match the simulator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import RECORDINGS
from rapheunit import analyze


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    analyze(RECORDINGS, out=out)
    return out, json.loads((RECORDINGS / "truth.json").read_text())


def _truth_units(truth: dict) -> pd.DataFrame:
    rows = [
        {"recording": name, "unit": unit_id, **facts}
        for name, recording in truth.items()
        if isinstance(recording, dict) and "units" in recording
        for unit_id, facts in recording["units"].items()
    ]
    return pd.DataFrame(rows)


def test_every_example_recording_is_analysed(demo: tuple[Path, dict]) -> None:
    out, truth = demo
    recordings = pd.read_csv(out / "recordings.csv")
    assert (recordings["status"] == "ok").all(), recordings["error"].tolist()
    expected = _truth_units(truth)
    units = pd.read_csv(out / "units.csv").drop_duplicates(["recording", "unit"])
    assert len(units) == len(expected)
    for name in ("summary", "population", "doses"):
        assert len(pd.read_csv(out / f"{name}.csv")) > 0


def test_verdicts_and_ed50s_match_truth(demo: tuple[Path, dict]) -> None:
    out, truth = demo
    units = pd.read_csv(out / "units.csv")
    merged = units.merge(_truth_units(truth), on=["recording", "unit"], suffixes=("", "_true"))
    assert (merged["classification"] == merged["expected_class"]).all()
    responders = merged[merged["responds"].astype(bool) & (merged["drug"] == "ipsapirone")]
    fitted = responders[responders["fit_status"] == "ok"]
    assert len(fitted) >= len(responders) - 1
    ratio = fitted["ed50"] / fitted["ed50_ug_kg"]
    assert np.all((ratio > 1 / 2) & (ratio < 2)), ratio.tolist()
