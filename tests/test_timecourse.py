"""Time course around an injection: bins, selection, summary, onset/peak/recovery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadParameterError
from rapheunit.core.model import Injection, Recording, Unit
from rapheunit.measures.timecourse import (
    TIMECOURSE_COLUMNS,
    TimecourseParams,
    selected_injections,
    timecourse_metrics,
    timecourse_summary,
    timecourse_table,
)
from rapheunit.simulate import simulate_recording
from rapheunit.viz.plot_groups import timecourse_plot

IPSA = "ipsapirone"


def injection(time_s: float, drug: str = IPSA, dose: float = 50.0, total: float = 50.0):
    return Injection(time_s, drug, dose, "ug/kg", total)


def recording(
    spikes: dict[str, np.ndarray],
    injections: list[Injection],
    t_stop: float,
    t_start: float = 0.0,
    name: str = "rec",
) -> Recording:
    units = [Unit(unit_id, times) for unit_id, times in spikes.items()]
    return Recording(name, Path(name), t_start, t_stop, units, injections)


# --- bins -------------------------------------------------------------------------------------


def test_spikes_on_bin_edges_belong_to_the_later_bin() -> None:
    # injection at 100 s; 50 s bins from -100 to +200: absolute [0, 50) ... [250, 300)
    spikes = np.array([0.0, 50.0, 100.0, 149.999, 150.0, 249.9])
    rec = recording({"u": spikes}, [injection(100.0)], t_stop=250.0)
    params = TimecourseParams(bin_s=50.0, pre_s=100.0, post_s=200.0)
    table = timecourse_table(rec, params=params)
    assert list(table.columns) == list(TIMECOURSE_COLUMNS)
    assert table["bin_start_s"].tolist() == [-100.0, -50.0, 0.0, 50.0, 100.0, 150.0]
    assert table["bin_stop_s"].tolist() == [-50.0, 0.0, 50.0, 100.0, 150.0, 200.0]
    assert table["time_s"].tolist() == [0.0, 50.0, 100.0, 150.0, 200.0, 250.0]
    # the bin [250, 300) ends after the recording: NaN, not a count of 0
    counts = table["spike_count"].tolist()
    assert counts[:5] == [1.0, 1.0, 2.0, 1.0, 1.0]
    assert np.isnan(counts[5])
    assert table["rate_hz"].iloc[2] == pytest.approx(2.0 / 50.0)


def test_bins_partly_or_wholly_outside_the_recording_are_nan() -> None:
    # recording starts 30 s in: the bin [0, 60) is only partly inside
    spikes = np.arange(30.0, 900.0, 1.0)
    rec = recording({"u": spikes}, [injection(180.0)], t_stop=900.0, t_start=30.0)
    table = timecourse_table(rec, params=TimecourseParams(bin_s=60.0, pre_s=300.0, post_s=600.0))
    before = table[table["bin_start_s"] < 0]
    # absolute bins [-120, -60), [-60, 0), [0, 60) are not inside; [60, 120), [120, 180) are
    assert before["rate_hz"].isna().tolist() == [True, True, True, False, False]
    assert before["pct_baseline"].isna().tolist() == [True, True, True, False, False]
    assert before["rate_hz"].iloc[3:].tolist() == [1.0, 1.0]


def test_summary_counts_only_units_with_a_value_in_the_bin() -> None:
    steady = np.arange(0.0, 2000.0, 0.5)
    early = recording({"a": steady}, [injection(120.0)], t_stop=2000.0, name="early")
    late = recording({"b": steady, "c": steady}, [injection(600.0)], t_stop=2000.0, name="late")
    table = pd.concat([timecourse_table(early), timecourse_table(late)], ignore_index=True)
    summary = timecourse_summary(table).set_index("bin_start_s")
    # "early" has only 120 s before its injection: 3 of its 5 pre-injection bins are missing
    assert summary.loc[-300.0, "n_units"] == 2
    assert summary.loc[-60.0, "n_units"] == 3
    assert summary.loc[0.0, "n_units_pct"] == 3
    assert summary.loc[0.0, "mean_rate_hz"] == pytest.approx(2.0)
    assert summary.loc[0.0, "sem_rate_hz"] == pytest.approx(0.0)
    assert len(summary) == TimecourseParams().n_bins


def test_summary_by_a_metadata_column_splits_the_lines() -> None:
    steady = np.arange(0.0, 2400.0, 0.5)
    rec = recording({"a": steady, "b": steady / 2.0}, [injection(600.0)], t_stop=2400.0)
    table = timecourse_table(rec).assign(group=lambda t: np.where(t["unit"] == "a", "A", "B"))
    summary = timecourse_summary(table, by="group")
    assert sorted(summary["group"].unique()) == ["A", "B"]
    assert (summary["n_units"] == 1).all()
    with pytest.raises(BadParameterError, match="lacks column"):
        timecourse_summary(table, by="animal")


# --- which injections -------------------------------------------------------------------------


def test_default_selection_is_single_dose_injections() -> None:
    series = [injection(300.0 + 180.0 * k, dose=5.0, total=5.0 * (k + 1)) for k in range(3)]
    way = injection(840.0, drug="WAY-100635", dose=100.0, total=100.0)
    rec = recording({"u": np.arange(0.0, 2000.0)}, [*series, way], t_stop=2000.0)
    assert selected_injections(rec) == [way]
    assert selected_injections(rec, params=TimecourseParams(injections="all")) == [*series, way]
    assert selected_injections(rec, 1) == [series[1]]
    assert set(timecourse_table(rec)["drug"]) == {"WAY-100635"}
    with pytest.raises(BadParameterError, match="out of range"):
        selected_injections(rec, 4)
    without = recording({"u": np.arange(0.0, 100.0)}, [], t_stop=100.0)
    assert timecourse_table(without).empty


@pytest.mark.parametrize(
    "settings",
    [
        {"bin_s": 0.0},
        {"pre_s": 90.0},
        {"post_s": -60.0},
        {"injections": "first"},
        {"onset_alpha": 1.5},
        {"consecutive_bins": 0},
        {"consecutive_bins": 2.0},
    ],
)
def test_bad_parameters_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(BadParameterError):
        TimecourseParams(**settings)


# --- derived figures on a known time course ---------------------------------------------------

BASELINE_HZ = 1.5
INJECTION_S = 600.0
ONSET_S = 150.0  # firing starts to fall 150 s after the injection ...
TROUGH_S = 270.0  # ... reaches its lowest point here ...
TROUGH_FRACTION = 0.1  # ... at 10 % of baseline ...
RECOVERED_S = 1170.0  # ... and climbs back linearly to baseline here
CV_ISI = 0.3  # a regular, clock-like 5-HT cell


def fraction_of_baseline(since_injection_s: np.ndarray) -> np.ndarray:
    """The known profile: flat, linear fall, linear recovery, flat."""
    return np.interp(
        since_injection_s, [ONSET_S, TROUGH_S, RECOVERED_S], [1.0, TROUGH_FRACTION, 1.0]
    )


def renewal_spikes(
    rate_hz: Callable[[np.ndarray], np.ndarray], t_stop: float, rng: np.random.Generator
) -> np.ndarray:
    """Gamma renewal process with a time-varying rate, by time rescaling."""
    step_s = 0.01
    grid = np.arange(0.0, t_stop + step_s, step_s)
    intensity = np.concatenate(([0.0], np.cumsum(rate_hz(grid[:-1] + step_s / 2) * step_s)))
    shape = 1.0 / CV_ISI**2
    operational = np.cumsum(rng.gamma(shape, 1.0 / shape, int(intensity[-1] * 1.2) + 100))
    return np.interp(operational[operational < intensity[-1]], intensity, grid)


def true_bin_fraction(start_s: float, stop_s: float) -> float:
    times = np.linspace(start_s, stop_s, 2001)
    return float(fraction_of_baseline(times).mean())


@pytest.fixture(scope="module")
def known_timecourse() -> Recording:
    rng = np.random.default_rng(20240611)
    t_stop = INJECTION_S + 1800.0

    def rate(times: np.ndarray) -> np.ndarray:
        return BASELINE_HZ * fraction_of_baseline(times - INJECTION_S)

    spikes = {f"u{k}": renewal_spikes(rate, t_stop, rng) for k in range(5)}
    return recording(spikes, [injection(INJECTION_S)], t_stop=t_stop)


def test_known_onset_depth_and_recovery_are_found_within_one_bin(
    known_timecourse: Recording,
) -> None:
    params = TimecourseParams()
    table = timecourse_table(known_timecourse, params=params, epochs=EpochParams(baseline_s=300.0))
    recovered_fraction = 0.5  # the documented definition: back to half of baseline
    metrics = timecourse_metrics(table, params, recovery_pct=100.0 * recovered_fraction)
    bins = np.arange(0.0, params.post_s, params.bin_s)
    true_fractions = np.array([true_bin_fraction(b, b + params.bin_s) for b in bins])
    true_lowest_pct = 100.0 * true_fractions.min()
    # the first bin after the trough whose true mean rate is back at half of baseline
    after_trough = (bins >= TROUGH_S) & (true_fractions >= recovered_fraction)
    true_recovery_s = bins[np.argmax(after_trough)]
    assert len(metrics) == 5
    assert (metrics["onset_latency_s"] - ONSET_S).abs().max() <= params.bin_s
    assert (metrics["time_to_max_s"] - TROUGH_S).abs().max() <= params.bin_s
    assert (metrics["recovery_time_s"] - true_recovery_s).abs().max() <= params.bin_s
    assert metrics["recovered"].all()
    assert (metrics["max_effect_pct"] - (100.0 - true_lowest_pct)).abs().max() < 5.0


def test_mean_time_course_follows_the_known_profile(known_timecourse: Recording) -> None:
    table = timecourse_table(known_timecourse, epochs=EpochParams(baseline_s=300.0))
    summary = timecourse_summary(table)
    expected = [
        100.0 * true_bin_fraction(start, stop)
        for start, stop in zip(summary["bin_start_s"], summary["bin_stop_s"], strict=True)
    ]
    assert (summary["n_units_pct"] == 5).all()
    np.testing.assert_allclose(summary["mean_pct_baseline"], expected, atol=6.0)
    assert (summary["sem_pct_baseline"] > 0).all()


def test_no_onset_before_the_drug_acts(known_timecourse: Recording) -> None:
    # the same cells followed after a sham time point 400 s before the drug: flat firing
    sham = recording(
        {unit.id: unit.spike_times for unit in known_timecourse.units},
        [injection(100.0, drug="saline", dose=0.0, total=0.0), injection(INJECTION_S)],
        t_stop=known_timecourse.t_stop,
    )
    params = TimecourseParams(pre_s=60.0, post_s=300.0)
    metrics = timecourse_metrics(timecourse_table(sham, 0, params), params)
    assert metrics["onset_latency_s"].isna().all()
    assert metrics["note"].str.contains("never fell below").all()
    assert metrics["recovered"].isna().all()


# --- figures on constructed trains ------------------------------------------------------------


def step_recording(t_stop: float) -> Recording:
    """2 Hz regular firing, 0.2 Hz from 120 s after an injection at 300 s."""
    spikes = np.concatenate([np.arange(0.0, 420.0, 0.5), np.arange(420.0, t_stop, 5.0)])
    return recording({"u": spikes}, [injection(300.0)], t_stop=t_stop)


def test_recording_that_ends_inhibited_is_not_recovered() -> None:
    metrics = timecourse_metrics(timecourse_table(step_recording(900.0)))
    row = metrics.iloc[0]
    assert row["onset_latency_s"] == 120.0
    assert row["max_effect_pct"] == pytest.approx(90.0)
    assert pd.notna(row["recovered"]) and not row["recovered"]
    assert np.isnan(row["recovery_time_s"])
    assert "recording ended" in row["note"]


def test_time_course_window_that_ends_first_is_said_so() -> None:
    params = TimecourseParams(post_s=300.0)
    row = timecourse_metrics(timecourse_table(step_recording(2000.0), params=params), params)
    assert not row["recovered"].iloc[0]
    assert "time course ended" in row["note"].iloc[0]


def test_silent_baseline_gives_nan_and_a_reason() -> None:
    rec = recording({"u": np.arange(400.0, 900.0, 1.0)}, [injection(300.0)], t_stop=900.0)
    row = timecourse_metrics(timecourse_table(rec)).iloc[0]
    assert np.isnan(row["onset_latency_s"]) and np.isnan(row["max_effect_pct"])
    assert row["note"].startswith("no baseline rate")


def test_single_dose_simulation_is_inhibited_from_the_first_bin() -> None:
    # one large i.v. dose (7x the ED50): the simulator's drug acts within ~1 min and never wears off
    rec, truth = simulate_recording(
        "single", ["5ht_clock"] * 3, seed=3, n_doses=1, first_dose_ug_kg=200.0,
        with_waveforms=False, with_antagonist=False, ed50_ug_kg=[30.0] * 3, hill_slope=[1.5] * 3,
    )
    metrics = timecourse_metrics(timecourse_table(rec))
    assert len(metrics) == 3
    assert (metrics["onset_latency_s"] <= 60.0).all()
    assert (metrics["max_effect_pct"] > 70.0).all()
    assert not metrics["recovered"].any()
    assert metrics["note"].str.contains("recording ended").all()
    assert truth["t_stop"] < rec.injections[0].time_s + TimecourseParams().post_s


def test_timecourse_plot_draws_a_line_and_band_per_drug(known_timecourse: Recording) -> None:
    summary = timecourse_summary(timecourse_table(known_timecourse))
    ax = timecourse_plot(summary)
    assert len(ax.lines[0].get_xdata()) == TimecourseParams().n_bins
    assert ax.lines[0].get_xdata()[0] == pytest.approx(-4.5)
    assert len(ax.collections) == 1
    assert ax.get_xlabel() == "Time from injection (min)"
