"""Self-contained HTML reports: one page per recording, an index, notebook summaries.

A report is one HTML file with its figures embedded as base64 PNG: no
network access, no external CSS or JavaScript (the page carries a Content
Security Policy that forbids both, and it contains no script at all).
Everything that comes from a file (names, labels, annotations, errors) goes
through jinja2 autoescaping, so a marker labelled ``<script>`` shows as text.

Reports are written to ``OUT/reports/<name>.html`` where ``<name>`` is the
recording name made safe by :func:`report_filename`. Figures are drawn on
:class:`matplotlib.figure.Figure` objects (never pyplot) at :data:`REPORT_DPI`.

The unit table columns shown in a report are whatever exists among
``classification``, ``subtype``, ``rule_set``, ``*_criterion``,
``classification_reasons``, the QC columns (:mod:`rapheunit.measures.qc`, computed
here when the table lacks them) and the Hill-fit columns, so reports work
before and after those steps are part of the pipeline.

Two recording-level sections appear when there is something to show: the
spike detection (threshold, noise and a stretch of filtered signal per
channel) for units detected in continuous signals, and the time course after
each injection of the result's time-course table (single-dose experiments).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator, MaxNLocator

from rapheunit.core.errors import BadParameterError
from rapheunit.core.markers import drug_role
from rapheunit.core.model import Recording, Unit
from rapheunit.core.version import VERSION
from rapheunit.detection.detect import DetectionResult
from rapheunit.doseresponse.fits import HILL_FIT_COLUMNS
from rapheunit.io.output import write_atomic
from rapheunit.measures.timecourse import (
    EVENT_COLUMNS,
    METRIC_COLUMNS,
    timecourse_summary,
)
from rapheunit.viz.plot import (
    LABEL_FONT_SIZE,
    UNIT_COLOURS,
    autocorrelogram_plot,
    detection_excerpt_plot,
    dose_response_plot,
    isi_histogram_plot,
    make_room_for_labels,
    new_figure,
    raster_strip,
    rate_histogram,
    waveform_plot,
)
from rapheunit.viz.plot_groups import SECONDS_PER_MINUTE, timecourse_plot

if TYPE_CHECKING:
    from rapheunit.measures.analysis import RecordingAnalysis
    from rapheunit.measures.results import BatchResult, RecordingResult

REPORTS_DIR = "reports"
INDEX_NAME = "index.html"
# Modest resolution keeps a report of a 1 h, 3-unit recording well under a second.
REPORT_DPI = 80
THUMBNAIL_DPI = 60
# zlib level 1 encodes several times faster than the default for ~15 % larger files.
PNG_COMPRESS_LEVEL = 1
MAX_NAME_CHARS = 80
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
# File names a report must never take: the index lives beside the reports.
_RESERVED_NAMES = frozenset({Path(INDEX_NAME).stem})
CLASSIFICATION_COLUMNS = ("classification", "subtype", "rule_set", "pharmacological_confirmation")
FIT_COLUMNS = (
    "drug", "fit_status", "ed50", "ed50_unit", "ed50_ci_low", "ed50_ci_high",
    *(c for c in HILL_FIT_COLUMNS if c not in ("ed50", "ed50_ci_low", "ed50_ci_high",
                                               "fit_status")),
    "pct_at_max_dose", "reversal_pct_baseline", "reversal_pct",
)
DOSE_TABLE_COLUMNS = (
    "drug", "dose", "dose_unit", "cumulative_dose", "injection_time_s", "window_start_s",
    "window_stop_s", "rate_hz", "pct_baseline",
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
INJECTION_KEY = ["drug", "dose", "dose_unit", "injection_time_s"]
UNIT_FIGURE_SIZE_IN = (11.0, 6.2)
DETECTION_FIGURE_SIZE_IN = (11.0, 2.6)
TIMECOURSE_FIGURE_SIZE_IN = (7.0, 3.4)
MEAN_LINE_WIDTH = 2.0  # the mean stands out over the thinner per-unit lines
THUMBNAIL_SIZE_IN = (3.0, 0.8)
COMPACT_FONT_SIZE = 8.0
COMPACT_MAX_TICKS = 5


# --- names and files --------------------------------------------------------------------------


def report_filename(recording_name: str) -> str:
    """File name of a recording's report: readable, safe and distinct per name.

    Characters other than ASCII letters, digits, ``.``, ``_`` and ``-`` become
    ``_``; leading and trailing dots, dashes and underscores are dropped, so a
    name can never point outside the reports folder. A name that had to be
    changed (or is empty or ``index``) gets 8 hex digits of its SHA-256, so
    two different names never share a report.

    Examples
    --------
    >>> report_filename("drn01_5ht")
    'drn01_5ht.html'
    >>> name = report_filename("../../etc/passwd")
    >>> name.startswith("etc_passwd-"), len(name) == len("etc_passwd-12345678.html")
    (True, True)
    >>> report_filename("index") != "index.html"
    True
    """
    safe = _UNSAFE_NAME_CHARACTERS.sub("_", recording_name).strip("._-")[:MAX_NAME_CHARS]
    if safe != recording_name or not safe or safe.lower() in _RESERVED_NAMES:
        digest = hashlib.sha256(recording_name.encode("utf-8", "surrogatepass")).hexdigest()
        safe = f"{safe or 'recording'}-{digest[:8]}"
    return f"{safe}.html"


def report_path(out_dir: str | Path, recording_name: str) -> Path:
    """``out_dir/reports/<report_filename>``, checked to stay inside the reports folder."""
    reports = Path(out_dir) / REPORTS_DIR
    path = reports / report_filename(recording_name)
    if path.resolve().parent != reports.resolve():
        raise BadParameterError(f"report name {recording_name!r} leaves {reports}")
    return path


def _write_html(path: Path, html: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))


# --- formatting -------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """Short text for a table cell: 4 significant digits, "—" for missing values.

    Examples
    --------
    >>> format_value(3.14159), format_value(float("nan")), format_value(True), format_value(12)
    ('3.142', '—', 'yes', '12')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "—"
        return f"{float(value):.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {format_value(item)}" for key, item in value.items())
    return str(value)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("rapheunit.viz", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["fmt"] = format_value
    return environment


def _macros() -> Any:
    return _environment().get_template("macros.html").module


# --- figures ----------------------------------------------------------------------------------


def figure_data_uri(figure: Figure, dpi: float = REPORT_DPI) -> str:
    """A figure as a ``data:image/png;base64,...`` URI.

    Examples
    --------
    >>> from rapheunit.viz.plot import new_axes
    >>> figure_data_uri(new_axes().figure).startswith("data:image/png;base64,iVBOR")
    True
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi,
                   pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _compact(axes: Iterable[Axes]) -> None:
    """Smaller text, fewer ticks and no minor ticks for the dense report figure.

    Tick labels are most of what matplotlib spends drawing this figure.
    """
    for ax in axes:
        ax.minorticks_off()
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_locator(), AutoLocator):  # not log or fixed ticks
                axis.set_major_locator(MaxNLocator(COMPACT_MAX_TICKS, steps=[1, 2, 5, 10]))
        ax.xaxis.label.set_size(COMPACT_FONT_SIZE)
        ax.yaxis.label.set_size(COMPACT_FONT_SIZE)
        ax.tick_params(labelsize=COMPACT_FONT_SIZE - 1)


class UnitPage:
    """The figure page of a recording's units, built once and redrawn for each unit.

    The page holds the rate histogram over the raster strip (whole recording),
    then the baseline ISI histogram, baseline autocorrelogram, waveform and
    dose-response. Creating Axes and their ticks is most of matplotlib's cost,
    so :meth:`draw` keeps the Axes and only replaces what was drawn in them.
    """

    def __init__(self, analysis: RecordingAnalysis) -> None:
        self.analysis = analysis
        self.windows = [window for _, window in analysis.windows]
        self.figure = new_figure(UNIT_FIGURE_SIZE_IN)
        outer = self.figure.add_gridspec(2, 1, height_ratios=(3.4, 2.4), hspace=0.42)
        top = outer[0].subgridspec(2, 1, height_ratios=(4, 1), hspace=0.06)
        bottom = outer[1].subgridspec(1, 4, wspace=0.42)
        self.rate_ax = self.figure.add_subplot(top[0])
        self.raster_ax = self.figure.add_subplot(top[1], sharex=self.rate_ax)
        # No panel titles: the report's caption names the panels (text is costly to draw).
        self.panels = [self.figure.add_subplot(bottom[0, column]) for column in range(4)]

    def draw(
        self,
        unit: Unit,
        *,
        doses: pd.DataFrame | None = None,
        fit: Mapping[str, Any] | pd.Series | None = None,
    ) -> Figure:
        """Draw ``unit`` (its dose rows and fit row when given) and return the figure."""
        for ax in self.figure.axes:
            _clear_drawing(ax)
        analysis = self.analysis
        recording, baseline = analysis.recording, analysis.baseline
        span = {"t_start": recording.t_start, "t_stop": recording.t_stop}
        rate_histogram(unit.spike_times, recording.injections, baseline=baseline,
                       response_windows=self.windows, ax=self.rate_ax, **span)
        self.rate_ax.tick_params(labelbottom=False)
        self.rate_ax.set_xlabel("")
        raster_strip(unit.spike_times, recording.injections, ax=self.raster_ax, **span)
        baseline_spikes = analysis.baseline_spikes(unit)
        isi_histogram_plot(baseline_spikes, ax=self.panels[0])
        autocorrelogram_plot(baseline_spikes, ax=self.panels[1])
        waveform_plot(analysis.waveforms[unit.id], ax=self.panels[2])
        unit_doses = pd.DataFrame(columns=list(DOSE_TABLE_COLUMNS)) if doses is None else doses
        dose_response_plot(unit_doses, fit, ax=self.panels[3])
        _compact(self.figure.axes)
        make_room_for_labels(self.figure)
        return self.figure


def _clear_drawing(ax: Axes) -> None:
    """Remove the data artists and legend of ``ax`` but keep the Axes, its ticks and title."""
    for container in list(ax.containers):  # error bars: the legend reads them
        container.remove()
    for artist in [*ax.lines, *ax.patches, *ax.texts, *ax.collections, *ax.images]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.relim()
    ax.autoscale(True)


def unit_figure(
    analysis: RecordingAnalysis,
    unit: Unit,
    *,
    doses: pd.DataFrame | None = None,
    fit: Mapping[str, Any] | pd.Series | None = None,
) -> Figure:
    """All figures of one unit of a measured recording on one page (see :class:`UnitPage`).

    Examples
    --------
    >>> from rapheunit.run.pipeline import measure
    >>> rec = Recording("r", Path("r"), 0.0, 300.0, [Unit("u", np.arange(0.0, 300.0, 0.7))])
    >>> len(unit_figure(measure(rec), rec.units[0]).axes)
    6
    """
    return UnitPage(analysis).draw(unit, doses=doses, fit=fit)


def rate_thumbnail(recording: Recording, unit: Unit) -> str:
    """Tiny rate histogram (injections as lines only) as a data URI."""
    ax = new_figure(THUMBNAIL_SIZE_IN).add_subplot()
    ax.figure.subplots_adjust(left=0.02, right=0.98, bottom=0.08, top=0.92)
    rate_histogram(unit.spike_times, t_start=recording.t_start, t_stop=recording.t_stop, ax=ax)
    for injection in recording.injections:
        ax.axvline(injection.time_s, color="#D55E00", linewidth=0.8)
    ax.set_axis_off()
    return figure_data_uri(ax.figure, THUMBNAIL_DPI)


# --- table helpers ----------------------------------------------------------------------------


def _rows_of(table: pd.DataFrame | None, recording_name: str) -> pd.DataFrame:
    """Rows of ``table`` that belong to the recording (all rows without a recording column)."""
    if table is None or table.empty:
        return pd.DataFrame()
    if "recording" in table.columns:
        table = table[table["recording"].astype(str) == recording_name]
    return table.reset_index(drop=True)


def _unit_rows(rows: pd.DataFrame, unit_id: str) -> pd.DataFrame:
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


def _unit_sections(
    analysis: RecordingAnalysis | None,
    rows: pd.DataFrame,
    doses: pd.DataFrame,
    qc_rules: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Every unit's template data; figures only while the analysis is in memory."""
    ids = list(dict.fromkeys(rows["unit"].astype(str))) if "unit" in rows else []
    page = None if analysis is None else UnitPage(analysis)
    sections = []
    for unit_id in ids:
        row, unit_doses = _unit_row(rows, unit_id), _unit_rows(doses, unit_id)
        facts = _facts_from_row(row)
        figure = ""
        if page is not None:
            unit = page.analysis.recording.unit(unit_id)
            facts["has_waveforms"] = unit.has_waveforms
            drawn = page.draw(unit, doses=unit_doses, fit=row if "fit_status" in row else None)
            figure = figure_data_uri(drawn)
        sections.append(_unit_context(facts, row, unit_doses, qc_rules, figure))
    return sections


# --- recording-level sections -----------------------------------------------------------------


def _detection_sections(recording: Recording | None) -> list[dict[str, Any]]:
    """One record per detected channel (settings, units) with its excerpt figure."""
    if recording is None:
        return []
    return [
        _channel_section(detection, channel)
        for detection in recording.detections
        for channel in detection.threshold
    ]


def _channel_section(detection: DetectionResult, channel: int) -> dict[str, Any]:
    units = [u for u in detection.units if u.annotations.get("channel") == channel]
    dominant = [u.id for u in units if u.annotations.get("dominant")]
    excerpt = detection.excerpts.get(channel)
    figure = ""
    if excerpt is not None:
        ax = new_figure(DETECTION_FIGURE_SIZE_IN).add_subplot()
        detection_excerpt_plot(excerpt, polarity=detection.params.polarity, ax=ax)
        figure = figure_data_uri(ax.figure)
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


def _timecourse_sections(
    table: pd.DataFrame, metrics: pd.DataFrame, injections: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One record per injection of the time-course table: figure, metrics and context."""
    if table.empty:
        return []
    sections = []
    for key, rows in table.groupby(INJECTION_KEY, sort=False, dropna=False):
        drug, dose, dose_unit, time_s = key
        event = metrics[(metrics["drug"] == drug) & (metrics["injection_time_s"] == time_s)]
        sections.append(
            {
                "title": f"{drug} {format_value(dose)} {dose_unit}",
                "time_s": time_s,
                "n_units": rows["unit"].nunique(),
                "n_earlier": sum(injection["time_s"] < time_s for injection in injections),
                "figure": figure_data_uri(timecourse_figure(rows)),
                "metrics": event.to_dict("records"),
            }
        )
    return sorted(sections, key=lambda section: section["time_s"])


def timecourse_figure(rows: pd.DataFrame) -> Figure:
    """% of baseline against time from one injection: each unit, and their mean +/- SEM.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`rapheunit.measures.timecourse.timecourse_table` rows of one injection.

    Examples
    --------
    >>> from rapheunit.core.model import Injection
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
    if unit_groups:  # the mean follows the unit lines: make it stand out and say what it is
        mean_line = ax.lines[len(unit_groups)]
        mean_line.set_linewidth(MEAN_LINE_WIDTH)
        mean_line.set_label(f"mean ± SEM ({len(unit_groups)} units)")
        ax.legend(fontsize=LABEL_FONT_SIZE, frameon=False, loc="best")
    return ax.figure


def _facts_from_row(row: pd.Series) -> dict[str, Any]:
    return {"id": str(row["unit"]), "n_spikes": row.get("n_spikes"),
            "baseline_rate_hz": row.get("baseline_rate_hz"), "has_waveforms": None}


def _injections_from_doses(doses: pd.DataFrame) -> list[dict[str, Any]]:
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


def _injection_records(recording: Recording) -> list[dict[str, Any]]:
    return [
        {"time_s": i.time_s, "drug": i.drug, "role": drug_role(i.drug), "dose": i.dose,
         "dose_unit": i.dose_unit, "cumulative_dose": i.cumulative_dose, "label": i.label,
         "source": i.source}
        for i in recording.injections
    ]


def _provenance(result: RecordingResult, recording: Recording | None) -> list[tuple[str, Any]]:
    row = result.recording_row
    items: list[tuple[str, Any]] = [("file", row.get("path", ""))]
    if recording is not None:
        items += [(str(key), value) for key, value in recording.provenance.items()
                  if key != "path"]
        items += [("duration_s", recording.duration_s), ("t_start", recording.t_start),
                  ("t_stop", recording.t_stop)]
    return [*items, ("rapheunit", VERSION), ("generated", _now())]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- pages ------------------------------------------------------------------------------------


def render_recording_report(
    result: RecordingResult,
    *,
    units_table: pd.DataFrame,
    doses_table: pd.DataFrame,
    params: Mapping[str, Any],
) -> str:
    """The HTML report of one analysed (or failed) recording.

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

    Returns
    -------
    str
        One self-contained HTML document.

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
    provenance = _provenance(result, recording)
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
        "warnings": list(recording.warnings) if recording else [],
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
        doses = _rows_of(doses_table, name)
        injections = (_injection_records(recording) if recording is not None
                      else _injections_from_doses(doses))
        context.update(
            injections=injections,
            detections=_detection_sections(recording),
            timecourses=_timecourse_sections(
                _rows_of(result.timecourse, name), result.timecourse_metrics, injections
            ),
            timecourse_params=settings.timecourse,
            baseline_s=settings.epochs.baseline_s,
            annotations=recording.annotations if recording is not None else [],
            qc_rules=qc_rules.to_dict("records"),
            units=_unit_sections(result.analysis, _rows_of(units_table, name), doses, qc_rules),
        )
    return _environment().get_template("report.html").render(**context)


def _unit_row(rows: pd.DataFrame, unit_id: str) -> pd.Series:
    matches = _unit_rows(rows, unit_id)
    return matches.iloc[0] if len(matches) else pd.Series({"unit": unit_id})


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
    return _write_html(report_path(out_dir, str(result.recording_row["recording"])), html)


def write_recording_pdf(
    result: RecordingResult,
    out_dir: str | Path,
    *,
    units_table: pd.DataFrame | None = None,
    doses_table: pd.DataFrame | None = None,
) -> Path | None:
    """The report's unit figures as one PDF page each: ``reports/<name>.pdf``.

    Returns None for a failed recording (nothing to draw).
    """
    analysis = result.analysis
    if analysis is None or not result.ok:
        return None
    recording = analysis.recording
    units = _rows_of(result.units if units_table is None else units_table, recording.name)
    doses = _rows_of(result.doses if doses_table is None else doses_table, recording.name)
    path = report_path(out_dir, recording.name).with_suffix(".pdf")

    page = UnitPage(analysis)

    def write(tmp: Path) -> None:
        with PdfPages(tmp) as pdf:
            for unit in recording.units:
                row = _unit_row(units, unit.id)
                figure = page.draw(unit, doses=_unit_rows(doses, unit.id),
                                   fit=row if "fit_status" in row else None)
                figure.suptitle(f"{recording.name} / {unit.id}", x=0.07, ha="left")
                pdf.savefig(figure)

    return write_atomic(path, write)


def _counts(values: pd.Series) -> list[tuple[str, int]]:
    counted = values.dropna().astype(str).value_counts()
    return [(str(key), int(count)) for key, count in sorted(counted.items())]


def _index_records(
    recordings: pd.DataFrame, units: pd.DataFrame, *, with_links: bool
) -> list[dict[str, Any]]:
    records = []
    for row in recordings.to_dict("records"):
        name = str(row.get("recording", ""))
        unit_rows = _rows_of(units, name)
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
            "href": report_filename(name) if with_links else "",
        })
    return records


def render_index(recordings_table: pd.DataFrame, units_table: pd.DataFrame) -> str:
    """The batch index page (see :func:`write_index`)."""
    records = _index_records(recordings_table, units_table, with_links=True)
    return _environment().get_template("index.html").render(
        records=records,
        n_failed=sum(record["status"] != "ok" for record in records),
        n_units=len(units_table),
        classification=_counts(units_table["classification"])
        if "classification" in units_table else [],
        qc=_counts(units_table["qc_status"]) if "qc_status" in units_table else [],
        version=VERSION,
        generated=_now(),
    )


def write_index(
    batch_recordings_table: pd.DataFrame, units_table: pd.DataFrame, out_dir: str | Path
) -> Path:
    """Write ``out_dir/reports/index.html``: every recording with its status (and error),
    unit, classification and QC counts, linked to its report.
    """
    html = render_index(batch_recordings_table, units_table)
    return _write_html(Path(out_dir) / REPORTS_DIR / INDEX_NAME, html)


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
    return [*paths, write_index(batch.recordings, batch.units, out_dir)]
