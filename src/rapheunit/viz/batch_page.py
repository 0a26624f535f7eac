"""The population result on the batch index: what a PI reads first.

Per dose-response drug (and group) of ``summary.csv``: the population
dose-response figure (mean +/- SEM per cumulative dose, the pooled Hill fit,
the antagonist point), the ED50 headline and the omnibus test, then every
column of the summary and population rows as they are, so columns added to
those tables later show without a change here. It only reads the tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rapheunit.core.markers import ANTAGONIST, drug_role
from rapheunit.doseresponse.fits import NON_DOSE_RESPONSE_ROLES
from rapheunit.doseresponse.population import select_units
from rapheunit.viz.dose_plots import population_dose_response_plot
from rapheunit.viz.html import figure_data_uri

# summary.csv names its pooled fit ``pooled_<fit column>``; the plot reads fit columns.
POOLED_PREFIX = "pooled_"
# The group column of summary.csv without --group-by (its value is then "all").
GROUP_COLUMN = "group"


def population_sections(summary: pd.DataFrame, population: pd.DataFrame,
                        units: pd.DataFrame, select: str | None = None,
                        group_by: str | None = None,
                        keep: Callable[[Figure], Any] = figure_data_uri) -> list[dict[str, Any]]:
    """One section per summary row: title, figure, headline lines and the raw rows.

    Parameters
    ----------
    summary, population : pandas.DataFrame
        ``summary.csv`` and ``population.csv``.
    units : pandas.DataFrame
        ``units.csv``: the units that were not selected are counted by classification.
    select : str, optional
        The selection query, shown as it was given.
    group_by : str, optional
        The ``--group-by`` column; ``group`` without one.
    keep : callable
        What to keep of each figure: a data URI for the page by default.
    """
    group = group_by or GROUP_COLUMN
    if summary.empty or "drug" not in summary.columns:
        return []
    sections = []
    for row in summary.to_dict("records"):
        points = _matching(population, row, group)
        sections.append({
            "title": _title(row, group),
            "figure": keep(population_figure(points, row, group)),
            "headline": _headline(row),
            "selection": _selection(row, units, select, group),
            "summary_items": [(key, value) for key, value in row.items()],
            "population_columns": list(points.columns),
            "population_records": points.to_dict("records"),
        })
    return sections


def _matching(population: pd.DataFrame, row: dict[str, Any], group: str) -> pd.DataFrame:
    """Population rows of the summary row's group: its drug and any antagonist after it."""
    if population.empty:
        return population
    rows = population
    if group in rows.columns and group in row:
        rows = rows[rows[group].astype(str) == str(row[group])]
    antagonist = rows["drug"].map(drug_role) == ANTAGONIST
    # the series first, in dose order, then the antagonist given after it
    return (rows[(rows["drug"] == row["drug"]) | antagonist]
            .assign(_after=antagonist).sort_values(["_after", "cumulative_dose"], kind="stable")
            .drop(columns="_after"))


def _title(row: dict[str, Any], group: str) -> str:
    value = row.get(group)
    suffix = f" ({group} {value})" if value not in (None, "all") else ""
    return f"{row['drug']}{suffix}"


def population_figure(points: pd.DataFrame, row: dict[str, Any], group: str) -> Figure:
    """The population dose-response of one summary row, with its pooled fit."""
    pooled = {key[len(POOLED_PREFIX):]: value for key, value in row.items()
              if key.startswith(POOLED_PREFIX)}
    ax = population_dose_response_plot(points, pooled if pooled else None)
    ax.set_title(_title(row, group), fontsize=9, loc="left")
    return ax.figure


def population_figures(summary: pd.DataFrame, population: pd.DataFrame,
                       group_by: str | None = None) -> dict[str, Figure]:
    """Every summary row's population figure by a file-safe name ``<drug>[_<group>]``."""
    if summary.empty or "drug" not in summary.columns:
        return {}
    group = group_by or GROUP_COLUMN
    figures = {}
    for row in summary.to_dict("records"):
        value = row.get(group)
        name = str(row["drug"]) + (f"_{value}" if value not in (None, "all") else "")
        figures[name] = population_figure(_matching(population, row, group), row, group)
    return figures


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) and np.isfinite(value) else "—"


def _headline(row: dict[str, Any]) -> list[str]:
    """The ED50 summary and the test in words, from whichever of their columns exist."""
    unit = row.get("ed50_unit", "")
    lines = []
    if "ed50_geometric_mean" in row:
        lines.append(
            f"ED50 (geometric mean of {row.get('n_ed50', '—')} unit ED50s): "
            f"{_number(row['ed50_geometric_mean'])} {unit}, 95 % CI "
            f"[{_number(row.get('ed50_gm_ci_low'))}, {_number(row.get('ed50_gm_ci_high'))}]; "
            f"{row.get('n_lower_bound', 0)} lower bound(s) and "
            f"{row.get('n_upper_bound', 0)} upper bound(s) left out")
    if "pooled_ed50" in row:
        lines.append(
            f"pooled Hill fit: ED50 {_number(row['pooled_ed50'])} {unit} "
            f"[{_number(row.get('pooled_ed50_ci_low'))}, "
            f"{_number(row.get('pooled_ed50_ci_high'))}], "
            f"status {row.get('pooled_fit_status', '—')}")
    if row.get("test") and isinstance(row.get("test"), str):
        lines.append(f"test {row['test']}: statistic {_number(row.get('statistic'))}, "
                     f"df {_number(row.get('df'))}, p {_number(row.get('p'))}")
    elif isinstance(row.get("note"), str) and row["note"]:
        lines.append(f"no test: {row['note']}")
    return lines


def _selection(row: dict[str, Any], units: pd.DataFrame, select: str | None,
               group: str) -> str:
    """How many units the summary rests on, and what the others were classified as."""
    n_selected = row.get("n_units", "—")
    query = f" by `{select}`" if select else ""
    if units.empty or "classification" not in units.columns:
        return f"{n_selected} unit(s) selected{query}"
    counted = units.drop_duplicates(["recording", "unit"])
    if group in counted.columns and row.get(group) not in (None, "all"):
        counted = counted[counted[group].astype(str) == str(row[group])]
    others = counted["classification"].astype(str).value_counts()
    breakdown = ", ".join(f"{name}: {count}" for name, count in sorted(others.items()))
    return (f"{n_selected} unit(s) selected{query} out of {len(counted)} "
            f"(all units by classification: {breakdown})")


def is_dose_series(injections: list[dict[str, Any]]) -> bool:
    """True when a recording gives cumulative doses of one dose-response drug (a series)."""
    counts = pd.Series([i["drug"] for i in injections
                        if drug_role(str(i["drug"])) not in NON_DOSE_RESPONSE_ROLES])
    return bool(len(counts)) and int(counts.value_counts().max()) > 1


def selected_rows(table: pd.DataFrame, units: pd.DataFrame, select: str | None) -> pd.DataFrame:
    """Rows of ``table`` whose unit the ``select`` query picks from ``units``."""
    if table.empty or units.empty or not select:
        return table
    chosen = select_units(units, select)[["recording", "unit"]].drop_duplicates()
    return table.merge(chosen, on=["recording", "unit"])
