"""Figures: rate histogram, raster, ISI histogram, autocorrelogram, waveform, dose-response,
and the filtered signal with the detected spikes.

Every function takes data plus an optional ``ax=`` and returns the Axes
(multi-panel functions return the Figure), so the same code draws in scripts,
notebooks and reports. Without ``ax`` a new :class:`matplotlib.figure.Figure`
with an Agg canvas is made: pyplot is never used, so no global figure state
builds up (close nothing, just drop the reference).

Colours come from :data:`PALETTE` (Okabe & Ito 2008, colour-blind safe).
Injection labels are short (``"ipsa 5"``, ``"WAY 100"``) and staggered on as
many rows as needed so that they never overlap, even with ten injections.
Times are in seconds on the recording's own axis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, NullFormatter
from matplotlib.transforms import offset_copy

from rapheunit.core.epochs import Window
from rapheunit.core.errors import BadParameterError, check_option, check_positive
from rapheunit.core.markers import AGONIST, ANTAGONIST, OTHER, VEHICLE, drug_role
from rapheunit.core.model import Injection
from rapheunit.detection.detect import POLARITIES, SignalExcerpt
from rapheunit.doseresponse.fits import (
    BASELINE_PCT,
    NON_DOSE_RESPONSE_ROLES,
    HillFit,
    hill_response,
)
from rapheunit.measures.features import (
    AUTOCORRELOGRAM_BIN_S,
    AUTOCORRELOGRAM_WINDOW_S,
    BURST_ISI_S,
    autocorrelogram,
    isi_histogram,
)
from rapheunit.measures.qc import REFRACTORY_S
from rapheunit.measures.waveform import WaveformFeatures

#: Okabe & Ito (2008) colour-blind-safe colours, by what they show.
PALETTE: dict[str, str] = {
    "rate": "#0072B2",  # blue
    "raster": "#000000",  # black
    "baseline": "#009E73",  # bluish green
    "response": "#E69F00",  # orange
    AGONIST: "#D55E00",  # vermillion
    ANTAGONIST: "#CC79A7",  # reddish purple
    VEHICLE: "#56B4E9",  # sky blue
    OTHER: "#000000",  # black
    "fit": "#D55E00",  # vermillion
    "spread": "#56B4E9",  # sky blue (SD bands)
    "measure": "#000000",  # black
}
# Injection labels: drug names cut to this many characters ("ipsapirone" -> "ipsa").
SHORT_DRUG_CHARS = 4
LABEL_FONT_SIZE = 7.0
# Label rows above the axes: arrow length and row spacing in points.
ARROW_PT = 8.0
LABEL_ROW_PT = 10.0
# Horizontal gap (display pixels) kept between labels on one row.
LABEL_GAP_PX = 3.0
INJECTION_LABEL_GID = "injection_label"
INJECTION_ARROW_GID = "injection_arrow"
DOSE_POINTS_GID = "dose_points"
# A raster strip draws at most this many distinct tick positions per row.
RASTER_MAX_TICKS = 4000
HISTOGRAM_GID = "histogram"
RASTER_GID = "raster"
DEFAULT_BIN_S = 10.0
# Share of the waveform's span left free below it for the legend.
WAVEFORM_LEGEND_ROOM = 0.9
# Dose-response y axes reach at least this % of baseline: room for the legend above 100 %.
DOSE_AXIS_TOP_PCT = 135.0
# Figure margins (left, right, bottom, top) in inches: room for tick and axis labels.
MARGINS_IN = (0.75, 0.2, 0.55, 0.3)
# Windows are shaded over the bars (zorder) so that they stay visible under high rates.
SHADE_ALPHA = 0.25
THRESHOLD_GID = "threshold"
DETECTED_SPIKES_GID = "detected_spikes"
# Detected units in sorting order (the dominant unit first); colours cycle beyond five units.
UNIT_COLOURS = tuple(PALETTE[key] for key in (AGONIST, "baseline", "response", ANTAGONIST, VEHICLE))


def new_figure(figsize: tuple[float, float] = (6.0, 3.0)) -> Figure:
    """A :class:`~matplotlib.figure.Figure` with an Agg canvas (no pyplot, no global state).

    Margins are fixed in inches (:data:`MARGINS_IN`) rather than left to a
    layout engine, so that label positions measured while drawing stay valid.

    Examples
    --------
    >>> new_figure().canvas.get_renderer() is not None
    True
    """
    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    width, height = figsize
    left, right, bottom, top = MARGINS_IN
    # Small figures keep at least half their size for the plot.
    shrink = min(1.0, 0.5 * width / (left + right), 0.5 * height / (bottom + top))
    figure.subplots_adjust(left=shrink * left / width, right=1.0 - shrink * right / width,
                           bottom=shrink * bottom / height, top=1.0 - shrink * top / height)
    return figure


def new_axes(figsize: tuple[float, float] = (6.0, 3.0)) -> Axes:
    """One Axes on a :func:`new_figure`."""
    return new_figure(figsize).add_subplot()


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 3.0)) -> Axes:
    return new_axes(figsize) if ax is None else ax


def _times(spike_times: np.ndarray) -> np.ndarray:
    times = np.asarray(spike_times, dtype=np.float64).ravel()
    if times.size and not np.all(np.isfinite(times)):
        raise BadParameterError("spike_times contain NaN or infinite values")
    return np.sort(times)


def _log_x_axis(ax: Axes) -> None:
    """Log x axis with plain numbers ("10", "0.5") and unlabelled minor ticks.

    Plain labels read better than 10^n and skip mathtext, which is slow to draw.
    """
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _check_span(t_start: float, t_stop: float) -> None:
    if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop <= t_start:
        raise BadParameterError(f"need t_start < t_stop, got {t_start} and {t_stop}")


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


def drug_colour(drug: str) -> str:
    """Palette colour of a drug, by its pharmacological role.

    Examples
    --------
    >>> drug_colour("ipsapirone") == PALETTE["5ht1a_agonist"]
    True
    """
    return PALETTE[drug_role(drug)]


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


def _shade(ax: Axes, windows: Sequence[Window], colour: str, label: str) -> None:
    """Full-height bands over ``windows``, as one collection (one artist, drawn once)."""
    bands = [[(w.start_s, 0.0), (w.start_s, 1.0), (w.stop_s, 1.0), (w.stop_s, 0.0)]
             for w in windows]
    ax.add_collection(
        PolyCollection(bands, transform=ax.get_xaxis_transform(), facecolors=colour,
                       alpha=SHADE_ALPHA, linewidths=0, label=label, zorder=3),
        autolim=False,
    )


def _injection_lines(ax: Axes, injections: Sequence[Injection], alpha: float) -> None:
    """A faint full-height line at each injection, coloured by drug role (one artist)."""
    if injections:
        ax.vlines([i.time_s for i in injections], 0.0, 1.0, transform=ax.get_xaxis_transform(),
                  colors=[drug_colour(i.drug) for i in injections], linewidths=0.6, alpha=alpha,
                  zorder=1)


def _bars(ax: Axes, heights: np.ndarray, edges: np.ndarray, label: str = "") -> None:
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
    >>> ax = new_axes()
    >>> _bars(ax, np.array([1.0, 3.0]), np.array([0.0, 1.0, 2.0]))
    >>> histogram_bars(ax).tolist()
    [1.0, 3.0]
    """
    for patch in ax.patches:
        if patch.get_gid() == HISTOGRAM_GID:
            return np.asarray(patch.get_data().values)
    return np.empty(0)


def _ticks(ax: Axes, spike_times: np.ndarray, row: int, resolution_s: float) -> None:
    """One vertical tick per spike, drawn as a single NaN-separated line.

    Spikes closer than ``resolution_s`` share one tick: they would fall in
    the same pixel column anyway, and a 1 h fast unit drops from ~10^5 to a
    few thousand ticks, which keeps drawing fast.
    """
    ticks = np.unique(np.round(spike_times / resolution_s)) * resolution_s
    x = np.repeat(ticks, 3)
    y = np.tile([row - 0.4, row + 0.4, np.nan], ticks.size)
    x[2::3] = np.nan
    ax.plot(x, y, color=PALETTE["raster"], linewidth=0.4, gid=RASTER_GID)


def _legend(ax: Axes, loc: str) -> None:
    """A small frameless legend, when anything is labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=LABEL_FONT_SIZE, frameon=False, loc=loc)


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
    bin_s: float = DEFAULT_BIN_S,
    baseline: Window | None = None,
    response_windows: Sequence[Window] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Firing rate over the recording, injections marked, baseline and responses shaded.

    Parameters
    ----------
    spike_times : numpy.ndarray
        Spike times (s).
    injections : sequence of Injection
        Marked with arrows and short labels above the plot.
    t_start, t_stop : float
        Recording span (s); bins are half-open, the last one may be shorter.
    bin_s : float
        Bin width (s).
    baseline : Window, optional
        Shaded in :data:`PALETTE` ``"baseline"``.
    response_windows : sequence of Window, optional
        Shaded in ``"response"`` (e.g. ``[w for _, w in epochs.response_windows(rec)]``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = rate_histogram(np.arange(0.0, 60.0, 0.5), t_start=0.0, t_stop=60.0)
    >>> histogram_bars(ax).tolist(), ax.get_ylabel()
    ([2.0, 2.0, 2.0, 2.0, 2.0, 2.0], 'Rate (spikes/s)')
    """
    check_positive(bin_s, "bin_s")
    _check_span(t_start, t_stop)
    ax = _axes(ax, (9.0, 3.0))
    edges = bin_edges(t_start, t_stop, bin_s)
    counts = np.diff(np.searchsorted(_times(spike_times), edges, side="left"))
    rates = counts / np.diff(edges)
    _bars(ax, rates, edges, label=f"rate ({bin_s:g} s bins)")
    if baseline is not None:
        _shade(ax, [baseline], PALETTE["baseline"], "baseline")
    if response_windows:
        _shade(ax, response_windows, PALETTE["response"], "response window")
    ax.set_xlim(t_start, t_stop)
    ax.set_ylim(0.0, max(float(rates.max(initial=0.0)) * 1.08, 1.0))
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Rate (spikes/s)")
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
    """Spike-time strip: one tick per spike, one row per train, injections as lines.

    Examples
    --------
    >>> ax = raster_strip([np.array([1.0, 2.0]), np.array([3.0])], t_start=0.0, t_stop=5.0)
    >>> [line.get_gid() for line in ax.lines], ax.get_xlabel()
    (['raster', 'raster'], 'Time (s)')
    """
    _check_span(t_start, t_stop)
    ax = _axes(ax, (9.0, 1.4))
    is_one_train = isinstance(spike_times, np.ndarray) and spike_times.ndim == 1
    trains = [_times(spike_times)] if is_one_train else [_times(t) for t in spike_times]
    for row, train in enumerate(trains):
        _ticks(ax, train, row, (t_stop - t_start) / RASTER_MAX_TICKS)
    _injection_lines(ax, injections, alpha=0.7)
    ax.set_xlim(t_start, t_stop)
    ax.set_ylim(-0.5, len(trains) - 0.5)
    ax.set_yticks(range(len(trains)), list(row_labels) if row_labels else [""] * len(trains))
    ax.set_xlabel("Time (s)")
    return ax


def rate_with_raster(
    spike_times: np.ndarray,
    injections: Sequence[Injection] = (),
    *,
    t_start: float,
    t_stop: float,
    bin_s: float = DEFAULT_BIN_S,
    baseline: Window | None = None,
    response_windows: Sequence[Window] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (9.0, 3.8),
) -> Figure:
    """Rate histogram over a raster strip, sharing the time axis.

    Examples
    --------
    >>> figure = rate_with_raster(np.arange(0.0, 60.0, 0.5), t_start=0.0, t_stop=60.0)
    >>> len(figure.axes), figure.axes[1].get_shared_x_axes().joined(*figure.axes)
    (2, True)
    """
    figure = new_figure(figsize)
    grid = figure.add_gridspec(2, 1, height_ratios=(4, 1), hspace=0.08)
    rate_ax = figure.add_subplot(grid[0])
    raster_ax = figure.add_subplot(grid[1], sharex=rate_ax)
    raster_strip(spike_times, injections, t_start=t_start, t_stop=t_stop, ax=raster_ax)
    rate_histogram(spike_times, injections, t_start=t_start, t_stop=t_stop, bin_s=bin_s,
                   baseline=baseline, response_windows=response_windows, ax=rate_ax)
    rate_ax.set_xlabel("")
    rate_ax.tick_params(labelbottom=False)
    if title:
        figure.suptitle(title, x=MARGINS_IN[0] / figsize[0], ha="left", fontsize=10)
    make_room_for_labels(figure, pad_in=0.3 if title else 0.08)
    return figure


def isi_histogram_plot(
    spike_times: np.ndarray,
    *,
    refractory_s: float | None = REFRACTORY_S,
    burst_isi_s: float | None = BURST_ISI_S,
    ax: Axes | None = None,
    **bins: Any,
) -> Axes:
    """ISI histogram on logarithmic bins and a log time axis (ms).

    ``bins`` go to :func:`rapheunit.measures.features.isi_histogram` (``n_bins``,
    ``min_s``, ``max_s``). Dashed lines mark the refractory period and the
    burst ISI limit (None hides them).

    Examples
    --------
    >>> ax = isi_histogram_plot(np.cumsum(np.full(50, 0.5)), n_bins=20)
    >>> ax.get_xscale(), histogram_bars(ax).size
    ('log', 20)
    """
    counts, edges = isi_histogram(_times(spike_times), **bins)
    ax = _axes(ax, (4.0, 3.0))
    edges_ms = edges * 1000.0
    _bars(ax, counts, edges_ms)
    _log_x_axis(ax)
    for limit_s, name in ((refractory_s, "refractory"), (burst_isi_s, "burst")):
        if limit_s is not None:
            limit_ms = limit_s * 1000.0
            label = f"{name} {limit_ms:g} ms"
            ax.axvline(limit_ms, color=PALETTE["measure"], linestyle="--", linewidth=0.8,
                       label=label)
            # Labelled on the line itself: cheaper to draw than a legend, and read in place.
            ax.text(limit_ms, 0.98, " " + label, transform=ax.get_xaxis_transform(),
                    rotation=90, ha="left", va="top", fontsize=LABEL_FONT_SIZE)
    ax.set_xlim(edges_ms[0], edges_ms[-1])
    ax.set_xlabel("Inter-spike interval (ms)")
    ax.set_ylabel("ISIs per bin")
    return ax


def autocorrelogram_plot(
    spike_times: np.ndarray,
    *,
    bin_s: float = AUTOCORRELOGRAM_BIN_S,
    window_s: float = AUTOCORRELOGRAM_WINDOW_S,
    ax: Axes | None = None,
) -> Axes:
    """Autocorrelogram as a conditional rate: spikes/s at each lag after a spike.

    Examples
    --------
    >>> ax = autocorrelogram_plot(np.arange(0.0, 100.0, 1.0), bin_s=0.1, window_s=2.0)
    >>> histogram_bars(ax).size, ax.get_xlabel()
    (40, 'Lag (s)')
    """
    times = _times(spike_times)
    counts, edges = autocorrelogram(times, bin_s=bin_s, window_s=window_s)
    rate_hz = counts / (times.size * bin_s) if times.size else np.zeros(counts.size)
    ax = _axes(ax, (4.0, 3.0))
    _bars(ax, rate_hz, edges)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("Lag (s)")
    ax.set_ylabel("Rate (spikes/s)")
    return ax


def waveform_plot(features: WaveformFeatures, ax: Axes | None = None) -> Axes:
    """Mean waveform +/- SD with total duration, half-width and peak-to-trough drawn on it.

    Each measure is a labelled line (shown in the legend with its value).
    Without a measured waveform the Axes says why.

    Examples
    --------
    >>> from rapheunit.measures.waveform import waveform_features
    >>> ax = waveform_plot(waveform_features(None, None))
    >>> ax.texts[0].get_text()
    'no waveform: no waveforms'
    """
    ax = _axes(ax, (4.0, 3.0))
    units = features.amplitude_units or "a.u."
    ax.set_xlabel("Time (ms)")
    ax.set_ylabel(f"Amplitude ({units})")
    if not features.has_measures:
        reason = features.reasons.get("waveform_duration_ms", "not measured")
        ax.text(0.5, 0.5, f"no waveform: {reason}", transform=ax.transAxes, ha="center",
                va="center", fontsize=LABEL_FONT_SIZE)
        return ax
    time_ms, mean = features.time_ms, features.mean_waveform
    has_sd = bool(np.all(np.isfinite(features.sd_waveform)))
    if has_sd:
        ax.fill_between(time_ms, mean - features.sd_waveform, mean + features.sd_waveform,
                        color=PALETTE["spread"], alpha=0.4, linewidth=0)
    what = "file mean" if features.is_mean else (
        f"mean{' ± SD' if has_sd else ''} of {features.n_waveforms}"
    )
    ax.plot(time_ms, mean, color=PALETTE["rate"], linewidth=1.2, label=what)
    _draw_waveform_measures(ax, features)
    ax.set_xlim(time_ms[0], time_ms[-1])
    _legend(ax, "lower right")
    return ax


def detection_excerpt_plot(
    excerpt: SignalExcerpt, *, polarity: str = "both", ax: Axes | None = None
) -> Axes:
    """A stretch of filtered signal, the detection threshold and each unit's detected spikes.

    Parameters
    ----------
    excerpt : SignalExcerpt
        From :attr:`rapheunit.detection.detect.DetectionResult.excerpts`; its units are
        drawn in their order (the dominant unit first), one colour each
        (:data:`UNIT_COLOURS`), a marker on the filtered sample of each spike.
    polarity : {"both", "negative", "positive"}
        The polarity searched (``DetectionResult.params.polarity``): a line at
        ``-threshold``, ``+threshold`` or both.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from rapheunit.detection.detect import POLARITIES, SignalExcerpt
    >>> filtered = np.zeros(1000)
    >>> filtered[[100, 600]] = -80.0
    >>> excerpt = SignalExcerpt(0, 2.0, 1000.0, filtered, "uV", 50.0,
    ...     {"det#ch0#0": np.array([2.1, 2.6])})
    >>> ax = detection_excerpt_plot(excerpt, polarity="negative")
    >>> [line.get_ydata()[0] for line in ax.lines if line.get_gid() == THRESHOLD_GID]
    [-50.0]
    >>> [line.get_ydata().tolist() for line in ax.lines if line.get_gid() == DETECTED_SPIKES_GID]
    [[-80.0, -80.0]]
    """
    check_option(polarity, POLARITIES, "polarity")
    ax = _axes(ax, (9.0, 2.8))
    times_s = excerpt.times_s
    ax.plot(times_s, excerpt.filtered, color=PALETTE["raster"], linewidth=0.5, zorder=2)
    signs = {"both": (1.0, -1.0), "positive": (1.0,), "negative": (-1.0,)}[polarity]
    if np.isfinite(excerpt.threshold):
        for sign in signs:
            ax.axhline(
                sign * excerpt.threshold,
                color=PALETTE["rate"],
                linestyle="--",
                linewidth=0.9,
                gid=THRESHOLD_GID,
                label="threshold" if sign == signs[0] else "_nolegend_",
            )
    for index, (unit_id, spike_times) in enumerate(excerpt.spike_times.items()):
        samples = np.round(
            (np.asarray(spike_times) - excerpt.t_start_s) * excerpt.sampling_rate_hz
        ).astype(np.int64)
        samples = samples[(samples >= 0) & (samples < excerpt.filtered.size)]
        ax.plot(
            times_s[samples],
            excerpt.filtered[samples],
            linestyle="none",
            marker="o",
            markersize=5,
            markerfacecolor="none",
            markeredgewidth=1.2,
            color=UNIT_COLOURS[index % len(UNIT_COLOURS)],
            gid=DETECTED_SPIKES_GID,
            label=f"{unit_id} ({samples.size})",
            zorder=3,
        )
    if times_s.size:
        ax.set_xlim(times_s[0], times_s[-1])
    ax.set_xlabel("Time (s)")
    ax.set_ylabel(f"Filtered signal ({excerpt.units or 'a.u.'})")
    _legend(ax, "lower right")
    return ax


def _draw_waveform_measures(ax: Axes, features: WaveformFeatures) -> None:
    time_ms, mean = features.time_ms, features.mean_waveform
    span = float(np.ptp(mean))
    above = float(mean.max()) + 0.12 * span
    if features.onset_index >= 0 and features.return_index >= 0:
        ends = time_ms[[features.onset_index, features.return_index]]
        ax.plot(ends, [above, above], color=PALETTE["measure"], marker="|", markersize=8,
                linewidth=1.0, label=f"duration {features.waveform_duration_ms:.2f} ms")
        for end in ends:
            ax.axvline(end, color=PALETTE["measure"], linewidth=0.5, linestyle=":")
    if features.half_width_start_index >= 0:
        half = mean[features.trough_index] / 2.0
        ends = time_ms[[features.half_width_start_index, features.half_width_stop_index]]
        ax.plot(ends, [half, half], color=PALETTE["fit"], linewidth=1.6,
                label=f"half-width {features.half_width_ms:.2f} ms")
    if features.peak_index >= 0:
        extremes = [features.trough_index, features.peak_index]
        ax.plot(time_ms[extremes], mean[extremes], linestyle="none", marker="o", markersize=4,
                color=PALETTE["baseline"],
                label=f"peak-to-trough {features.peak_to_trough_ms:.2f} ms")
    # Room below the spike for the legend, above it for the duration bar.
    ax.set_ylim(float(mean.min()) - WAVEFORM_LEGEND_ROOM * span, above + 0.08 * span)


def _fit_field(fit: HillFit | Mapping[str, Any] | pd.Series, name: str) -> Any:
    row = fit.as_row() if isinstance(fit, HillFit) else fit
    return row.get(name, np.nan)


def _fit_is_drawable(fit: HillFit | Mapping[str, Any] | pd.Series | None) -> bool:
    if fit is None or _fit_field(fit, "fit_status") != "ok":
        return False
    values = [_fit_field(fit, name) for name in ("ed50", "hill_slope", "bottom_pct")]
    return all(isinstance(v, int | float) and np.isfinite(v) for v in values)


def _draw_fit(
    ax: Axes,
    fit: HillFit | Mapping[str, Any] | pd.Series | None,
    dose_range: tuple[float, float],
    colour: str,
) -> None:
    """Fitted curve and ED50 [95% CI], or a note on why there is none (doses in axis units)."""
    if fit is not None and bool(_fit_field(fit, "ed50_is_lower_bound")):
        ed50 = float(_fit_field(fit, "ed50"))
        ax.errorbar([ed50], [50.0], xerr=[[0.0], [ed50]], xuplims=False, xlolims=True,
                    fmt="D", color=colour, markersize=5, gid="ed50", label=f"ED50 > {ed50:.3g}")
        return
    if not _fit_is_drawable(fit):
        status = "no fit" if fit is None else f"no fit: {_fit_field(fit, 'fit_status')}"
        ax.plot([], [], linestyle="none", label=status)  # a legend line without a symbol
        return
    ed50 = float(_fit_field(fit, "ed50"))
    slope, bottom = float(_fit_field(fit, "hill_slope")), float(_fit_field(fit, "bottom_pct"))
    top = float(_fit_field(fit, "top_pct")) if np.isfinite(_fit_field(fit, "top_pct")) else (
        BASELINE_PCT
    )
    low, high = min(dose_range[0], ed50) / 2.0, max(dose_range[1], ed50) * 2.0
    grid = np.geomspace(low, high, 200)
    ax.plot(grid, hill_response(np.log10(grid), np.log10(ed50), slope, bottom, top),
            color=colour, linewidth=1.2, label=f"Hill fit, slope {slope:.2g}")
    ci_low, ci_high = float(_fit_field(fit, "ed50_ci_low")), float(_fit_field(fit, "ed50_ci_high"))
    # Open CI limits (0 or inf) are drawn to the edge of the plotted dose range.
    shown_low = ci_low if np.isfinite(ci_low) and ci_low > 0 else low
    shown_high = ci_high if np.isfinite(ci_high) else high
    ci_text = f"[{ci_low:.3g}, {ci_high:.3g}]" if np.isfinite(ci_low) else "(no CI)"
    ax.errorbar([ed50], [(top + bottom) / 2.0],
                xerr=[[max(ed50 - shown_low, 0.0)], [max(shown_high - ed50, 0.0)]],
                fmt="D", color=colour, markersize=5, capsize=3, gid="ed50",
                label=f"ED50 {ed50:.3g} {ci_text}")
    ax.set_xlim(low, high)


def _agonist_rows(doses: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows that belong on the dose axis, and the antagonist rows."""
    if doses.empty:
        empty = pd.DataFrame(columns=["drug", "dose_unit", "cumulative_dose", "pct_baseline"])
        return empty, empty
    roles = doses["drug"].map(drug_role)
    on_axis = ~roles.isin(NON_DOSE_RESPONSE_ROLES) & (doses["cumulative_dose"] > 0)
    return doses[on_axis], doses[roles == ANTAGONIST]


def _dose_axes(ax: Axes, points: pd.DataFrame) -> None:
    """Log dose axis named after the drug (when there is one) with its unit; 100 % line."""
    _log_x_axis(ax)
    ax.axhline(BASELINE_PCT, color=PALETTE["measure"], linestyle=":", linewidth=0.8)
    drugs = points["drug"].unique()
    what = f"Cumulative {drugs[0]}" if len(drugs) == 1 else "Cumulative dose"
    unit = f" ({points['dose_unit'].iloc[0]})" if len(points) else ""
    ax.set_xlabel(what + unit)
    ax.set_ylabel("Firing (% of baseline)")
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, -5.0), max(high, DOSE_AXIS_TOP_PCT))


def dose_response_plot(
    doses: pd.DataFrame,
    fit: HillFit | Mapping[str, Any] | pd.Series | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One unit's responses against cumulative dose, the Hill fit and the ED50 with its CI.

    Parameters
    ----------
    doses : pandas.DataFrame
        The unit's rows of ``doses.csv`` (``drug``, ``cumulative_dose``,
        ``dose_unit``, ``pct_baseline``). Agonist rows are the points; the
        firing after an antagonist is written in the corner.
    fit : HillFit, mapping or pandas.Series, optional
        The unit's fit (:class:`~rapheunit.doseresponse.HillFit` or a row with
        its columns); the curve and ED50 are drawn when ``fit_status == "ok"``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from rapheunit.doseresponse.fits import fit_hill
    >>> doses = pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": [10.0, 20, 40, 80], "pct_baseline": [85.0, 60, 30, 12]})
    >>> ax = dose_response_plot(doses, fit_hill(doses["cumulative_dose"], doses["pct_baseline"]))
    >>> ax.get_xscale(), [c.get_label()[:4] for c in ax.containers]
    ('log', ['ED50'])
    """
    ax = _axes(ax, (4.0, 3.0))
    points, antagonist = _agonist_rows(doses)
    several_drugs = points["drug"].nunique() > 1  # one drug is named on the axis instead
    for drug, rows in points.groupby("drug", sort=False):
        ax.plot(rows["cumulative_dose"], rows["pct_baseline"], linestyle="none", marker="o",
                color=drug_colour(str(drug)), markersize=5, gid=DOSE_POINTS_GID,
                label=str(drug) if several_drugs else "_nolegend_")
    if len(points):
        dose_range = (float(points["cumulative_dose"].min()),
                      float(points["cumulative_dose"].max()))
        _draw_fit(ax, fit, dose_range, PALETTE["fit"])
    else:
        ax.text(0.5, 0.5, "no agonist doses", transform=ax.transAxes, ha="center")
        ax.set_xlim(1.0, 10.0)
    for _, row in antagonist.tail(1).iterrows():
        # Not on the dose axis: shown as a legend entry with the firing it restored.
        ax.plot([], [], linestyle="none", marker="s", markersize=5,
                color=drug_colour(str(row["drug"])),
                label=f"after {row['drug']}: {row['pct_baseline']:.0f} %")
    _dose_axes(ax, points)
    _legend(ax, "best")  # curves fall anywhere: let matplotlib find the emptiest corner
    return ax


def _pooled_row(pooled_fit: Any, drug: str) -> Mapping[str, Any] | pd.Series | HillFit | None:
    if isinstance(pooled_fit, pd.DataFrame):
        rows = pooled_fit[pooled_fit["drug"] == drug] if "drug" in pooled_fit else pooled_fit
        return rows.iloc[0] if len(rows) else None
    return pooled_fit


def population_dose_response_plot(
    population_df: pd.DataFrame,
    pooled_fit: pd.DataFrame | HillFit | Mapping[str, Any] | pd.Series | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean +/- SEM % of baseline per cumulative dose across units, with the pooled fit.

    Parameters
    ----------
    population_df : pandas.DataFrame
        As :func:`rapheunit.doseresponse.population.population_dose_response` returns
        (``drug``, ``dose_unit``, ``cumulative_dose``, ``n_units``,
        ``mean_pct_baseline``, ``sem_pct_baseline``).
    pooled_fit : pandas.DataFrame, HillFit or row, optional
        :func:`rapheunit.doseresponse.population.pooled_fit` (one row per drug) or one fit.
    ax : matplotlib.axes.Axes, optional

    Examples
    --------
    >>> table = pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": [10.0, 20, 40], "n_units": 4,
    ...     "mean_pct_baseline": [80.0, 50, 20], "sem_pct_baseline": [5.0, 6, 4]})
    >>> ax = population_dose_response_plot(table)
    >>> len(ax.containers), ax.get_xscale()
    (1, 'log')
    """
    ax = _axes(ax, (4.5, 3.2))
    points, _ = _agonist_rows(population_df)
    for drug, rows in points.groupby("drug", sort=False):
        colour = drug_colour(str(drug))
        n_units = int(rows["n_units"].max())
        ax.errorbar(rows["cumulative_dose"], rows["mean_pct_baseline"],
                    yerr=rows["sem_pct_baseline"].fillna(0.0), fmt="o", color=colour,
                    markersize=5, capsize=3, label=f"{drug}: mean ± SEM (n ≤ {n_units})")
        dose_range = (float(rows["cumulative_dose"].min()), float(rows["cumulative_dose"].max()))
        if pooled_fit is not None:
            _draw_fit(ax, _pooled_row(pooled_fit, str(drug)), dose_range, colour)
    if not len(points):
        ax.text(0.5, 0.5, "no agonist doses", transform=ax.transAxes, ha="center")
        ax.set_xlim(1.0, 10.0)
    _dose_axes(ax, points)
    _legend(ax, "best")
    return ax
