"""The figure page of a recording's units, and the rate thumbnail of the notebook summaries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator, MaxNLocator

from rapheunit.core.model import Recording, Unit
from rapheunit.viz.html import (
    THUMBNAIL_DPI,
    figure_data_uri,
)
from rapheunit.viz.plot import (
    autocorrelogram_plot,
    dose_response_plot,
    draw_timeline,
    isi_histogram_plot,
    make_room_for_labels,
    new_figure,
    rate_histogram,
    timeline_axes,
    waveform_plot,
)

if TYPE_CHECKING:
    from rapheunit.measures.analysis import RecordingAnalysis


DOSE_TABLE_COLUMNS = (
    "drug", "dose", "dose_unit", "cumulative_dose", "injection_time_s", "window_start_s",
    "window_stop_s", "rate_hz", "pct_baseline",
)


UNIT_FIGURE_SIZE_IN = (11.0, 6.2)


THUMBNAIL_SIZE_IN = (3.0, 0.8)
COMPACT_FONT_SIZE = 8.0
COMPACT_MAX_TICKS = 5


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

    The page holds the rate histogram, the epoch lane and the raster strip
    (whole recording), then the baseline ISI histogram, baseline autocorrelogram,
    waveform and dose-response; a panel with nothing to show (no waveforms, no
    injections) is left out. Creating Axes and their ticks is most of
    matplotlib's cost, so :meth:`draw` keeps the Axes and only replaces what was
    drawn in them.
    """

    def __init__(self, analysis: RecordingAnalysis) -> None:
        self.analysis = analysis
        self.figure = new_figure(UNIT_FIGURE_SIZE_IN)
        outer = self.figure.add_gridspec(2, 1, height_ratios=(3.8, 2.4), hspace=0.42)
        self.rate_ax, self.lane_ax, self.raster_ax = timeline_axes(self.figure, outer[0])
        bottom = outer[1].subgridspec(1, 4, wspace=0.42)
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
        recording = analysis.recording
        draw_timeline((self.rate_ax, self.lane_ax, self.raster_ax), unit.spike_times,
                      recording.injections, t_start=recording.t_start, t_stop=recording.t_stop,
                      baseline=analysis.baseline, response_windows=analysis.windows)
        baseline_spikes = analysis.baseline_spikes(unit)
        isi_histogram_plot(baseline_spikes, ax=self.panels[0])
        autocorrelogram_plot(baseline_spikes, ax=self.panels[1])
        waveform = analysis.waveforms[unit.id]
        unit_doses = pd.DataFrame(columns=list(DOSE_TABLE_COLUMNS)) if doses is None else doses
        # Panels with something to show fill the free slots from the left; the rest are hidden.
        drawers = [
            *([lambda ax: waveform_plot(waveform, ax=ax)] if waveform.has_measures else []),
            *([lambda ax: dose_response_plot(unit_doses, fit, ax=ax)]
              if not unit_doses.empty else []),
        ]
        for index, slot in enumerate(self.panels[2:]):
            slot.set_visible(index < len(drawers))
            if index < len(drawers):
                if slot.get_xscale() != "linear":  # the slot held the log-dose plot before
                    slot.set_xscale("linear")
                drawers[index](slot)
        _compact(ax for ax in self.figure.axes if ax is not self.lane_ax)
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
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Recording, Unit
    >>> from rapheunit.run.pipeline import measure
    >>> rec = Recording("r", Path("r"), 0.0, 300.0, [Unit("u", np.arange(0.0, 300.0, 0.7))])
    >>> figure = unit_figure(measure(rec), rec.units[0])
    >>> len(figure.axes), sum(ax.get_visible() for ax in figure.axes)  # no waveform, no doses
    (7, 5)
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
    return figure_data_uri(ax.figure, dpi=THUMBNAIL_DPI)
