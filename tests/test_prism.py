"""Prism-ready wide tables, read back and checked against doses.csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapheunit import analyze

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name in ("drn04_slow_irregular.csv", "drn04_slow_irregular.doses.csv",
                 "drn05_burst_fast.csv", "drn05_burst_fast.doses.csv"):
        shutil.copy(RECORDINGS / name, folder / name)
    out = tmp_path_factory.mktemp("out")
    analyze(folder, out=out, report=False)
    return out


def _long(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "doses.csv")


@pytest.mark.parametrize("measure", ["pct_baseline", "rate_hz"])
def test_every_cell_is_its_doses_row(analysed: Path, measure: str) -> None:
    doses = _long(analysed)
    drugs = sorted(doses["drug"].unique())
    assert "ipsapirone" in drugs
    for drug in drugs:
        wide = pd.read_csv(analysed / "prism" / f"{drug}_{measure}.csv")
        rows = doses[doses["drug"] == drug]
        dose_column = wide.columns[0]
        assert dose_column == f"cumulative_dose ({rows['dose_unit'].iloc[0]})"
        assert list(wide[dose_column]) == sorted(rows["cumulative_dose"].unique())
        expected_units = {f"{r}/{u}" for r, u in zip(rows["recording"], rows["unit"], strict=True)}
        assert set(wide.columns[1:]) == expected_units
        for row in rows.itertuples():
            cell = wide.loc[wide[dose_column] == row.cumulative_dose, f"{row.recording}/{row.unit}"]
            assert len(cell) == 1
            np.testing.assert_allclose(cell.iloc[0], getattr(row, measure), rtol=1e-12)
        # every filled cell comes from a doses.csv row, nothing more
        assert int(wide.iloc[:, 1:].notna().sum().sum()) == int(rows[measure].notna().sum())


def test_workbook_holds_the_same_tables(analysed: Path) -> None:
    pytest.importorskip("openpyxl")
    sheets = pd.read_excel(analysed / "prism" / "prism.xlsx", sheet_name=None)
    csvs = sorted(p.stem for p in (analysed / "prism").glob("*.csv"))
    assert sorted(sheets) == csvs
    for name, sheet in sheets.items():
        pd.testing.assert_frame_equal(sheet, pd.read_csv(analysed / "prism" / f"{name}.csv"),
                                      check_dtype=False)


def test_grouped_columns_are_ordered_and_labelled_by_group() -> None:
    from rapheunit.viz.prism import wide_table

    doses = pd.DataFrame({
        "recording": ["r2", "r2", "r1", "r1", "r3"],
        "unit": ["a", "a", "b", "b", "c"],
        "drug": ["ipsapirone"] * 5,
        "dose_unit": ["ug/kg"] * 5,
        "cumulative_dose": [5.0, 10.0, 5.0, 10.0, 5.0],
        "pct_baseline": [90.0, 50.0, 80.0, 40.0, 70.0],
        "genotype": ["wt", "wt", "ko", "ko", "wt"],
    })
    wide = wide_table(doses, "ipsapirone", "pct_baseline", group_by="genotype")
    assert list(wide.columns) == ["cumulative_dose (ug/kg)", "ko | r1/b", "wt | r2/a", "wt | r3/c"]
    assert list(wide["wt | r2/a"]) == [90.0, 50.0]
    assert wide["wt | r3/c"].iloc[0] == 70.0 and np.isnan(wide["wt | r3/c"].iloc[1])
