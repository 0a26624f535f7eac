"""The small panels of a unit: ISI histogram, autocorrelogram, waveform, detection excerpt."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from rapheunit.core.errors import check_option
from rapheunit.detection.params import POLARITIES
from rapheunit.detection.results import SignalExcerpt
from rapheunit.measures.features import (
    AUTOCORRELOGRAM_BIN_S,
    AUTOCORRELOGRAM_WINDOW_S,
    BURST_ISI_S,
    autocorrelogram,
    isi_histogram,
)
from rapheunit.measures.qc import REFRACTORY_S
from rapheunit.measures.waveform import WaveformFeatures, amplitude_implausible
from rapheunit.viz.style import (
    DETECTED_SPIKES_GID,
    LABEL_FONT_SIZE,
    PALETTE,
    THRESHOLD_GID,
    UNIT_COLOURS,
    WAVEFORM_LEGEND_ROOM,
    add_legend,
    as_times,
    axes_or_new,
    log_x_axis,
)
from rapheunit.viz.timeline import (
    draw_bars,
)


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
    >>> from rapheunit.viz.timeline import histogram_bars
    >>> ax = isi_histogram_plot(np.cumsum(np.full(50, 0.5)), n_bins=20)
    >>> ax.get_xscale(), histogram_bars(ax).size
    ('log', 20)
    """
    counts, edges = isi_histogram(as_times(spike_times), **bins)
    ax = axes_or_new(ax, (4.0, 3.0))
    edges_ms = edges * 1000.0
    draw_bars(ax, counts, edges_ms)
    log_x_axis(ax)
    # Labelled above the plot, never over the bars: the shorter limit's label ends at its
    # line and the longer one's starts at its line, so the two cannot collide.
    limits = ((refractory_s, "refractory", "right"), (burst_isi_s, "burst", "left"))
    for limit_s, name, side in limits:
        if limit_s is not None:
            limit_ms = limit_s * 1000.0
            label = f"{name} {limit_ms:g} ms"
            ax.axvline(limit_ms, color=PALETTE["measure"], linestyle="--", linewidth=0.8,
                       label=label)
            ax.text(limit_ms, 1.01, label, transform=ax.get_xaxis_transform(), ha=side,
                    va="bottom", fontsize=LABEL_FONT_SIZE - 1, clip_on=False)
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
    >>> from rapheunit.viz.timeline import histogram_bars
    >>> ax = autocorrelogram_plot(np.arange(0.0, 100.0, 1.0), bin_s=0.1, window_s=2.0)
    >>> histogram_bars(ax).size, ax.get_xlabel()
    (40, 'Lag (s)')
    """
    times = as_times(spike_times)
    counts, edges = autocorrelogram(times, bin_s=bin_s, window_s=window_s)
    rate_hz = counts / (times.size * bin_s) if times.size else np.zeros(counts.size)
    ax = axes_or_new(ax, (4.0, 3.0))
    draw_bars(ax, rate_hz, edges)
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
    ax = axes_or_new(ax, (4.0, 3.0))
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
    if amplitude_implausible(features):
        ax.text(0.02, 0.98, "amplitude implausible:\ncheck the file's unit", va="top",
                transform=ax.transAxes, fontsize=LABEL_FONT_SIZE, color=PALETTE["warning"])
    add_legend(ax, "lower right")
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
    >>> from rapheunit.detection.params import POLARITIES
    >>> from rapheunit.detection.results import SignalExcerpt
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
    ax = axes_or_new(ax, (9.0, 2.8))
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
    add_legend(ax, "lower right")
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
