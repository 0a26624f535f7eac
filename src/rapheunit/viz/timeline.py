"""Firing against time: rate histogram, epoch lane, raster strip and injection arrows.

Injection labels are short (``"ipsa 5"``, ``"WAY 100"``) and staggered on as many rows as
needed so that they never overlap, even with ten injections. The baseline and the response
windows sit in a lane of their own, each labelled with the injection it measures, so that
they neither tint the bars nor read as belonging to the next arrow. Times are in seconds on
the recording's own axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch
from matplotlib.text import Text
from matplotlib.transforms import offset_copy

from rapheunit.core.epochs import Window
from rapheunit.core.errors import check_positive
from rapheunit.core.model import Injection
from rapheunit.viz.style import (
    ARROW_PT,
    DEFAULT_BIN_S,
    EPOCH_LANE_GID,
    HISTOGRAM_GID,
    INJECTION_ARROW_GID,
    INJECTION_LABEL_GID,
    LABEL_FONT_SIZE,
    LABEL_GAP_PX,
    LABEL_ROW_PT,
    LANE_ALPHA,
    MARGINS_IN,
    MIN_RATE_BINS,
    PALETTE,
    RASTER_DENSITY_BINS,
    RASTER_GID,
    RASTER_MAX_TICKS,
    RASTER_TICK_LIMIT,
    RATE_BIN_CHOICES_S,
    SHORT_DRUG_CHARS,
    as_times,
    axes_or_new,
    check_span,
    drug_colour,
    new_figure,
)


def short_injection_label(injection: Injection) -> str:
    """Compact label of an injection: short drug name and the dose given.

    Examples
    --------
    >>> short_injection_label(Injection(0.0, "ipsapirone", 5.0, "ug/kg", 5.0))
    'ipsa 5'
    >>> short_injection_label(Injection(0.0, "WAY-100635", 100.0, "ug/kg", 100.0))
    'WAY 100'
    >>> short_injection_label(Injection(0.0, "saline", 0.0, "ml/kg", 0.0))
    'sali'
    """
    name = injection.drug.strip()
    prefix = name.split("-")[0]
    short = prefix if "-" in name and prefix.isalpha() else name[:SHORT_DRUG_CHARS]
    return f"{short} {injection.dose:g}" if injection.dose > 0 else short



def mark_injections(ax: Axes, injections: Sequence[Injection]) -> list[Text]:
    """Arrows above ``ax`` at each injection inside the x range, with staggered labels.

    Labels are placed on the lowest row where they do not overlap a label
    already placed (rows are :data:`LABEL_ROW_PT` points apart), so the x
    limits and the Axes width must be final before calling. A faint vertical
    line marks each injection inside the plot.

    Returns
    -------
    list of matplotlib.text.Text
        The labels, in time order.
    """
    low, high = sorted(ax.get_xlim())
    shown = sorted((i for i in injections if low <= i.time_s <= high), key=lambda i: i.time_s)
    labels = []
    _injection_lines(ax, shown, alpha=0.5)
    for injection in shown:
        colour = drug_colour(injection.drug)
        labels.append(
            ax.text(
                injection.time_s, 1.0, short_injection_label(injection),
                transform=_label_transform(ax, 0), ha="center", va="bottom",
                fontsize=LABEL_FONT_SIZE, color=colour, clip_on=False, gid=INJECTION_LABEL_GID,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
                zorder=4,
            )
        )
    for label, row in zip(labels, _label_rows(labels), strict=True):
        label.set_transform(_label_transform(ax, row))
        ax.annotate(
            "", xy=(label.get_position()[0], 1.0), xycoords=ax.get_xaxis_transform(),
            xytext=(0.0, ARROW_PT + row * LABEL_ROW_PT), textcoords="offset points",
            arrowprops={"arrowstyle": "-|>", "color": label.get_color(), "linewidth": 0.8,
                        "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7},
            annotation_clip=False, gid=INJECTION_ARROW_GID, zorder=3,
        )
    return labels


def _label_transform(ax: Axes, row: int) -> Any:
    """x in data, y in axes units, lifted by the arrow and ``row`` label rows (points)."""
    return offset_copy(
        ax.get_xaxis_transform(), fig=ax.figure, y=ARROW_PT + row * LABEL_ROW_PT, units="points"
    )


def _label_rows(labels: Sequence[Text]) -> list[int]:
    """First-fit rows of labels sorted by their left edge (interval colouring)."""
    extents = [label.get_window_extent() for label in labels]
    row_right_edges: list[float] = []
    rows = [0] * len(labels)
    for index in sorted(range(len(labels)), key=lambda i: extents[i].x0):
        extent = extents[index]
        free = [r for r, right in enumerate(row_right_edges) if extent.x0 > right + LABEL_GAP_PX]
        row = free[0] if free else len(row_right_edges)
        if row == len(row_right_edges):
            row_right_edges.append(extent.x1)
        else:
            row_right_edges[row] = extent.x1
        rows[index] = row
    return rows


def make_room_for_labels(figure: Figure, *, pad_in: float = 0.08) -> None:
    """Lower the top of the subplots so every injection label fits inside ``figure``."""
    labels = [text for ax in figure.axes for text in ax.texts if text.get_gid() ==
              INJECTION_LABEL_GID]
    if not labels:
        return
    top_px = max(label.get_window_extent().y1 for label in labels)
    axes_top_px = max(ax.get_window_extent().y1 for ax in figure.axes)
    needed_in = (top_px - axes_top_px) / figure.dpi + pad_in
    figure.subplots_adjust(top=1.0 - needed_in / figure.get_figheight())


ResponseWindows = Sequence[tuple[Injection, Window] | Window]


def epoch_lane(ax: Axes, baseline: Window | None, response_windows: ResponseWindows = ()
               ) -> list[Text]:
    """The baseline and each response window as bars in ``ax``, labelled with what they measure.

    The baseline is labelled ``"baseline"``, each response window given as an
    ``(injection, window)`` pair with the short label of its injection (``"ipsa 5"``; a
    bare :class:`Window` is drawn unlabelled), on first-fit rows so that labels never
    overlap. The x limits and the Axes width must be final before calling.

    Returns
    -------
    list of matplotlib.text.Text
        The labels: the baseline's first, then the windows' in time order.
    """
    pairs = [item if isinstance(item, tuple) else (None, item) for item in response_windows]
    spans = ([(baseline, "baseline", PALETTE["baseline"])] if baseline is not None else []) + [
        (window, short_injection_label(injection) if injection else "", PALETTE["response"])
        for injection, window in sorted(pairs, key=lambda pair: pair[1].start_s)
        if window.length_s > 0
    ]
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.broken_barh([(w.start_s, w.length_s) for w, _, _ in spans], (0.0, 0.3),
                   facecolors=[colour for _, _, colour in spans], alpha=LANE_ALPHA,
                   gid=EPOCH_LANE_GID)
    labels = [
        ax.text((w.start_s + w.stop_s) / 2.0, 0.38, text, ha="center", va="bottom",
                fontsize=LABEL_FONT_SIZE - 1, color=colour, gid=EPOCH_LANE_GID, clip_on=False)
        for w, text, colour in spans
    ]
    for label, row in zip(labels, _label_rows(labels), strict=True):
        label.set_transform(offset_copy(ax.transData, fig=ax.figure, y=row * LABEL_ROW_PT * 0.8,
                                        units="points"))
    return labels


def _injection_lines(ax: Axes, injections: Sequence[Injection], alpha: float) -> None:
    """A faint full-height line at each injection, coloured by drug role (one artist)."""
    if injections:
        ax.vlines([i.time_s for i in injections], 0.0, 1.0, transform=ax.get_xaxis_transform(),
                  colors=[drug_colour(i.drug) for i in injections], linewidths=0.6, alpha=alpha,
                  zorder=1)


def draw_bars(ax: Axes, heights: np.ndarray, edges: np.ndarray, label: str = "") -> None:
    """A histogram as one filled step patch: far faster to draw than one Rectangle per bar.

    The data limits are set from the edges and heights directly: letting
    matplotlib derive them walks every segment of the patch in Python.
    """
    patch = StepPatch(heights, edges, fill=True, color=PALETTE["rate"], linewidth=0,
                      label=label or "_nolegend_", gid=HISTOGRAM_GID, zorder=2)
    # Sticky edges keep autoscale margins from opening gaps below 0 and beyond the range.
    patch.sticky_edges.x[:] = [float(edges[0]), float(edges[-1])]
    patch.sticky_edges.y[:] = [0.0]
    ax.add_artist(patch)
    top = float(np.max(heights, initial=0.0)) or 1.0  # an empty histogram still gets a scale
    ax.update_datalim([(float(edges[0]), 0.0), (float(edges[-1]), top)])
    ax.autoscale_view()


def histogram_bars(ax: Axes) -> np.ndarray:
    """Heights of the histogram bars drawn on ``ax`` by this module (empty when none).

    Examples
    --------
    >>> from rapheunit.viz.style import new_axes
    >>> ax = new_axes()
    >>> draw_bars(ax, np.array([1.0, 3.0]), np.array([0.0, 1.0, 2.0]))
    >>> histogram_bars(ax).tolist()
    [1.0, 3.0]
    """
    for patch in ax.patches:
        if patch.get_gid() == HISTOGRAM_GID:
            return np.asarray(patch.get_data().values)
    return np.empty(0)


def _raster_row(ax: Axes, spike_times: np.ndarray, row: int, t_start: float,
                t_stop: float) -> None:
    """One row of the raster: a tick per spike, or a density strip when ticks would merge."""
    if spike_times.size > RASTER_TICK_LIMIT:
        _density(ax, spike_times, row, t_start, t_stop)
    else:
        _ticks(ax, spike_times, row, (t_stop - t_start) / RASTER_MAX_TICKS)


def _ticks(ax: Axes, spike_times: np.ndarray, row: int, resolution_s: float) -> None:
    """One vertical tick per spike, drawn as a single NaN-separated line.

    Spikes closer than ``resolution_s`` share one tick: they would fall in
    the same pixel column anyway, which keeps drawing fast.
    """
    ticks = np.unique(np.round(spike_times / resolution_s)) * resolution_s
    x = np.repeat(ticks, 3)
    y = np.tile([row - 0.4, row + 0.4, np.nan], ticks.size)
    x[2::3] = np.nan
    ax.plot(x, y, color=PALETTE["raster"], linewidth=0.4, gid=RASTER_GID)


def _density(ax: Axes, spike_times: np.ndarray, row: int, t_start: float, t_stop: float) -> None:
    """Spike counts in :data:`RASTER_DENSITY_BINS` cells, from white (none) to black (most).

    Readable at any spike count: a silenced stretch shows white, a doubled rate darker.
    """
    edges = np.linspace(t_start, t_stop, RASTER_DENSITY_BINS + 1)
    counts = np.diff(np.searchsorted(spike_times, edges, side="left")).astype(float)
    ax.pcolormesh(edges, [row - 0.4, row + 0.4], counts[np.newaxis, :], cmap="Greys",
                  vmin=0.0, vmax=max(float(counts.max()), 1.0), shading="flat",
                  gid=RASTER_GID, rasterized=False)


def rate_bin_s(duration_s: float, bin_s: float = DEFAULT_BIN_S) -> float:
    """``bin_s``, or the widest of :data:`RATE_BIN_CHOICES_S` giving ``MIN_RATE_BINS`` bins.

    Examples
    --------
    >>> rate_bin_s(1680.0), rate_bin_s(29.0), rate_bin_s(120.0)
    (10.0, 0.5, 2.0)
    """
    if duration_s / bin_s >= MIN_RATE_BINS:
        return bin_s
    fitting = [b for b in RATE_BIN_CHOICES_S if b <= bin_s and duration_s / b >= MIN_RATE_BINS]
    return fitting[0] if fitting else RATE_BIN_CHOICES_S[-1]


def bin_edges(t_start: float, t_stop: float, bin_s: float) -> np.ndarray:
    """Edges of ``bin_s`` bins from ``t_start``; the last bin ends at ``t_stop`` (may be short).

    Examples
    --------
    >>> bin_edges(0.0, 25.0, 10.0).tolist()
    [0.0, 10.0, 20.0, 25.0]
    """
    n_bins = int(np.ceil((t_stop - t_start) / bin_s - 1e-9))
    edges = t_start + bin_s * np.arange(n_bins + 1)
    edges[-1] = t_stop
    return edges


def rate_histogram(
    spike_times: np.ndarray,
    injections: Sequence[Injection] = (),
    *,
    t_start: float,
    t_stop: float,
    bin_s: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Firing rate over the recording, injections marked with arrows and labels.

    Parameters
    ----------
    spike_times : numpy.ndarray
        Spike times (s).
    injections : sequence of Injection
        Marked with arrows and short labels above the plot.
    t_start, t_stop : float
        Recording span (s); bins are half-open, the last one may be shorter.
    bin_s : float, optional
        Bin width (s); by default :data:`DEFAULT_BIN_S`, narrowed for short recordings
        (:func:`rate_bin_s`). The y label names the width used.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = rate_histogram(np.arange(0.0, 600.0, 0.5), t_start=0.0, t_stop=600.0)
    >>> histogram_bars(ax)[:3].tolist(), ax.get_ylabel()
    ([2.0, 2.0, 2.0], 'Rate (spikes/s, 10 s bins)')
    """
    check_span(t_start, t_stop)
    bin_s = rate_bin_s(t_stop - t_start) if bin_s is None else bin_s
    check_positive(bin_s, "bin_s")
    ax = axes_or_new(ax, (9.0, 3.0))
    edges = bin_edges(t_start, t_stop, bin_s)
    counts = np.diff(np.searchsorted(as_times(spike_times), edges, side="left"))
    rates = counts / np.diff(edges)
    draw_bars(ax, rates, edges, label=f"rate ({bin_s:g} s bins)")
    ax.set_xlim(t_start, t_stop)
    ax.set_ylim(0.0, max(float(rates.max(initial=0.0)) * 1.08, 1.0))
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(f"Rate (spikes/s, {bin_s:g} s bins)")
    mark_injections(ax, injections)
    return ax


def raster_strip(
    spike_times: np.ndarray | Sequence[np.ndarray],
    injections: Sequence[Injection] = (),
    *,
    t_start: float,
    t_stop: float,
    row_labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Spike-time strip, one row per train, injections as lines.

    A row of up to :data:`RASTER_TICK_LIMIT` spikes gets a tick per spike; a
    busier row, whose ticks would merge into a solid bar, is drawn as a density
    strip (spike count per cell, white to black).

    Examples
    --------
    >>> ax = raster_strip([np.array([1.0, 2.0]), np.array([3.0])], t_start=0.0, t_stop=5.0)
    >>> [line.get_gid() for line in ax.lines], ax.get_xlabel()
    (['raster', 'raster'], 'Time (s)')
    """
    check_span(t_start, t_stop)
    ax = axes_or_new(ax, (9.0, 1.4))
    is_one_train = isinstance(spike_times, np.ndarray) and spike_times.ndim == 1
    trains = [as_times(spike_times)] if is_one_train else [as_times(t) for t in spike_times]
    for row, train in enumerate(trains):
        _raster_row(ax, train, row, t_start, t_stop)
    _injection_lines(ax, injections, alpha=0.7)
    ax.set_xlim(t_start, t_stop)
    ax.set_ylim(-0.5, len(trains) - 0.5)
    ax.set_yticks(range(len(trains)), list(row_labels) if row_labels else [""] * len(trains))
    ax.tick_params(axis="y", length=0 if not row_labels else 3.5)  # no bare tick marks
    ax.set_xlabel("Time (s)")
    return ax


def timeline_axes(figure: Figure, spec: Any) -> tuple[Axes, Axes, Axes]:
    """Rate, epoch-lane and raster Axes stacked in ``spec`` (a gridspec cell), sharing time."""
    grid = spec.subgridspec(3, 1, height_ratios=(4.0, 0.75, 1.0), hspace=0.1)
    rate_ax = figure.add_subplot(grid[0])
    lane_ax = figure.add_subplot(grid[1], sharex=rate_ax)
    raster_ax = figure.add_subplot(grid[2], sharex=rate_ax)
    for ax in (rate_ax, lane_ax):
        ax.tick_params(labelbottom=False, bottom=False)
    return rate_ax, lane_ax, raster_ax


def draw_timeline(
    axes: tuple[Axes, Axes, Axes],
    spike_times: np.ndarray,
    injections: Sequence[Injection] = (),
    *,
    t_start: float,
    t_stop: float,
    bin_s: float | None = None,
    baseline: Window | None = None,
    response_windows: ResponseWindows = (),
) -> None:
    """Rate histogram, epoch lane and raster of one train in the Axes of :func:`timeline_axes`."""
    rate_ax, lane_ax, raster_ax = axes
    span = {"t_start": t_start, "t_stop": t_stop}
    raster_strip(spike_times, injections, ax=raster_ax, **span)
    rate_histogram(spike_times, injections, bin_s=bin_s, ax=rate_ax, **span)
    rate_ax.set_xlabel("")
    epoch_lane(lane_ax, baseline, response_windows)


def rate_with_raster(
    spike_times: np.ndarray,
    injections: Sequence[Injection] = (),
    *,
    t_start: float,
    t_stop: float,
    bin_s: float | None = None,
    baseline: Window | None = None,
    response_windows: ResponseWindows = (),
    title: str | None = None,
    figsize: tuple[float, float] = (9.0, 4.2),
) -> Figure:
    """Rate histogram over the epoch lane and the raster strip, sharing the time axis.

    ``response_windows`` are ``(injection, window)`` pairs, as
    :func:`rapheunit.core.epochs.response_windows` gives them.

    Examples
    --------
    >>> figure = rate_with_raster(np.arange(0.0, 60.0, 0.5), t_start=0.0, t_stop=60.0)
    >>> len(figure.axes), figure.axes[2].get_shared_x_axes().joined(*figure.axes[::2])
    (3, True)
    """
    figure = new_figure(figsize)
    axes = timeline_axes(figure, figure.add_gridspec(1, 1)[0])
    draw_timeline(axes, spike_times, injections, t_start=t_start, t_stop=t_stop, bin_s=bin_s,
                  baseline=baseline, response_windows=response_windows)
    if title:
        figure.suptitle(title, x=MARGINS_IN[0] / figsize[0], ha="left", fontsize=10)
    make_room_for_labels(figure, pad_in=0.3 if title else 0.08)
    return figure
