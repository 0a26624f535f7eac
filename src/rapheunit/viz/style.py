"""The look shared by every figure: colours, fonts, sizes and new figures without pyplot.

Colours come from :data:`PALETTE` (Okabe & Ito 2008, colour-blind safe). Without ``ax`` a
new :class:`matplotlib.figure.Figure` with an Agg canvas is made: pyplot is never used, so no
global figure state builds up (close nothing, just drop the reference).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from rapheunit.core.errors import BadParameterError
from rapheunit.core.markers import AGONIST, ANTAGONIST, OTHER, VEHICLE, drug_role

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
    "warning": "#D55E00",  # vermillion
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
# Above this many spikes in a row, ticks (~1000 px across a report figure) merge into a solid
# bar: the row is drawn as a density strip of RASTER_DENSITY_BINS grey cells instead.
RASTER_TICK_LIMIT = 600
RASTER_DENSITY_BINS = 400
# Rate histograms keep at least this many bins: a 29 s recording gets 1 s bins, not three 10 s.
MIN_RATE_BINS = 30
# Bin widths (s) tried from the default down, until MIN_RATE_BINS fit in the recording.
RATE_BIN_CHOICES_S = (10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1)
EPOCH_LANE_GID = "epoch_lane"
HISTOGRAM_GID = "histogram"
RASTER_GID = "raster"
DEFAULT_BIN_S = 10.0
# Share of the waveform's span left free below it for the legend.
WAVEFORM_LEGEND_ROOM = 0.9
# Dose-response y axes reach at least this % of baseline: room for the legend above 100 %.
DOSE_AXIS_TOP_PCT = 135.0
# Figure margins (left, right, bottom, top) in inches: room for tick and axis labels.
MARGINS_IN = (0.75, 0.2, 0.55, 0.3)
# Opacity of the baseline and response bars in the epoch lane (text stays readable on them).
LANE_ALPHA = 0.7
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


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (6.0, 3.0)) -> Axes:
    return new_axes(figsize) if ax is None else ax


def as_times(spike_times: np.ndarray) -> np.ndarray:
    times = np.asarray(spike_times, dtype=np.float64).ravel()
    if times.size and not np.all(np.isfinite(times)):
        raise BadParameterError("spike_times contain NaN or infinite values")
    return np.sort(times)


def _plain_number(value: float, _position: int) -> str:
    """Tick label "10", "0.5" (a module-level function: figures can then be copied)."""
    return f"{value:g}"


def log_x_axis(ax: Axes) -> None:
    """Log x axis with plain numbers ("10", "0.5") and unlabelled minor ticks.

    Plain labels read better than 10^n and skip mathtext, which is slow to draw.
    """
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_plain_number))
    ax.xaxis.set_minor_formatter(NullFormatter())


def check_span(t_start: float, t_stop: float) -> None:
    if not (np.isfinite(t_start) and np.isfinite(t_stop)) or t_stop <= t_start:
        raise BadParameterError(f"need t_start < t_stop, got {t_start} and {t_stop}")



def drug_colour(drug: str) -> str:
    """Palette colour of a drug, by its pharmacological role.

    Examples
    --------
    >>> drug_colour("ipsapirone") == PALETTE["5ht1a_agonist"]
    True
    """
    return PALETTE[drug_role(drug)]



def add_legend(ax: Axes, loc: str) -> None:
    """A small frameless legend, when anything is labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=LABEL_FONT_SIZE, frameon=False, loc=loc)
