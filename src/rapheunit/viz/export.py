"""Figures as separate files for a figure editor: ``--figures DIR --figure-format``.

Each unit's panels (rate and raster, ISI histogram, autocorrelogram, waveform,
dose-response) and each population plot are written as one file each, named
``<recording>_<unit>_<panel>.<format>`` and ``population_<drug>[_<group>].<format>``.
SVG and PDF are vector (text kept as text); PNG is written at
:data:`EXPORT_DPI`, the resolution journals ask of line art and halftones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from rapheunit.core.model import Unit
from rapheunit.io.output import write_atomic
from rapheunit.viz.batch_page import population_figures
from rapheunit.viz.html import SVG_SETTINGS, report_filename
from rapheunit.viz.plot import (
    autocorrelogram_plot,
    dose_response_plot,
    isi_histogram_plot,
    new_figure,
    rate_with_raster,
    waveform_plot,
)
from rapheunit.viz.sections import rows_of, unit_row, unit_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from matplotlib.axes import Axes

    from rapheunit.measures.analysis import RecordingAnalysis
    from rapheunit.measures.results import BatchResult, RecordingResult

FIGURE_FORMATS = ("svg", "pdf", "png")
# Journals ask for >= 300 dpi for raster figures (e.g. Elsevier and Springer artwork guides).
EXPORT_DPI = 300
# Journal artwork sizes (Elsevier and Springer guides): one column 85 mm, the full page
# 180 mm; text 6-8 pt at print size. Each small panel is drawn for one column, the time
# panel for the page, so that they go in unscaled (5 mm kept for labels out of the axes).
COLUMN_PANEL_IN = (80.0 / 25.4, 2.4)
PAGE_PANEL_IN = (175.0 / 25.4, 3.2)
JOURNAL_FONT_PT = 8.0


def save_figure(figure: Figure, path: Path, figure_format: str) -> Path:
    """Write ``figure``, cropped to what is drawn, as ``figure_format``."""
    def write(tmp: Path) -> None:
        with rc_context(SVG_SETTINGS | {"pdf.fonttype": 42}):  # TrueType: editable text
            figure.savefig(tmp, format=figure_format, dpi=EXPORT_DPI, bbox_inches="tight",
                           metadata={"Date": None} if figure_format != "png" else None)

    return write_atomic(path, write)


def _file_stem(name: str) -> str:
    """``name`` made safe for a file name, as the report pages are named."""
    return Path(report_filename(name)).stem


def _column_panel(draw: Callable[[Axes], object]) -> Figure:
    figure = new_figure(COLUMN_PANEL_IN)
    draw(figure.add_subplot())
    return figure


def unit_panel_figures(analysis: RecordingAnalysis, unit: Unit, doses: pd.DataFrame,
                       fit: pd.Series | None) -> dict[str, Figure]:
    """Each panel of ``unit`` as a figure of its own, at journal size; empty panels left out."""
    recording = analysis.recording
    baseline_spikes = analysis.baseline_spikes(unit)
    with rc_context({"font.size": JOURNAL_FONT_PT}):
        figures = {
            "rate": rate_with_raster(
                unit.spike_times, recording.injections, t_start=recording.t_start,
                t_stop=recording.t_stop, baseline=analysis.baseline,
                response_windows=analysis.windows, figsize=PAGE_PANEL_IN),
            "isi": _column_panel(lambda ax: isi_histogram_plot(baseline_spikes, ax=ax)),
            "autocorrelogram": _column_panel(
                lambda ax: autocorrelogram_plot(baseline_spikes, ax=ax)),
        }
        waveform = analysis.waveforms[unit.id]
        if waveform.has_measures:
            figures["waveform"] = _column_panel(lambda ax: waveform_plot(waveform, ax=ax))
        if not doses.empty:
            figures["dose_response"] = _column_panel(
                lambda ax: dose_response_plot(doses, fit, ax=ax))
    return figures


def export_unit_panels(analysis: RecordingAnalysis, units: pd.DataFrame, doses: pd.DataFrame,
                       folder: str | Path, figure_format: str = "svg") -> list[Path]:
    """Write every unit's panels of one recording into ``folder``; return the paths."""
    recording = analysis.recording
    units, doses = rows_of(units, recording.name), rows_of(doses, recording.name)
    paths = []
    for unit in recording.units:
        row = unit_row(units, unit.id)
        figures = unit_panel_figures(analysis, unit, unit_rows(doses, unit.id),
                                     row if "fit_status" in row else None)
        stem = _file_stem(f"{recording.name}_{unit.id}")
        for name, figure in figures.items():
            path = Path(folder) / f"{stem}_{name}.{figure_format}"
            paths.append(save_figure(figure, path, figure_format))
    return paths


def export_population(summary: pd.DataFrame, population: pd.DataFrame, folder: str | Path,
                      figure_format: str = "svg", group_by: str | None = None) -> list[Path]:
    """Write each population dose-response figure into ``folder``; return the paths."""
    return [
        save_figure(figure, Path(folder) / f"population_{_file_stem(name)}.{figure_format}",
                    figure_format)
        for name, figure in population_figures(summary, population, group_by).items()
    ]


def write_recording_extras(result: RecordingResult, units: pd.DataFrame, out: str | Path, *,
                           figures: str | Path | None, figure_format: str, pdf: bool,
                           params: Mapping[str, Any] | None = None) -> None:
    """A loaded recording's panels into ``figures`` (when given) and its PDF (``pdf``)."""
    if figures is not None and result.analysis is not None:
        export_unit_panels(result.analysis, units, result.doses, Path(figures), figure_format)
    if pdf:
        from rapheunit.viz.pdf_report import write_recording_pdf

        write_recording_pdf(result, out, units_table=units, params=params)


def write_batch_extras(batch: BatchResult, out: str | Path, *,
                       figures: str | Path | None, figure_format: str, pdf: bool,
                       group_by: str | None = None) -> None:
    """The population plots into ``figures`` (when given) and ``reports/batch.pdf`` (``pdf``)."""
    if figures is not None:
        export_population(batch.summary, batch.population, Path(figures), figure_format,
                          group_by)
    if pdf:
        from rapheunit.viz.pdf_report import write_batch_pdf

        write_batch_pdf(batch, out)
