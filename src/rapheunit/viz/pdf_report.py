"""The reports as PDF (``--pdf``): every section of the HTML pages, with the same figures.

The recording PDF walks the context of :func:`rapheunit.viz.report.report_context`
and the batch PDF that of :func:`rapheunit.viz.report.index_context` in the
order the HTML templates show them: headings, key-value lists, tables (in a
fixed-width font, wide tables continued below) and each figure on a page of its
own, drawn by the same code as the HTML page's.
"""

from __future__ import annotations

import pickle
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from rapheunit.io.output import write_atomic
from rapheunit.viz.html import REPORTS_DIR, format_value, report_path
from rapheunit.viz.report import COMPARISON_COLUMNS, index_context, report_context
from rapheunit.viz.sections import DETECTION_COLUMNS, TIMECOURSE_METRIC_COLUMNS

if TYPE_CHECKING:
    from rapheunit.measures.results import BatchResult, RecordingResult

BATCH_PDF_NAME = "batch.pdf"
A4_IN = (8.27, 11.69)
MARGIN_IN = 0.6
BODY_PT = 7.5
HEADING_PT = {1: 15.0, 2: 11.5, 3: 9.0}
# Line height as a multiple of the font size.
LINE_SPACING = 1.4
# Width of one character as a fraction of the font size (DejaVu Sans Mono: 0.602).
MONO_WIDTH = 0.602
# Average width of a character of body text, as a fraction of the font size.
SANS_WIDTH = 0.55
# Table cells longer than this are cut (with an ellipsis); the HTML page shows them whole.
CELL_CHARS = 40
INJECTION_COLUMNS = ("time_s", "drug", "role", "dose", "dose_unit", "cumulative_dose",
                     "label", "source")
RECORDING_COLUMNS = ("name", "status", "n_units", "duration_s", "n_injections", "reader",
                     "error")


def copy_figure(figure: Figure) -> Figure:
    """An independent copy of ``figure``: the unit page is redrawn for the next unit."""
    return pickle.loads(pickle.dumps(figure))


class PdfDocument:
    """A4 pages of text flowing top to bottom, and figures each on a page of its own."""

    def __init__(self, pdf: PdfPages) -> None:
        self.pdf = pdf
        self.page: Figure | None = None
        self.top_in = 0.0  # distance of the next line from the top of the page

    def heading(self, text: str, level: int = 2) -> None:
        size = HEADING_PT[level]
        self._room((2.0 + LINE_SPACING) * size / 72.0)  # keep a heading with what follows
        self.top_in += 0.4 * size / 72.0
        self._line(text, size, weight="bold")

    def paragraph(self, text: str, *, colour: str = "black") -> None:
        width = int(self._width_in() * 72.0 / (BODY_PT * SANS_WIDTH))
        for line in textwrap.wrap(text, width) or [""]:
            self._line(line, BODY_PT, colour=colour)

    def bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self.paragraph(f"- {item}")

    def key_values(self, pairs: Iterable[tuple[str, Any]]) -> None:
        self.table(["", ""], [[key, value] for key, value in pairs], header=False)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
              header: bool = True) -> None:
        """Rows in a fixed-width font; columns that do not fit go to a block below."""
        cells = [[_cell(value) for value in row] for row in rows]
        widths = [max([len(str(name))] + [len(row[i]) for row in cells])
                  for i, name in enumerate(columns)]
        room = int(self._width_in() * 72.0 / (BODY_PT * MONO_WIDTH))
        for block in _column_blocks(widths, room):
            lines = [[str(columns[i]) for i in block]] if header else []
            lines += [[row[i] for i in block] for row in cells]
            for line in lines:
                text = "  ".join(value.ljust(widths[i]) for value, i in zip(line, block,
                                                                            strict=True))
                self._line(text.rstrip(), BODY_PT, family="monospace")
            self.top_in += 0.5 * BODY_PT / 72.0

    def figure(self, figure: Figure | str, caption: str = "") -> None:
        """``figure`` on a page of its own, its caption in the text that follows."""
        if not isinstance(figure, Figure):
            return  # no figure was drawn (the recording was no longer in memory)
        self._finish_page()
        self.pdf.savefig(figure, bbox_inches="tight")
        if caption:
            self.paragraph(caption, colour="#444444")

    def close(self) -> None:
        self._finish_page()

    def _width_in(self) -> float:
        return A4_IN[0] - 2.0 * MARGIN_IN

    def _room(self, height_in: float) -> None:
        if self.page is None or self.top_in + height_in > A4_IN[1] - MARGIN_IN:
            self._finish_page()
            self.page = Figure(figsize=A4_IN)
            self.top_in = MARGIN_IN

    def _line(self, text: str, size: float, *, weight: str = "normal",
              family: str = "sans-serif", colour: str = "black") -> None:
        height_in = LINE_SPACING * size / 72.0
        self._room(height_in)
        assert self.page is not None
        self.top_in += height_in
        self.page.text(MARGIN_IN / A4_IN[0], 1.0 - self.top_in / A4_IN[1], text, fontsize=size,
                       fontweight=weight, family=family, color=colour, va="baseline")

    def _finish_page(self) -> None:
        if self.page is not None:
            self.pdf.savefig(self.page)
            self.page = None


def _cell(value: Any) -> str:
    text = format_value(value).replace("\n", " ")
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 3] + "..."


def _column_blocks(widths: Sequence[int], room: int) -> list[list[int]]:
    """Consecutive columns grouped so that each group fits ``room`` characters."""
    blocks: list[list[int]] = [[]]
    used = 0
    for index, width in enumerate(widths):
        if blocks[-1] and used + 2 + width > room:
            blocks.append([])
            used = 0
        blocks[-1].append(index)
        used += width + 2
    return blocks


def _records(document: PdfDocument, records: Sequence[Mapping[str, Any]],
             columns: Sequence[str]) -> None:
    document.table(columns, [[record.get(column) for column in columns] for record in records])


# --- the recording ----------------------------------------------------------------------------


def write_recording_pdf(
    result: RecordingResult,
    out_dir: str | Path,
    *,
    units_table: pd.DataFrame | None = None,
    doses_table: pd.DataFrame | None = None,
    params: Mapping[str, Any] | None = None,
) -> Path | None:
    """``reports/<recording>.pdf`` with every section of the recording's HTML report.

    Returns None for a recording that was not analysed (its page says why).
    """
    if result.analysis is None or not result.ok:
        return None
    context = report_context(
        result,
        units_table=result.units if units_table is None else units_table,
        doses_table=result.doses if doses_table is None else doses_table,
        params=params or {},
        keep=copy_figure,
    )
    path = report_path(out_dir, str(result.recording_row["recording"])).with_suffix(".pdf")
    return write_atomic(path, lambda tmp: _write_pages(tmp, context, _recording_pages))


def _write_pages(path: Path, context: Mapping[str, Any], pages: Any) -> None:
    metadata = {"Title": f"rapheunit: {context.get('name', 'batch')}", "CreationDate": None}
    # TrueType fonts keep the text searchable and copyable in a PDF reader.
    with rc_context({"pdf.fonttype": 42}), PdfPages(path, metadata=metadata) as pdf:
        document = PdfDocument(pdf)
        pages(document, context)
        document.close()


def _recording_pages(document: PdfDocument, context: Mapping[str, Any]) -> None:
    document.heading(f"{context['name']} ({context['row'].get('status', '')})", 1)
    document.paragraph(f"rapheunit {context['version']} report, {context['generated']}")
    _recording_section(document, context)
    _detection_section(document, context["detections"])
    if context["timecourse_first"]:
        _timecourse_sections(document, context)
    for unit in context["units"]:
        _unit_section(document, unit)
    if not context["timecourse_first"]:
        _timecourse_sections(document, context)
    document.heading("QC rules")
    _records(document, context["qc_rules"], ["metric", "column", "warn", "fail"])


def _recording_section(document: PdfDocument, context: Mapping[str, Any]) -> None:
    document.heading("Recording")
    document.heading("Provenance", 3)
    document.key_values(context["provenance"])
    document.heading("Units", 3)
    document.table(
        ["unit", "spikes", "baseline rate (Hz)", "waveforms", "classification", "QC"],
        [[u["id"], u["n_spikes"], u["baseline_rate_hz"], u["has_waveforms"],
          u["classification"], u["qc_status"]] for u in context["units"]],
    )
    if context["warnings"]:
        document.heading("Warnings while reading", 3)
        document.bullets(context["warnings"])
    document.heading("Injections", 3)
    if context["injections"]:
        _records(document, context["injections"], INJECTION_COLUMNS)
    else:
        document.paragraph("No injections: the whole recording is baseline.")
    if context["curation"] or context["curation_stale"]:
        document.heading("Curation", 3)
        document.bullets(context["curation"])
        if context["curation_stale"]:
            document.paragraph("Not applied (they no longer match the data):")
            document.bullets(context["curation_stale"])
    if context["annotations"]:
        document.heading("Markers not read as injections", 3)
        document.table(["time_s", "text", "reason"],
                       [[a.time_s, a.text, a.reason] for a in context["annotations"]])


def _detection_section(document: PdfDocument, detections: Sequence[Mapping[str, Any]]) -> None:
    if not detections:
        return
    document.heading("Spike detection")
    _records(document, detections, DETECTION_COLUMNS)
    for channel in detections:
        document.figure(channel["figure"], f"{channel['signal']} channel {channel['channel']}: "
                        f"filtered signal ({channel['band_hz']} Hz) with the threshold and the "
                        "detected spikes of each unit.")


def _timecourse_sections(document: PdfDocument, context: Mapping[str, Any]) -> None:
    for course in context["timecourses"]:
        document.heading(f"Time course after {course['title']}")
        reference = ("the level just before this antagonist" if course["pre_injection_reference"]
                     else "the pre-drug baseline")
        document.figure(course["figure"], f"Firing as % of {reference} against time from the "
                        f"injection at {format_value(course['time_s'])} s "
                        f"({course['n_units']} unit(s)).")
        document.heading("Onset, maximal effect and recovery", 3)
        _records(document, course["metrics"], TIMECOURSE_METRIC_COLUMNS)


def _unit_section(document: PdfDocument, unit: Mapping[str, Any]) -> None:
    document.heading(f"Unit {unit['id']}: {unit['classification'] or 'not classified'}, "
                     f"QC {unit['qc_status'] or '-'}")
    document.heading("Verdict", 3)
    document.key_values([*unit["verdict"], *unit["criteria"]])
    document.bullets(unit["classification_reasons"])
    document.heading("Quality control", 3)
    if unit["qc_flags"]:
        document.paragraph("Flags: " + ", ".join(unit["qc_flags"]))
        document.bullets(unit["qc_reasons"])
    else:
        document.paragraph("No QC flag.")
    document.figure(unit["figure"], "Rate histogram, epoch lane and raster; baseline ISI "
                    "histogram, autocorrelogram, mean waveform and dose-response with the "
                    "Hill fit.")
    document.heading("Dose-response fit", 3)
    if unit["fit"]:
        document.key_values(unit["fit"])
    else:
        document.paragraph("No fit in this run.")
    document.heading("Responses per injection", 3)
    if unit["doses"]:
        _records(document, unit["doses"], unit["dose_columns"])
    else:
        document.paragraph("No injection windows.")


# --- the batch --------------------------------------------------------------------------------


def write_batch_pdf(batch: BatchResult, out_dir: str | Path) -> Path:
    """``reports/batch.pdf``: every section of the batch page (population, groups, recordings)."""
    reports_dir = Path(out_dir) / REPORTS_DIR
    context = index_context(batch.recordings, batch.units, summary=batch.summary,
                            population=batch.population, groups=batch.groups,
                            params=batch.params, reports_dir=reports_dir, keep=copy_figure)
    return write_atomic(reports_dir / BATCH_PDF_NAME,
                        lambda tmp: _write_pages(tmp, context, _batch_pages))


def _batch_pages(document: PdfDocument, context: Mapping[str, Any]) -> None:
    document.heading("rapheunit reports", 1)
    document.paragraph(f"rapheunit {context['version']}, {context['generated']}")
    document.heading("Summary")
    document.key_values([
        ("recordings", len(context["records"])), ("failed", context["n_failed"]),
        ("units", context["n_units"]), ("classification", _counts(context["classification"])),
        ("QC", _counts(context["qc"])), ("curated units", context["n_curated"]),
    ])
    for population in context["populations"]:
        document.heading(f"Population: {population['title']}")
        document.bullets([*population["headline"], population["selection"]])
        document.figure(population["figure"], f"Population dose-response of "
                        f"{population['title']}: mean ± SEM per cumulative dose, pooled fit.")
        document.heading("population.csv: per cumulative dose", 3)
        _records(document, population["population_records"], population["population_columns"])
    if not context["populations"]:
        document.heading("Population")
        document.paragraph("No selected unit has a dose-response: no population result.")
    if context["comparisons"]:
        document.heading(f"Group comparison ({context['group_by']})")
        _records(document, context["comparisons"],
                 [c for c in COMPARISON_COLUMNS if c in context["comparison_columns"]])
    document.heading("Recordings")
    _records(document, context["records"], RECORDING_COLUMNS)


def _counts(pairs: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{key}: {count}" for key, count in pairs) or "-"

