"""Structural tests of the figures: what is drawn, where, with which labels."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.text import Annotation

from rapheunit.core.epochs import Window
from rapheunit.core.errors import BadParameterError
from rapheunit.core.model import Injection
from rapheunit.detection.detect import ArraySource, SignalExcerpt, detect_units
from rapheunit.doseresponse.fits import fit_hill, hill_response
from rapheunit.measures.waveform import waveform_features
from rapheunit.simulate import spike_template, template_durations
from rapheunit.viz.plot import (
    DETECTED_SPIKES_GID,
    DOSE_POINTS_GID,
    EPOCH_LANE_GID,
    INJECTION_LABEL_GID,
    PALETTE,
    RASTER_GID,
    THRESHOLD_GID,
    autocorrelogram_plot,
    detection_excerpt_plot,
    dose_response_plot,
    histogram_bars,
    isi_histogram_plot,
    population_dose_response_plot,
    raster_strip,
    rate_histogram,
    rate_with_raster,
    short_injection_label,
    waveform_plot,
)

OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
             "#CC79A7"}


def _schedule(n_doses: int = 9, first_s: float = 300.0, interval_s: float = 300.0) -> list:
    cumulative = 5.0 * 2.0 ** np.arange(n_doses)
    doses = np.diff(cumulative, prepend=0.0)
    injections = [
        Injection(first_s + i * interval_s, "ipsapirone", float(dose), "ug/kg", float(total))
        for i, (dose, total) in enumerate(zip(doses, cumulative, strict=True))
    ]
    injections.append(Injection(first_s + n_doses * interval_s, "WAY-100635", 100.0, "ug/kg",
                                100.0))
    return injections


def _labels(ax: Axes) -> list:
    return [text for text in ax.texts if text.get_gid() == INJECTION_LABEL_GID]


def _no_overlap(boxes: list) -> bool:
    return not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_palette_is_okabe_ito() -> None:
    assert set(PALETTE.values()) <= OKABE_ITO


def test_short_labels() -> None:
    injections = _schedule(3)
    assert [short_injection_label(i) for i in injections] == [
        "ipsa 5", "ipsa 5", "ipsa 10", "WAY 100",
    ]


def test_rate_histogram_bars_match_the_spike_counts() -> None:
    spikes = np.r_[np.arange(0.0, 100.0, 0.5), np.arange(100.0, 205.0, 0.25)]
    ax = rate_histogram(spikes, t_start=0.0, t_stop=205.0, bin_s=10.0)
    bars = histogram_bars(ax)
    assert bars.size == 21  # 20 full bins and a 5 s one
    assert np.allclose(bars[:10], 2.0)
    assert np.allclose(bars[10:], 4.0)
    assert ax.get_xlabel() == "Time (s)"
    assert ax.get_ylabel() == "Rate (spikes/s, 10 s bins)"
    assert ax.get_xlim() == (0.0, 205.0)


def test_rate_histogram_marks_ten_injections_without_overlapping_labels() -> None:
    injections = _schedule(9)
    assert len(injections) == 10
    spikes = np.arange(0.0, 3600.0, 0.7)
    ax = rate_histogram(spikes, injections, t_start=0.0, t_stop=3600.0)
    labels = _labels(ax)
    assert [label.get_text() for label in labels] == [short_injection_label(i) for i in injections]
    arrows = [text for text in ax.texts if isinstance(text, Annotation)]
    assert len(arrows) == 10
    assert [arrow.xy[0] for arrow in arrows] == [i.time_s for i in injections]
    ax.figure.canvas.draw()
    assert _no_overlap([label.get_window_extent() for label in labels])
    assert histogram_bars(ax).size == 360


def test_crowded_injections_are_staggered_on_rows() -> None:
    injections = [Injection(600.0 + 15.0 * k, "ipsapirone", 10.0 * (k + 1), "ug/kg", 1.0)
                  for k in range(10)]
    ax = rate_histogram(np.arange(0.0, 3600.0, 1.0), injections, t_start=0.0, t_stop=3600.0)
    ax.figure.canvas.draw()
    boxes = [label.get_window_extent() for label in _labels(ax)]
    assert _no_overlap(boxes)
    assert len({round(box.y0) for box in boxes}) > 1  # more than one row was needed
    assert all(box.y0 >= ax.get_window_extent().y1 for box in boxes)  # all above the plot


def _lane(figure) -> Axes:
    return figure.axes[1]


def test_baseline_and_response_windows_have_their_own_labelled_lane() -> None:
    injections = _schedule(3)
    windows = [(i, Window(i.time_s + 240.0, i.time_s + 300.0)) for i in injections]
    figure = rate_with_raster(np.arange(0.0, 1600.0, 1.0), injections, t_start=0.0,
                              t_stop=1600.0, baseline=Window(120.0, 300.0),
                              response_windows=windows)
    rate_ax, lane = figure.axes[0], _lane(figure)
    # Nothing but the bars and the injection lines on the rate axes: no tint over the bars.
    assert all(isinstance(c, LineCollection) for c in rate_ax.collections)  # injection lines
    (bars,) = [c for c in lane.collections if c.get_gid() == EPOCH_LANE_GID]
    spans = sorted((round(p.vertices[:, 0].min(), 6), round(p.vertices[:, 0].max(), 6))
                   for p in bars.get_paths())
    assert spans == [(120.0, 300.0)] + [(i.time_s + 240.0, i.time_s + 300.0) for i in injections]
    labels = [t for t in lane.texts if t.get_gid() == EPOCH_LANE_GID]
    assert [t.get_text() for t in labels] == ["baseline", "ipsa 5", "ipsa 5", "ipsa 10",
                                              "WAY 100"]
    # Each label sits over its own window, not over the next injection's arrow.
    centres = [t.get_position()[0] for t in labels[1:]]
    assert centres == [i.time_s + 270.0 for i in injections]
    colours = {matplotlib.colors.to_hex(c) for c in bars.get_facecolor()}
    assert colours == {PALETTE["baseline"].lower(), PALETTE["response"].lower()}


def test_lane_labels_of_crowded_windows_do_not_overlap() -> None:
    injections = [Injection(600.0 + 40.0 * k, "ipsapirone", 10.0 * (k + 1), "ug/kg", 1.0)
                  for k in range(8)]
    windows = [(i, Window(i.time_s + 10.0, i.time_s + 40.0)) for i in injections]
    figure = rate_with_raster(np.arange(0.0, 3600.0, 1.0), injections, t_start=0.0,
                              t_stop=3600.0, response_windows=windows)
    figure.canvas.draw()
    boxes = [t.get_window_extent() for t in _lane(figure).texts]
    assert len(boxes) == 8 and _no_overlap(boxes)


def test_short_recordings_get_narrower_bins() -> None:
    ax = rate_histogram(np.arange(0.0, 29.0, 0.25), t_start=0.0, t_stop=29.0)
    # 29 s: 10 s bins would give 3 bars; at least 30 bars of 0.5 s, each 2 spikes/s * 2
    bars = histogram_bars(ax)
    assert bars.size == 58 and np.allclose(bars, 4.0)
    assert ax.get_ylabel() == "Rate (spikes/s, 0.5 s bins)"


def test_rate_with_raster_shares_time_and_keeps_labels_inside() -> None:
    injections = _schedule(9)
    figure = rate_with_raster(np.arange(0.0, 3600.0, 0.9), injections, t_start=0.0,
                              t_stop=3600.0, title="unit 1")
    rate_ax, lane_ax, raster_ax = figure.axes
    assert rate_ax.get_shared_x_axes().joined(rate_ax, lane_ax)
    assert rate_ax.get_shared_x_axes().joined(rate_ax, raster_ax)
    assert raster_ax.get_xlabel() == "Time (s)"
    figure.canvas.draw()
    figure_box = figure.bbox
    for label in _labels(rate_ax):
        box = label.get_window_extent()
        assert figure_box.x0 <= box.x0 and box.y1 <= figure_box.y1


def test_raster_has_one_tick_per_spike_per_row() -> None:
    trains = [np.array([1.0, 2.0, 3.0]), np.array([1.5])]
    ax = raster_strip(trains, t_start=0.0, t_stop=5.0, row_labels=["a", "b"])
    lines = [line for line in ax.lines if line.get_gid() == RASTER_GID]
    assert len(lines) == 2
    first_x = lines[0].get_xdata()
    assert np.allclose(first_x[np.isfinite(first_x)][::2], trains[0])
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["a", "b"]


def test_raster_merges_ticks_closer_than_its_resolution() -> None:
    pairs = np.arange(0.0, 3600.0, 20.0)  # 180 doublets 0.1 ms apart: 360 spikes
    ax = raster_strip(np.sort(np.r_[pairs, pairs + 1e-4]), t_start=0.0, t_stop=3600.0)
    xs = ax.lines[0].get_xdata()
    assert np.unique(xs[np.isfinite(xs)]).size == 180  # each close pair drawn once


def test_busy_raster_rows_are_density_strips_that_show_silence() -> None:
    # 2 Hz for 20 min, silent 20-30 min, 8 Hz after: 16 800 spikes, a solid bar as ticks.
    spikes = np.r_[np.arange(0.0, 1200.0, 0.5), np.arange(1800.0, 3600.0, 0.125)]
    ax = raster_strip(spikes, t_start=0.0, t_stop=3600.0)
    (mesh,) = [c for c in ax.collections if c.get_gid() == RASTER_GID]
    counts = np.asarray(mesh.get_array()).ravel()
    expected, _ = np.histogram(spikes, bins=np.linspace(0.0, 3600.0, counts.size + 1))
    assert np.array_equal(counts, expected)
    cells = np.linspace(0.0, 3600.0, counts.size + 1)[:-1]
    assert counts[(cells >= 1200.0) & (cells < 1791.0)].max() == 0  # silence shows white
    # the fast stretch is darker than the slow one, four times as many spikes per cell
    assert np.median(counts[cells >= 1800.0]) == 4 * np.median(counts[cells < 1191.0])
    assert mesh.norm.vmin == 0.0 and mesh.norm.vmax == counts.max()


def test_isi_histogram_uses_log_bins_and_marks_the_refractory_period() -> None:
    spikes = np.cumsum(np.r_[0.0, np.full(99, 0.5), np.full(10, 0.005)])
    ax = isi_histogram_plot(spikes, n_bins=30, min_s=0.001, max_s=10.0)
    assert ax.get_xscale() == "log"
    bars = histogram_bars(ax)
    assert bars.size == 30
    assert bars.sum() == 109
    assert ax.get_xlabel() == "Inter-spike interval (ms)"
    dashed = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]
    assert dashed == pytest.approx([1.5, 20.0])


def test_autocorrelogram_of_a_clock_peaks_at_its_period() -> None:
    ax = autocorrelogram_plot(np.arange(0.0, 200.0, 0.5), bin_s=0.01, window_s=1.0)
    bars = histogram_bars(ax)
    assert bars.size == 200
    assert np.allclose(bars, bars[::-1])
    centres = np.arange(-1.0, 1.0, 0.01) + 0.005
    peaks = np.sort(np.abs(centres[bars > 0]))
    assert peaks == pytest.approx([0.505, 0.505])  # the +/-0.5 s bins only
    assert ax.get_xlabel() == "Lag (s)"


def test_waveform_plot_draws_the_measures_it_reports() -> None:
    template = spike_template(2.2, shape="triphasic", amplitude_uv=100.0)
    rng = np.random.default_rng(0)
    snippets = template + rng.normal(0.0, 3.0, (60, template.size))
    features = waveform_features(snippets, 25_000.0, amplitude_units="uV")
    ax = waveform_plot(features)
    labels = {line.get_label().split(" ")[0]: line for line in ax.lines}
    assert labels["duration"].get_label() == f"duration {features.waveform_duration_ms:.2f} ms"
    assert features.waveform_duration_ms == pytest.approx(template_durations(2.2).total_ms,
                                                          abs=0.05)
    span = np.diff(labels["duration"].get_xdata())[0]
    assert span == pytest.approx(features.waveform_duration_ms, rel=1e-6)
    half = labels["half-width"]
    assert np.diff(half.get_xdata())[0] == pytest.approx(features.half_width_ms, abs=0.02)
    assert "peak-to-trough" in labels
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the SD band
    assert ax.get_ylabel() == "Amplitude (uV)"
    assert ax.get_xlabel() == "Time (ms)"


def _dose_rows(pct: np.ndarray, cumulative: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg",
                         "cumulative_dose": cumulative, "pct_baseline": pct})


def test_dose_response_plot_shows_points_fit_and_ed50_with_ci() -> None:
    cumulative = 5.0 * 2.0 ** np.arange(6)
    noise = np.array([2.0, -3.0, 4.0, -2.0, 1.0, -1.0])
    pct = hill_response(np.log10(cumulative), np.log10(30.0), 1.5, 10.0) + noise
    fit = fit_hill(cumulative, pct)
    rows = pd.concat([_dose_rows(pct, cumulative),
                      pd.DataFrame({"drug": ["WAY-100635"], "dose_unit": ["ug/kg"],
                                    "cumulative_dose": [100.0], "pct_baseline": [93.0]})])
    ax = dose_response_plot(rows, fit)
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "Firing (% of baseline)"
    assert "ug/kg" in ax.get_xlabel()
    points = [line for line in ax.lines if line.get_gid() == DOSE_POINTS_GID]
    assert len(points) == 1
    assert np.allclose(points[0].get_xdata(), cumulative)  # the antagonist is not a point
    assert ax.get_xlabel() == "Cumulative ipsapirone (ug/kg)"
    (ed50,) = [c for c in ax.containers if c.get_label().startswith("ED50")]
    assert isinstance(ed50, ErrorbarContainer)
    marker_x = ed50.lines[0].get_xdata()[0]
    assert marker_x == pytest.approx(fit.ed50)
    segment = ed50.lines[2][0].get_segments()[0]
    assert segment[:, 0] == pytest.approx([fit.ed50_ci_low, fit.ed50_ci_high])
    curve = next(line for line in ax.lines if line.get_label().startswith("Hill fit"))
    at_ed50 = np.interp(np.log10(fit.ed50), np.log10(curve.get_xdata()), curve.get_ydata())
    assert at_ed50 == pytest.approx((100.0 + fit.bottom_pct) / 2.0, abs=0.5)
    # The antagonist is drawn as its own point right of the highest dose, labelled.
    (after,) = [c for c in ax.containers if c.lines[0].get_gid() == "antagonist"]
    after_x, after_y = after.lines[0].get_xdata()[0], after.lines[0].get_ydata()[0]
    assert after_x > cumulative.max() and after_y == pytest.approx(93.0)
    assert ax.get_xlim()[1] > after_x
    labels = [text.get_text() for text in ax.texts]
    assert any("WAY-100635" in label and "100 ug/kg" in label and "93 %" in label
               for label in labels)


def test_dose_response_plot_without_a_fit_says_why() -> None:
    rows = _dose_rows(np.array([90.0, 80.0]), np.array([5.0, 10.0]))
    ax = dose_response_plot(rows, fit_hill(rows["cumulative_dose"], rows["pct_baseline"]))
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["no fit: too_few_doses"]
    assert not ax.containers


def test_dose_response_plot_with_ed50_beyond_the_doses() -> None:
    cumulative = np.array([5.0, 10.0, 20.0, 40.0])
    fit = {"fit_status": "ok", "ed50": 40.0, "ed50_is_lower_bound": True, "hill_slope": np.nan,
           "bottom_pct": np.nan, "ed50_ci_low": np.nan, "ed50_ci_high": np.nan}
    ax = dose_response_plot(_dose_rows(np.array([99.0, 95.0, 85.0, 70.0]), cumulative), fit)
    assert [c.get_label() for c in ax.containers] == ["ED50 > 40"]


def test_population_plot_shows_mean_sem_and_pooled_fit() -> None:
    cumulative = np.array([5.0, 10.0, 20.0, 40.0, 80.0])
    mean = np.array([92.0, 75.0, 48.0, 25.0, 12.0])
    table = pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg",
                          "cumulative_dose": cumulative, "n_units": 6,
                          "mean_pct_baseline": mean, "sem_pct_baseline": 4.0})
    pooled = pd.DataFrame([{"drug": "ipsapirone", **fit_hill(cumulative, mean).as_row()}])
    ax = population_dose_response_plot(table, pooled)
    means = next(c for c in ax.containers if "mean ± SEM" in c.get_label())
    assert np.allclose(means.lines[0].get_ydata(), mean)
    segments = means.lines[2][0].get_segments()
    assert [s[1, 1] - s[0, 1] for s in segments] == pytest.approx([8.0] * 5)
    assert any(c.get_label().startswith("ED50") for c in ax.containers)
    assert ax.get_xscale() == "log"


def test_figures_do_not_use_pyplot() -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    rate_with_raster(np.arange(0.0, 100.0, 0.5), _schedule(2, 20.0, 20.0), t_start=0.0,
                     t_stop=100.0)
    isi_histogram_plot(np.arange(0.0, 10.0, 0.5))
    assert plt.get_fignums() == []


def test_bad_spans_are_refused() -> None:
    with pytest.raises(BadParameterError):
        rate_histogram(np.array([1.0]), t_start=5.0, t_stop=5.0)
    with pytest.raises(BadParameterError):
        rate_histogram(np.array([1.0]), t_start=0.0, t_stop=5.0, bin_s=0.0)
    with pytest.raises(BadParameterError):
        raster_strip(np.array([np.nan]), t_start=0.0, t_stop=5.0)


# --- spike detection ---------------------------------------------------------------------------


def _lines(ax: Axes, gid: str) -> list:
    return [line for line in ax.lines if line.get_gid() == gid]


def _two_unit_excerpt() -> SignalExcerpt:
    """1 s at 1 kHz from t = 10 s: unit a at 3 troughs of -90, unit b at 2 of -60."""
    filtered = np.zeros(1000)
    a_samples, b_samples = np.array([100, 400, 700]), np.array([250, 850])
    filtered[a_samples], filtered[b_samples] = -90.0, -60.0
    spike_times = {"a": 10.0 + a_samples / 1000.0, "b": 10.0 + b_samples / 1000.0}
    return SignalExcerpt(0, 10.0, 1000.0, filtered, "uV", 40.0, spike_times)


@pytest.mark.parametrize(
    ("polarity", "levels"), [("both", [-40.0, 40.0]), ("negative", [-40.0]), ("positive", [40.0])]
)
def test_detection_excerpt_draws_the_threshold_of_each_searched_sign(
    polarity: str, levels: list[float]
) -> None:
    ax = detection_excerpt_plot(_two_unit_excerpt(), polarity=polarity)
    drawn = sorted(float(line.get_ydata()[0]) for line in _lines(ax, THRESHOLD_GID))
    assert drawn == levels
    assert ax.get_xlabel() == "Time (s)"
    assert ax.get_ylabel() == "Filtered signal (uV)"


def test_detection_excerpt_marks_each_units_spikes_on_the_signal() -> None:
    excerpt = _two_unit_excerpt()
    ax = detection_excerpt_plot(excerpt)
    marks = _lines(ax, DETECTED_SPIKES_GID)
    assert [line.get_label().split()[0] for line in marks] == ["a", "b"]  # sorting order kept
    assert [len(line.get_xdata()) for line in marks] == [3, 2]
    assert np.allclose(marks[0].get_xdata(), excerpt.spike_times["a"])
    assert np.allclose(marks[0].get_ydata(), -90.0)
    assert np.allclose(marks[1].get_ydata(), -60.0)
    colours = [matplotlib.colors.to_hex(line.get_color()).upper() for line in marks]
    assert len(set(colours)) == 2 and set(colours) <= OKABE_ITO
    assert ax.get_xlim() == pytest.approx((10.0, 10.999))


def test_detection_excerpt_of_detected_units() -> None:
    rng = np.random.default_rng(3)
    signal = rng.normal(0.0, 10.0, 100_000)
    starts = np.arange(500, 99_000, 5000)
    for start in starts:
        signal[start : start + 20] -= 150.0 * np.hanning(20)
    result = detect_units(ArraySource(signal, 20000.0, units="uV"))
    [excerpt] = result.excerpts.values()
    ax = detection_excerpt_plot(excerpt, polarity=result.params.polarity)
    assert sorted(line.get_ydata()[0] for line in _lines(ax, THRESHOLD_GID)) == pytest.approx(
        [-result.threshold[0], result.threshold[0]]
    )
    shown = sum(len(line.get_xdata()) for line in _lines(ax, DETECTED_SPIKES_GID))
    troughs = starts + 10  # the middle of each 20-sample spike, in samples
    first = round(excerpt.t_start_s * 20000.0)
    in_excerpt = (troughs >= first) & (troughs < first + excerpt.filtered.size)
    assert shown == in_excerpt.sum() > 0
    assert all(
        y < -result.threshold[0]
        for line in _lines(ax, DETECTED_SPIKES_GID)
        for y in line.get_ydata()
    )


def test_detection_excerpt_refuses_an_unknown_polarity() -> None:
    with pytest.raises(BadParameterError, match="polarity"):
        detection_excerpt_plot(_two_unit_excerpt(), polarity="up")


def test_implausible_amplitude_is_flagged_on_the_panel_and_in_the_warnings() -> None:
    from rapheunit.core.model import Recording, Unit
    from rapheunit.run.pipeline import measure

    # A file that said volts for microvolt numbers: 80 uV spikes read as 8e7 uV.
    template = spike_template(2.2, shape="triphasic", amplitude_uv=100.0)
    snippets = np.tile(template, (200, 1))
    spikes = np.arange(0.0, 200.0, 1.0)
    for scale, flagged in ((1.0, False), (1e6, True), (1e-3, True)):
        unit = Unit("u", spikes, snippets * scale, 25_000.0, "uV")
        analysis = measure(Recording("r", Path("r.smr"), 0.0, 200.0, [unit]))
        warned = [w for w in analysis.warnings if "physiological range" in w]
        assert bool(warned) == flagged
        ax = waveform_plot(analysis.waveforms["u"])
        assert any("implausible" in t.get_text() for t in ax.texts) == flagged


def test_unit_figure_leaves_out_empty_panels() -> None:
    from rapheunit.core.model import Recording, Unit
    from rapheunit.run.pipeline import measure
    from rapheunit.viz.unit_page import unit_figure

    recording = Recording("r", Path("r.csv"), 0.0, 300.0, [Unit("u", np.arange(0.0, 300.0, 0.7))])
    figure = unit_figure(measure(recording), recording.units[0])
    visible = [ax for ax in figure.axes if ax.get_visible()]
    # rate, lane, raster, ISI, autocorrelogram: no waveform, no injections, no dose panel
    assert len(figure.axes) == 7 and len(visible) == 5
    assert not any("no waveform" in t.get_text() for ax in figure.axes for t in ax.texts)


def test_bare_response_windows_are_drawn_unlabelled() -> None:
    figure = rate_with_raster(np.arange(0.0, 600.0, 1.0), t_start=0.0, t_stop=600.0,
                              response_windows=[Window(400.0, 460.0)])
    lane = figure.axes[1]
    (bars,) = lane.collections
    assert [(p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in bars.get_paths()] == [
        (400.0, 460.0)]
    assert [t.get_text() for t in lane.texts] == [""]


def test_unit_page_moves_panels_left_when_one_is_empty() -> None:
    from rapheunit.core.model import Injection, Recording, Unit
    from rapheunit.run.pipeline import measure
    from rapheunit.viz.unit_page import UnitPage

    template = spike_template(2.2, shape="triphasic", amplitude_uv=100.0)
    spikes = np.arange(0.0, 600.0, 0.8)
    with_waveforms = Unit("w", spikes, np.tile(template, (spikes.size, 1)), 25_000.0, "uV")
    bare = Unit("b", spikes)
    doses = pd.DataFrame({"drug": ["ipsapirone"], "dose": [5.0], "dose_unit": ["ug/kg"],
                          "cumulative_dose": [5.0], "injection_time_s": [300.0],
                          "window_start_s": [420.0], "window_stop_s": [480.0],
                          "rate_hz": [1.0], "pct_baseline": [80.0]})
    recording = Recording("r", Path("r.nix"), 0.0, 600.0, [bare, with_waveforms],
                          [Injection(300.0, "ipsapirone", 5.0, "ug/kg", 5.0)])
    page = UnitPage(measure(recording))
    third, fourth = page.panels[2:]
    page.draw(bare, doses=doses)  # no waveform: the dose panel takes the third slot
    assert third.get_visible() and not fourth.get_visible()
    assert third.get_xscale() == "log" and "% of baseline" in third.get_ylabel()
    page.draw(with_waveforms, doses=doses)  # the same page redrawn for the next unit
    assert third.get_visible() and fourth.get_visible()
    assert third.get_xscale() == "linear" and third.get_xlabel() == "Time (ms)"
    assert fourth.get_xscale() == "log"
