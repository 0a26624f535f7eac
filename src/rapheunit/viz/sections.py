"""Template data of a report's sections: units, spike detection, time courses, provenance."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from rapheunit.core.markers import drug_role
from rapheunit.core.model import Recording
from rapheunit.core.version import VERSION
from rapheunit.detection.results import DetectionResult
from rapheunit.doseresponse.fits import HILL_FIT_COLUMNS
from rapheunit.measures.timecourse import (
    EVENT_COLUMNS,
    METRIC_COLUMNS,
    timecourse_summary,
)
from rapheunit.viz.html import (
    figure_data_uri,
    format_value,
)
from rapheunit.viz.plot import (
    LABEL_FONT_SIZE,
    UNIT_COLOURS,
    detection_excerpt_plot,
    new_figure,
)
from rapheunit.viz.plot_groups import SECONDS_PER_MINUTE, timecourse_plot
from rapheunit.viz.unit_page import (
    DOSE_TABLE_COLUMNS,
    UnitPage,
)

if TYPE_CHECKING:
    from rapheunit.measures.analysis import RecordingAnalysis
    from rapheunit.measures.results import RecordingResult

# What a section keeps of each figure it draws: a data URI for the HTML page by default,
# a copy of the figure for the PDF (the unit page is redrawn for the next unit).
FigureSink = Callable[[Figure], Any]


CLASSIFICATION_COLUMNS = (
    "classification", "subtype", "rule_set", "pharmacological_confirmation",
    "in_population", "population_exclusion",
)
FIT_COLUMNS = (
    "drug", "fit_status", "ed50", "ed50_unit", "ed50_ci_low", "ed50_ci_high",
    *(c for c in HILL_FIT_COLUMNS if c not in ("ed50", "ed50_ci_low", "ed50_ci_high",
                                               "fit_status")),
    "pct_at_max_dose", "reversal_pct_baseline", "reversal_pct",
)


DETECTION_COLUMNS = (
    "signal",
    "channel",
    "band_hz",
    "k",
    "noise_sd",
    "threshold",
    "signal_units",
    "polarity",
    "polarity_used",
    "n_units",
    "dominant_unit",
)
# Per-unit time-course metrics shown in the report: the unit, then what timecourse measures.
TIMECOURSE_METRIC_COLUMNS = (
    "unit",
    "baseline_rate_hz",
    *METRIC_COLUMNS[len(EVENT_COLUMNS) :],
)
DETECTION_FIGURE_SIZE_IN = (11.0, 2.6)
INJECTION_KEY = ["drug", "dose", "dose_unit", "injection_time_s"]


TIMECOURSE_FIGURE_SIZE_IN = (7.0, 3.4)
MEAN_LINE_WIDTH = 2.0  # the mean stands out over the thinner per-unit lines


# --- table helpers ----------------------------------------------------------------------------


def rows_of(table: pd.DataFrame | None, recording_name: str) -> pd.DataFrame:
    """Rows of ``table`` that belong to the recording (all rows without a recording column)."""
    if table is None or table.empty:
        return pd.DataFrame()
    if "recording" in table.columns:
        table = table[table["recording"].astype(str) == recording_name]
    return table.reset_index(drop=True)


def unit_rows(rows: pd.DataFrame, unit_id: str) -> pd.DataFrame:
    if rows.empty or "unit" not in rows.columns:
        return pd.DataFrame()
    return rows[rows["unit"].astype(str) == unit_id]


def _cells(row: pd.Series | Mapping[str, Any], columns: Iterable[str]) -> list[tuple[str, Any]]:
    return [(column, row[column]) for column in columns if column in row]


def _criteria(row: pd.Series) -> list[tuple[str, Any]]:
    return [(column, row[column]) for column in row.index if str(column).endswith("_criterion")]


def _qc_details(row: pd.Series, rules: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"column": rule.column, "value": row.get(rule.column), "meaning": rule.meaning,
         "warn": rule.warn, "fail": rule.fail}
        for rule in rules.itertuples()
        if rule.column in row
    ]


def _split(text: Any, separator: str) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    return [part.strip() for part in text.split(separator) if part.strip()]


def _dose_records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [column for column in DOSE_TABLE_COLUMNS if column in rows.columns]
    return rows[columns].to_dict("records")


def _unit_context(
    facts: Mapping[str, Any], row: pd.Series, doses: pd.DataFrame, qc_rules: pd.DataFrame,
    figure: str,
) -> dict[str, Any]:
    """Template data of one unit: ``facts`` (id, spikes, baseline rate, waveforms) + its rows."""
    return {
        **facts,
        "classification": row.get("classification", ""),
        "verdict": _cells(row, CLASSIFICATION_COLUMNS),
        "criteria": _criteria(row),
        "classification_reasons": _split(row.get("classification_reasons"), ";"),
        "qc_status": row.get("qc_status", ""),
        "qc_flags": _split(row.get("qc_flags"), ";"),
        "qc_reasons": _split(row.get("qc_reasons"), "; "),
        "qc_details": _qc_details(row, qc_rules),
        "figure": figure,
        "doses": _dose_records(doses),
        "dose_columns": [c for c in DOSE_TABLE_COLUMNS if c in doses.columns],
        "fit": _cells(row, FIT_COLUMNS),
        "all_values": [(str(key), value) for key, value in row.items()],
    }


def unit_sections(
    analysis: RecordingAnalysis | None,
    rows: pd.DataFrame,
    doses: pd.DataFrame,
    qc_rules: pd.DataFrame,
    keep: FigureSink = figure_data_uri,
) -> list[dict[str, Any]]:
    """Every unit's template data; figures only while the analysis is in memory."""
    ids = list(dict.fromkeys(rows["unit"].astype(str))) if "unit" in rows else []
    page = None if analysis is None else UnitPage(analysis)
    sections = []
    for unit_id in ids:
        row, unit_doses = unit_row(rows, unit_id), unit_rows(doses, unit_id)
        facts = _facts_from_row(row)
        figure = ""
        if page is not None:
            unit = page.analysis.recording.unit(unit_id)
            facts["has_waveforms"] = unit.has_waveforms
            drawn = page.draw(unit, doses=unit_doses, fit=row if "fit_status" in row else None)
            figure = keep(drawn)
        sections.append(_unit_context(facts, row, unit_doses, qc_rules, figure))
    return sections


# --- recording-level sections -----------------------------------------------------------------


def detection_sections(
    recording: Recording | None, keep: FigureSink = figure_data_uri
) -> list[dict[str, Any]]:
    """One record per detected channel (settings, units) with its excerpt figure."""
    if recording is None:
        return []
    return [
        _channel_section(detection, channel, keep)
        for detection in recording.detections
        for channel in detection.threshold
    ]


def _channel_section(
    detection: DetectionResult, channel: int, keep: FigureSink
) -> dict[str, Any]:
    units = [u for u in detection.units if u.annotations.get("channel") == channel]
    dominant = [u.id for u in units if u.annotations.get("dominant")]
    excerpt = detection.excerpts.get(channel)
    figure = ""
    if excerpt is not None:
        ax = new_figure(DETECTION_FIGURE_SIZE_IN).add_subplot()
        detection_excerpt_plot(excerpt, polarity=detection.params.polarity, ax=ax)
        figure = keep(ax.figure)
    low_hz, high_hz = detection.params.band_hz
    return {
        # Units are named "<signal>#ch<channel>#<cluster>".
        "signal": units[0].id.rsplit("#ch", 1)[0] if units else "",
        "channel": channel,
        "band_hz": f"{low_hz:g}-{high_hz:g}",
        "k": detection.params.threshold_mad,
        "noise_sd": detection.noise_mad[channel],
        "threshold": detection.threshold[channel],
        "signal_units": excerpt.units if excerpt is not None else "",
        "polarity": detection.params.polarity,
        "polarity_used": detection.polarity_used[channel],
        "n_units": len(units),
        "dominant_unit": dominant[0] if dominant else "",
        "figure": figure,
    }


def timecourse_sections(
    table: pd.DataFrame, metrics: pd.DataFrame, injections: list[dict[str, Any]],
    keep: FigureSink = figure_data_uri,
) -> list[dict[str, Any]]:
    """One record per injection of the time-course table: figure, metrics and context."""
    if table.empty:
        return []
    sections = []
    for key, rows in table.groupby(INJECTION_KEY, sort=False, dropna=False):
        drug, dose, dose_unit, time_s = key
        event = metrics[(metrics["drug"] == drug) & (metrics["injection_time_s"] == time_s)]
        # An antagonist after an agonist is judged against the level just before it.
        before_it = "reference" in rows and (rows["reference"] == "pre_injection").any()
        plotted = rows.assign(pct_baseline=rows["pct_reference"]) if before_it else rows
        sections.append(
            {
                "title": f"{drug} {format_value(dose)} {dose_unit}",
                "time_s": time_s,
                "n_units": rows["unit"].nunique(),
                "n_earlier": sum(injection["time_s"] < time_s for injection in injections),
                "figure": keep(timecourse_figure(plotted, before_injection=bool(before_it))),
                "metrics": event.to_dict("records"),
                "pre_injection_reference": bool(before_it),
            }
        )
    return sorted(sections, key=lambda section: section["time_s"])


def timecourse_figure(rows: pd.DataFrame, *, before_injection: bool = False) -> Figure:
    """% of baseline against time from one injection: each unit, and their mean +/- SEM.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`rapheunit.measures.timecourse.timecourse_table` rows of one injection.
    before_injection : bool
        The values are % of the level just before the injection (an antagonist
        after an agonist), not of the pre-drug baseline: the axis says so.

    Examples
    --------
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Injection, Recording, Unit
    >>> from rapheunit.measures.timecourse import timecourse_table
    >>> rec = Recording("r", Path("r"), 0.0, 900.0, [Unit("a", np.arange(0.0, 900.0, 0.5)),
    ...     Unit("b", np.arange(0.0, 900.0, 0.8))], [Injection(300.0, "ipsapirone", 20.0,
    ...     "ug/kg", 20.0)])
    >>> ax = timecourse_figure(timecourse_table(rec)).axes[0]
    >>> [line.get_label() for line in ax.lines][:3]
    ['a', 'b', 'mean ± SEM (2 units)']
    """
    ax = new_figure(TIMECOURSE_FIGURE_SIZE_IN).add_subplot()
    # One unit is its own mean: no separate line for it.
    unit_groups = list(rows.groupby("unit", sort=False)) if rows["unit"].nunique() > 1 else []
    for index, (unit_id, unit_rows) in enumerate(unit_groups):
        minutes = (unit_rows["bin_start_s"] + unit_rows["bin_stop_s"]) / 2.0 / SECONDS_PER_MINUTE
        ax.plot(
            minutes,
            unit_rows["pct_baseline"],
            color=UNIT_COLOURS[index % len(UNIT_COLOURS)],
            linewidth=0.8,
            alpha=0.8,
            label=str(unit_id),
        )
    timecourse_plot(timecourse_summary(rows), ax=ax)
    if before_injection:
        ax.set_ylabel("Firing (% of the level before it)")
    if unit_groups:  # the mean follows the unit lines: make it stand out and say what it is
        mean_line = ax.lines[len(unit_groups)]
        mean_line.set_linewidth(MEAN_LINE_WIDTH)
        mean_line.set_label(f"mean ± SEM ({len(unit_groups)} units)")
        ax.legend(fontsize=LABEL_FONT_SIZE, frameon=False, loc="best")
    return ax.figure


def _facts_from_row(row: pd.Series) -> dict[str, Any]:
    return {"id": str(row["unit"]), "n_spikes": row.get("n_spikes"),
            "baseline_rate_hz": row.get("baseline_rate_hz"), "has_waveforms": None}


def injections_from_doses(doses: pd.DataFrame) -> list[dict[str, Any]]:
    """The schedule as the dose table records it (one unit's rows cover every injection)."""
    if doses.empty or "unit" not in doses:
        return []
    first_unit = doses[doses["unit"] == doses["unit"].iloc[0]]
    return [
        {"time_s": row["injection_time_s"], "drug": row["drug"], "role": drug_role(row["drug"]),
         "dose": row.get("dose"), "dose_unit": row["dose_unit"],
         "cumulative_dose": row["cumulative_dose"], "label": "", "source": "doses table"}
        for _, row in first_unit.iterrows()
    ]


def injection_records(recording: Recording) -> list[dict[str, Any]]:
    return [
        {"time_s": i.time_s, "drug": i.drug, "role": drug_role(i.drug), "dose": i.dose,
         "dose_unit": i.dose_unit, "cumulative_dose": i.cumulative_dose, "label": i.label,
         "source": i.source}
        for i in recording.injections
    ]


def provenance_items(result: RecordingResult, recording: Recording | None) -> list[tuple[str, Any]]:
    row = result.recording_row
    items: list[tuple[str, Any]] = [("file", row.get("path", ""))]
    if recording is not None:
        items += [(str(key), value) for key, value in recording.provenance.items()
                  if key != "path"]
        items += [("duration_s", recording.duration_s), ("t_start", recording.t_start),
                  ("t_stop", recording.t_stop)]
    return [*items, ("rapheunit", VERSION), ("generated", now_utc())]


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

def unit_row(rows: pd.DataFrame, unit_id: str) -> pd.Series:
    matches = unit_rows(rows, unit_id)
    return matches.iloc[0] if len(matches) else pd.Series({"unit": unit_id})
