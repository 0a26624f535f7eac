"""Figures: rate histogram, raster, ISI histogram, autocorrelogram, waveform, dose-response,
and the filtered signal with the detected spikes.

Every function takes data plus an optional ``ax=`` and returns the Axes
(multi-panel functions return the Figure), so the same code draws in scripts,
notebooks and reports. The figures live in :mod:`rapheunit.viz.timeline`,
:mod:`rapheunit.viz.unit_panels` and :mod:`rapheunit.viz.dose_plots`, their
shared look in :mod:`rapheunit.viz.style`; this module gathers them in one
namespace (``rapheunit.plot.rate_histogram`` and the like).
"""

from rapheunit.viz.dose_plots import (
    dose_response_plot,
    population_dose_response_plot,
)
from rapheunit.viz.style import (
    ARROW_PT,
    DEFAULT_BIN_S,
    DETECTED_SPIKES_GID,
    DOSE_AXIS_TOP_PCT,
    DOSE_POINTS_GID,
    HISTOGRAM_GID,
    INJECTION_ARROW_GID,
    INJECTION_LABEL_GID,
    LABEL_FONT_SIZE,
    LABEL_GAP_PX,
    LABEL_ROW_PT,
    MARGINS_IN,
    PALETTE,
    RASTER_GID,
    RASTER_MAX_TICKS,
    SHADE_ALPHA,
    SHORT_DRUG_CHARS,
    THRESHOLD_GID,
    UNIT_COLOURS,
    WAVEFORM_LEGEND_ROOM,
    drug_colour,
    new_axes,
    new_figure,
)
from rapheunit.viz.timeline import (
    bin_edges,
    histogram_bars,
    make_room_for_labels,
    mark_injections,
    raster_strip,
    rate_histogram,
    rate_with_raster,
    short_injection_label,
)
from rapheunit.viz.unit_panels import (
    autocorrelogram_plot,
    detection_excerpt_plot,
    isi_histogram_plot,
    waveform_plot,
)

__all__ = [
    "ARROW_PT",
    "DEFAULT_BIN_S",
    "DETECTED_SPIKES_GID",
    "DOSE_AXIS_TOP_PCT",
    "DOSE_POINTS_GID",
    "HISTOGRAM_GID",
    "INJECTION_ARROW_GID",
    "INJECTION_LABEL_GID",
    "LABEL_FONT_SIZE",
    "LABEL_GAP_PX",
    "LABEL_ROW_PT",
    "MARGINS_IN",
    "PALETTE",
    "RASTER_GID",
    "RASTER_MAX_TICKS",
    "SHADE_ALPHA",
    "SHORT_DRUG_CHARS",
    "THRESHOLD_GID",
    "UNIT_COLOURS",
    "WAVEFORM_LEGEND_ROOM",
    "autocorrelogram_plot",
    "bin_edges",
    "detection_excerpt_plot",
    "dose_response_plot",
    "drug_colour",
    "histogram_bars",
    "isi_histogram_plot",
    "make_room_for_labels",
    "mark_injections",
    "new_axes",
    "new_figure",
    "population_dose_response_plot",
    "raster_strip",
    "rate_histogram",
    "rate_with_raster",
    "short_injection_label",
    "waveform_plot",
]
