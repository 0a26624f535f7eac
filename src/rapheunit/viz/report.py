"""Self-contained HTML reports: one page per recording, the batch index, and the PDF.

A report is one HTML file with its figures embedded as base64 PNG: no
network access, no external CSS or JavaScript (the page carries a Content
Security Policy that forbids both, and it contains no script at all).
Everything that comes from a file (names, labels, annotations, errors) goes
through jinja2 autoescaping, so a marker labelled ``<script>`` shows as text.

Reports are written to ``OUT/reports/<name>.html`` where ``<name>`` is the
recording name made safe by :func:`rapheunit.viz.html.report_filename`. Figures are
drawn on :class:`matplotlib.figure.Figure` objects (never pyplot).

A page only reads: the tables of the batch and, while the recording is loaded,
its :class:`~rapheunit.measures.analysis.RecordingAnalysis` (windows, waveform
features, settings). The sections are assembled in :mod:`rapheunit.viz.sections`,
the unit figures in :mod:`rapheunit.viz.unit_page`.

Two recording-level sections appear when there is something to show: the
spike detection (threshold, noise and a stretch of filtered signal per
channel) for units detected in continuous signals, and the time course after
each injection of the result's time-course table (single-dose experiments).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rapheunit.core.messages import condensed
from rapheunit.core.version import VERSION
from rapheunit.viz.batch_page import is_dose_series, population_sections, selected_rows
from rapheunit.viz.html import (
    INDEX_NAME,
    REPORTS_DIR,
    environment,
    figure_data_uri,
    report_filename,
    report_path,
    write_html,
)
from rapheunit.viz.sections import (
    DETECTION_COLUMNS,
    TIMECOURSE_METRIC_COLUMNS,
    FigureSink,
    detection_sections,
    injection_records,
    injections_from_doses,
    now_utc,
    provenance_items,
    rows_of,
    timecourse_sections,
    unit_sections,
)

if TYPE_CHECKING:
    from rapheunit.measures.results import BatchResult, RecordingResult


# --- pages ------------------------------------------------------------------------------------


def render_recording_report(
    result: RecordingResult,
    *,
    units_table: pd.DataFrame,
    doses_table: pd.DataFrame,
    params: Mapping[str, Any],
) -> str:
    """The HTML report of one analysed (or failed) recording (see :func:`report_context`)."""
    context = report_context(result, units_table=units_table, doses_table=doses_table,
                             params=params)
    return environment().get_template("report.html").render(**context)


def report_context(
    result: RecordingResult,
    *,
    units_table: pd.DataFrame,
    doses_table: pd.DataFrame,
    params: Mapping[str, Any],
    keep: FigureSink = figure_data_uri,
) -> dict[str, Any]:
    """Everything the report of one analysed (or failed) recording shows, section by section.

    The HTML page renders it; the PDF (:mod:`rapheunit.viz.pdf_report`) lays out the
    same sections with the same figures (``keep`` says what is kept of each).

    Parameters
    ----------
    result : RecordingResult
        One recording's result (:func:`rapheunit.run.pipeline.analyze_recording`);
        a failed result gives a page with its error.
    units_table : pandas.DataFrame
        Unit rows (of this recording or of the whole batch: rows are matched
        on ``recording`` and ``unit``).
    doses_table : pandas.DataFrame
        Per-dose rows (same matching).
    params : mapping
        The run's parameters as written to ``params.json``, shown as they are
        (the windows and rules drawn come from the result's own settings).

    keep : callable
        What to keep of each figure drawn: a data URI by default.

    Returns
    -------
    dict
        The template's context.

    Notes
    -----
    Figures need the spike trains: for a result that no longer holds its
    recording (``analyze(..., out=...)`` drops them to save memory, and
    parallel workers return tables only) the page shows the tables and says
    that the figures are missing. Write reports where the recording is
    loaded to get them.
    """
    recording = result.recording
    name = str(result.recording_row.get("recording", recording.name if recording else ""))
    provenance = provenance_items(result, recording)
    context: dict[str, Any] = {
        "name": name,
        "version": VERSION,
        "generated": dict(provenance)["generated"],
        "row": result.recording_row,
        "ok": result.ok,
        "error": result.recording_row.get("error", ""),
        "provenance": provenance,
        "params_json": json.dumps(params, indent=2, sort_keys=True, default=str),
        "units": [],
        "injections": [],
        "annotations": [],
        "warnings": condensed(recording.warnings) if recording else [],
        "curation": _notes(result.recording_row.get("curation_reason")),
        "curation_stale": _notes(result.recording_row.get("curation_stale")),
        "qc_rules": [],
        "detections": [],
        "detection_columns": DETECTION_COLUMNS,
        "timecourses": [],
        "timecourse_columns": TIMECOURSE_METRIC_COLUMNS,
        "timecourse_params": None,
    }
    settings = result.settings
    if result.ok and settings is not None:
        qc_rules = settings.qc_rules
        doses = rows_of(doses_table, name)
        injections = (injection_records(recording) if recording is not None
                      else injections_from_doses(doses))
        unit_table = rows_of(units_table, name)
        series = is_dose_series(injections)
        select = params.get("parameters", {}).get("population", {}).get("select")
        timecourse, metrics = rows_of(result.timecourse, name), result.timecourse_metrics
        if series:  # the time course of a series is about the units its population selects
            timecourse, metrics = (selected_rows(timecourse, unit_table, select),
                                   selected_rows(metrics, unit_table, select))
        context.update(
            injections=injections,
            detections=detection_sections(recording, keep),
            timecourses=timecourse_sections(timecourse, metrics, injections, keep),
            timecourse_first=not series,
            timecourse_units_rule=f"units selected by {select}" if series and select else "",
            timecourse_params=settings.timecourse,
            baseline_s=settings.epochs.baseline_s,
            recovery_pct=settings.epochs.recovery_pct,
            annotations=recording.annotations if recording is not None else [],
            qc_rules=qc_rules.to_dict("records"),
            units=unit_sections(result.analysis, unit_table, doses, qc_rules, keep),
        )
    return context



def _notes(text: Any) -> list[str]:
    """The ``" | "``-joined notes of a curation column (none for empty or NaN)."""
    return [note for note in str(text).split(" | ") if note] if isinstance(text, str) else []


def write_recording_report(
    result: RecordingResult,
    out_dir: str | Path,
    *,
    units_table: pd.DataFrame | None = None,
    doses_table: pd.DataFrame | None = None,
    params: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/reports/<recording>.html`` (see :func:`render_recording_report`).

    Tables default to the result's own ``units`` and ``doses``.
    """
    html = render_recording_report(
        result,
        units_table=result.units if units_table is None else units_table,
        doses_table=result.doses if doses_table is None else doses_table,
        params=params or {},
    )
    return write_html(report_path(out_dir, str(result.recording_row["recording"])), html)


def _counts(values: pd.Series) -> list[tuple[str, int]]:
    counted = values.dropna().astype(str).value_counts()
    return [(str(key), int(count)) for key, count in sorted(counted.items())]


def _index_records(
    recordings: pd.DataFrame, units: pd.DataFrame, reports_dir: Path | None
) -> list[dict[str, Any]]:
    """Rows of the recordings table; a row links to its report only when that page exists."""
    records = []
    for row in recordings.to_dict("records"):
        name = str(row.get("recording", ""))
        unit_rows = rows_of(units, name)
        href = report_filename(name)
        records.append({
            "name": name,
            "status": row.get("status", ""),
            "error": row.get("error", ""),
            "n_units": row.get("n_units", len(unit_rows)),
            "duration_s": row.get("duration_s"),
            "reader": row.get("reader", ""),
            "n_injections": row.get("n_injections"),
            "classification": _counts(unit_rows["classification"])
            if "classification" in unit_rows else [],
            "qc": _counts(unit_rows["qc_status"]) if "qc_status" in unit_rows else [],
            "href": href if reports_dir is None or (reports_dir / href).exists() else "",
        })
    return records


# Columns of groups.csv shown on the batch page, in this order.
COMPARISON_COLUMNS = (
    "measure", "drug", "group_a", "group_b", "n_units_a", "n_units_b", "n_animals_a",
    "n_animals_b", "estimate_a", "estimate_b", "contrast", "contrast_estimate", "ci_low",
    "ci_high", "test", "statistic", "df", "p", "note",
)


def render_index(
    recordings_table: pd.DataFrame,
    units_table: pd.DataFrame,
    *,
    summary: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
    groups: pd.DataFrame | None = None,
    params: Mapping[str, Any] | None = None,
    reports_dir: Path | None = None,
) -> str:
    """The batch index page (see :func:`write_index`)."""
    context = index_context(recordings_table, units_table, summary=summary,
                            population=population, groups=groups, params=params,
                            reports_dir=reports_dir)
    return environment().get_template("index.html").render(**context)


def index_context(
    recordings_table: pd.DataFrame,
    units_table: pd.DataFrame,
    *,
    summary: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
    groups: pd.DataFrame | None = None,
    params: Mapping[str, Any] | None = None,
    reports_dir: Path | None = None,
    keep: FigureSink = figure_data_uri,
) -> dict[str, Any]:
    """Everything the batch page shows (the HTML page and the batch PDF lay it out)."""
    records = _index_records(recordings_table, units_table, reports_dir)
    chosen = (params or {}).get("parameters", {}).get("population", {})
    comparisons = pd.DataFrame() if groups is None else groups
    return dict(
        records=records,
        n_failed=sum(record["status"] != "ok" for record in records),
        n_units=len(units_table),
        classification=_counts(units_table["classification"])
        if "classification" in units_table else [],
        qc=_counts(units_table["qc_status"]) if "qc_status" in units_table else [],
        populations=population_sections(
            pd.DataFrame() if summary is None else summary,
            pd.DataFrame() if population is None else population,
            units_table, chosen.get("select"), chosen.get("group_by"), keep),
        comparisons=comparisons.to_dict("records"),
        comparison_columns=[c for c in COMPARISON_COLUMNS if c in comparisons.columns],
        group_by=chosen.get("group_by"),
        n_curated=int(units_table["curated"].fillna(False).astype(bool).sum())
        if "curated" in units_table else 0,
        version=VERSION,
        generated=now_utc(),
    )


def write_index(
    batch_recordings_table: pd.DataFrame,
    units_table: pd.DataFrame,
    out_dir: str | Path,
    *,
    summary: pd.DataFrame | None = None,
    population: pd.DataFrame | None = None,
    groups: pd.DataFrame | None = None,
    params: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/reports/index.html``: the population result (``summary`` and
    ``population`` tables, when given) per drug and group, the group comparisons
    (``groups``), then every recording with its status (and error), unit,
    classification and QC counts, linked to its report when it has one.
    """
    reports_dir = Path(out_dir) / REPORTS_DIR
    html = render_index(batch_recordings_table, units_table, summary=summary,
                        population=population, groups=groups, params=params,
                        reports_dir=reports_dir)
    return write_html(reports_dir / INDEX_NAME, html)


def write_reports(batch: BatchResult, out_dir: str | Path) -> list[Path]:
    """Every recording's report and the index of a batch result.

    Figures are drawn for results that still hold their recording (see
    :func:`render_recording_report`).
    """
    paths = [
        write_recording_report(result, out_dir, units_table=batch.units,
                               doses_table=batch.doses, params=batch.params)
        for result in batch.results
    ]
    index = write_index(batch.recordings, batch.units, out_dir, summary=batch.summary,
                        population=batch.population, groups=batch.groups,
                        params=batch.params)
    return [*paths, index]
