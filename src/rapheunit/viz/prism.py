"""Prism-ready wide tables: cumulative doses as rows, units as columns, one table per drug.

GraphPad Prism's XY tables take one X column and one Y column per replicate;
``doses.csv`` is long (one row per unit and injection). These tables only
reshape ``doses.csv``: nothing is recomputed, so a cell is exactly the value
of its row there. With a grouping column the unit columns are ordered by
group and their header says the group (``group | recording/unit``), the layout
Prism's grouped tables paste from.

Written to ``OUT/prism/<drug>_<measure>.csv`` and, when ``openpyxl`` is
installed (``rapheunit[xlsx]``), as sheets of one ``OUT/prism/prism.xlsx``.
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from rapheunit.io.output import write_atomic, write_csv

PRISM_DIR = "prism"
WORKBOOK_NAME = "prism.xlsx"
# The two per-dose measures of doses.csv a lab plots: normalised and raw.
PRISM_MEASURES = ("pct_baseline", "rate_hz")
# Excel refuses sheet names longer than 31 characters.
_SHEET_NAME_MAX = 31


def wide_table(doses: pd.DataFrame, drug: str, measure: str,
               group_by: str | None = None) -> pd.DataFrame:
    """One drug's ``measure`` with cumulative doses as rows and units as columns.

    Parameters
    ----------
    doses : pandas.DataFrame
        ``doses.csv`` rows.
    drug : str
        The drug whose rows are taken.
    measure : str
        A column of ``doses``, e.g. ``pct_baseline`` or ``rate_hz``.
    group_by : str, optional
        A column of ``doses``; its value prefixes each unit's header and
        orders the columns by group.

    Returns
    -------
    pandas.DataFrame
        First column ``cumulative_dose (<unit>)``, then one column per unit;
        an empty cell where a unit did not get that dose.
    """
    rows = doses[doses["drug"] == drug]
    grouped = group_by is not None and group_by in rows.columns
    label = rows["recording"].astype(str) + "/" + rows["unit"].astype(str)
    if grouped:
        label = rows[group_by].astype(str) + " | " + label
    wide = (rows.assign(_column=label)
            .pivot_table(index="cumulative_dose", columns="_column", values=measure,
                         aggfunc="first", dropna=False, sort=True))
    dose_unit = str(rows["dose_unit"].dropna().iloc[0]) if rows["dose_unit"].notna().any() else ""
    wide.columns.name = None
    wide = wide.reset_index().rename(
        columns={"cumulative_dose": f"cumulative_dose ({dose_unit})" if dose_unit
                 else "cumulative_dose"})
    return wide


def prism_tables(doses: pd.DataFrame, group_by: str | None = None) -> dict[str, pd.DataFrame]:
    """Every drug's wide tables by name ``<drug>_<measure>`` (see :func:`wide_table`)."""
    if doses.empty or "drug" not in doses.columns:
        return {}
    return {
        f"{_safe(drug)}_{measure}": wide_table(doses, drug, measure, group_by)
        for drug in sorted(doses["drug"].dropna().astype(str).unique())
        for measure in PRISM_MEASURES
    }


def write_prism_tables(doses: pd.DataFrame, out: str | Path,
                       group_by: str | None = None) -> list[Path]:
    """Write ``out/prism/<drug>_<measure>.csv`` and, with ``openpyxl``, ``prism.xlsx``.

    Returns the paths written (none when ``doses`` is empty).
    """
    tables = prism_tables(doses, group_by)
    if not tables:
        return []
    folder = Path(out) / PRISM_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_csv(table, folder / f"{name}.csv") for name, table in tables.items()]
    if find_spec("openpyxl") is not None:
        paths.append(write_atomic(folder / WORKBOOK_NAME, lambda tmp: _write_xlsx(tables, tmp)))
    return paths


def _write_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in tables.items():
            table.to_excel(writer, sheet_name=name[:_SHEET_NAME_MAX], index=False)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-") or "drug"
