"""QC metrics checked on constructed spike trains whose defects are known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadParameterError
from rapheunit.core.model import Annotation, Injection, Recording, Unit
from rapheunit.measures.qc import (
    FAIL,
    PASS,
    QC_COLUMNS,
    QC_METRICS,
    QC_STATUSES,
    TABLE_COLUMNS,
    WARN,
    QCParams,
    hill_contamination,
    metrics_table,
    parameter_value,
    qc_table,
    qc_unit,
)
from rapheunit.simulate import simulate_recording

AGONIST = "ipsapirone"
ANTAGONIST = "WAY-100635"


def _recording(
    spikes: np.ndarray,
    t_stop: float,
    injections: list[Injection] | None = None,
    **unit_fields: object,
) -> Recording:
    unit = Unit("u", np.asarray(spikes, dtype=float), **unit_fields)
    return Recording("r", Path("r"), 0.0, t_stop, [unit], injections or [])


def _agonist(time_s: float, cumulative: float = 10.0) -> Injection:
    return Injection(time_s, AGONIST, cumulative, "ug/kg", cumulative)


def _antagonist(time_s: float) -> Injection:
    return Injection(time_s, ANTAGONIST, 100.0, "ug/kg", 100.0)


def _ramp_spikes(start_hz: float, stop_hz: float, duration_s: float) -> np.ndarray:
    """Spikes of a rate ramping linearly, placed at half-integer values of the integrated rate."""
    slope = (stop_hz - start_hz) / duration_s
    total = start_hz * duration_s + slope * duration_s**2 / 2
    counts = np.arange(int(total)) + 0.5
    # Solve start_hz t + slope t^2 / 2 = count for t.
    return (-start_hz + np.sqrt(start_hz**2 + 2 * slope * counts)) / slope


# --- refractory violations ---------------------------------------------------------------------


def test_refractory_violations_count_and_fraction_are_exact() -> None:
    regular = np.arange(496) * 0.4  # 495 ISIs of 400 ms over 198 s
    doubled = regular[[50, 150, 250, 350, 450]] + 0.001  # 5 extra spikes 1 ms after others
    result = qc_unit(_recording(np.sort(np.r_[regular, doubled]), 200.0), "u")
    assert result.values["isi_violation_count"] == 5
    assert result.values["isi_violation_fraction"] == pytest.approx(5 / 500)


@pytest.mark.parametrize(
    ("n_doubled", "status"),
    [(0, PASS), (8, WARN), (40, FAIL)],  # 0 %, 1.6 %, 8 % of ISIs at 1 ms
)
def test_refractory_violation_status(n_doubled: int, status: str) -> None:
    regular = np.arange(496) * 0.4
    doubled = regular[np.linspace(10, 480, n_doubled).astype(int)] + 0.001
    result = qc_unit(_recording(np.sort(np.r_[regular, doubled]), 200.0), "u")
    assert result.status == status
    assert ("refractory_violations" in result.flags) == (status != PASS)


def test_violations_beyond_the_refractory_period_do_not_count() -> None:
    regular = np.arange(496) * 0.4
    spaced = regular[[10, 20, 30]] + 0.002  # 2 ms: allowed under the default 1.5 ms
    result = qc_unit(_recording(np.sort(np.r_[regular, spaced]), 200.0), "u")
    assert result.values["isi_violation_count"] == 0
    strict = qc_unit(_recording(np.sort(np.r_[regular, spaced]), 200.0), "u",
                     params=QCParams(refractory_s=0.0025))
    assert strict.values["isi_violation_count"] == 3


def test_hill_contamination_inverts_its_forward_model() -> None:
    # Forward model (Hill et al. 2011): r = 2 (tau_r - tau_c) N^2 f (1 - f) / T.
    n_spikes, duration_s, tau_r, tau_c, contamination = 10_000, 1000.0, 0.002, 0.0005, 0.1
    violations = 2 * (tau_r - tau_c) * n_spikes**2 * contamination * (1 - contamination)
    violations /= duration_s
    estimate = hill_contamination(violations, n_spikes, duration_s, tau_r, tau_c)
    assert estimate == pytest.approx(contamination, rel=1e-9)


def test_hill_contamination_recovers_poisson_contamination() -> None:
    rng = np.random.default_rng(7)
    duration_s = 1000.0
    clean = np.arange(0.0, duration_s, 0.05)  # 20 Hz, never violates
    intruders = np.sort(rng.uniform(0.0, duration_s, 2000))
    spikes = np.sort(np.r_[clean, intruders])
    result = qc_unit(_recording(spikes, duration_s), "u")
    true_fraction = intruders.size / spikes.size
    assert result.values["contamination_hill"] == pytest.approx(true_fraction, rel=0.25)


def test_hill_contamination_saturates_and_handles_no_spikes() -> None:
    assert hill_contamination(50, 100, 100.0) == 1.0
    assert np.isnan(hill_contamination(0, 0, 100.0))


# --- baseline size, stability and presence ------------------------------------------------------


def test_baseline_size_uses_the_epoch_before_the_first_injection() -> None:
    spikes = np.arange(0.0, 600.0, 0.5)
    result = qc_unit(_recording(spikes, 600.0, [_agonist(400.0)]), "u")
    assert result.values["baseline_duration_s"] == 180.0  # EpochParams default
    assert result.values["baseline_spike_count"] == 360  # 2 Hz over [220, 400)


@pytest.mark.parametrize(
    ("first_injection_s", "flag", "status"),
    [(45.0, "short_baseline", WARN), (20.0, "short_baseline", FAIL)],
)
def test_short_baseline_is_flagged(first_injection_s: float, flag: str, status: str) -> None:
    spikes = np.arange(0.0, 300.0, 0.1)
    result = qc_unit(_recording(spikes, 300.0, [_agonist(first_injection_s)]), "u")
    assert flag in result.flags
    assert result.status == status


def test_few_baseline_spikes_fail() -> None:
    spikes = np.r_[np.arange(0.0, 180.0, 30.0), np.arange(180.0, 600.0, 0.5)]
    result = qc_unit(_recording(spikes, 600.0, [_agonist(180.0)]), "u")
    assert result.values["baseline_spike_count"] == 6
    assert "few_baseline_spikes" in result.flags
    assert result.status == FAIL


def test_rate_ramp_gives_its_known_trend() -> None:
    # 1 -> 4 Hz over a 300 s baseline: slope 0.6 Hz/min on a mean of 2.5 Hz = 24 %/min.
    spikes = _ramp_spikes(1.0, 4.0, 300.0)
    result = qc_unit(_recording(spikes, 300.0), "u")
    assert result.values["baseline_trend_pct_per_min"] == pytest.approx(24.0, rel=0.03)
    assert result.values["baseline_trend_significant"] is True
    assert "unstable_baseline_trend" in result.flags
    assert result.status == WARN  # 15 < 24 < 30 %/min


def test_falling_rate_is_flagged_by_magnitude() -> None:
    spikes = _ramp_spikes(6.0, 1.0, 300.0)  # mean 3.5 Hz, -1 Hz/min = -28.6 %/min
    result = qc_unit(_recording(spikes, 300.0), "u")
    assert result.values["baseline_trend_pct_per_min"] == pytest.approx(-100 / 3.5, rel=0.03)
    assert "unstable_baseline_trend" in result.flags


def test_steady_rate_has_no_trend_and_no_flag() -> None:
    result = qc_unit(_recording(np.arange(0.0, 300.0, 0.5), 300.0), "u")
    assert result.values["baseline_trend_pct_per_min"] == 0.0
    assert result.values["baseline_rate_cv"] == 0.0
    assert result.status == PASS


def test_alternating_rates_give_the_expected_bin_cv() -> None:
    # 10 s blocks alternating 1 and 3 Hz: bin rates are exactly [1, 3, 1, 3, ...].
    blocks = [start + np.arange(0.0, 10.0, 1.0 / rate) + 0.05
              for start, rate in zip(np.arange(0.0, 180.0, 10.0), [1.0, 3.0] * 9, strict=True)]
    result = qc_unit(_recording(np.concatenate(blocks), 180.0), "u")
    expected = np.std([1.0, 3.0] * 9, ddof=1) / 2.0
    assert result.values["baseline_rate_cv"] == pytest.approx(expected)


def test_presence_ratio_counts_bins_with_spikes() -> None:
    # 4 Hz in every other 10 s bin: half the bins are empty.
    blocks = [start + np.arange(0.0, 10.0, 0.25) for start in np.arange(0.0, 180.0, 20.0)]
    result = qc_unit(_recording(np.concatenate(blocks), 180.0), "u")
    assert result.values["presence_bin_s"] == 10.0
    assert result.values["presence_ratio"] == pytest.approx(0.5)
    assert "low_presence" in result.flags
    assert "variable_baseline_rate" in result.flags


def test_slow_cells_use_long_presence_bins() -> None:
    # One spike every 15 s: a third of the 10 s bins are empty, no 60 s bin is.
    spikes = np.arange(5.0, 180.0, 15.0)
    result = qc_unit(_recording(spikes, 180.0), "u")
    assert result.values["presence_bin_s"] == 60.0
    assert result.values["presence_ratio"] == 1.0
    fixed_bins = qc_unit(_recording(spikes, 180.0), "u", params=QCParams(slow_rate_hz=0.01))
    assert fixed_bins.values["presence_bin_s"] == 10.0
    assert fixed_bins.values["presence_ratio"] == pytest.approx(12 / 18)


# --- waveforms ----------------------------------------------------------------------------------


def _snippets(n_spikes: int, scales: np.ndarray, noise_sd: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    template = np.r_[np.zeros(20), -np.hanning(30) * 100.0, np.hanning(40) * 30.0, np.zeros(10)]
    return scales[:, None] * template + rng.normal(0.0, noise_sd, (n_spikes, template.size))


def test_amplitude_drift_is_measured_across_the_recording() -> None:
    spikes = np.arange(0.0, 600.0, 0.5)
    scales = np.linspace(1.0, 0.6, spikes.size)  # 40 % smaller by the end
    recording = _recording(spikes, 600.0, waveforms=_snippets(spikes.size, scales, 5.0),
                           sampling_rate_hz=25_000.0)
    result = qc_unit(recording, "u")
    # Linear trend from 1.0 to 0.6 around a mean of 0.8: -0.4 / 0.8 = -50 %.
    assert result.values["amplitude_drift_pct"] == pytest.approx(-50.0, abs=2.0)
    assert "amplitude_drift" in result.flags


def test_stable_amplitude_has_no_drift_and_known_snr() -> None:
    spikes = np.arange(0.0, 600.0, 0.5)
    recording = _recording(spikes, 600.0, waveforms=_snippets(spikes.size, np.ones(spikes.size),
                                                              10.0),
                           sampling_rate_hz=25_000.0)
    result = qc_unit(recording, "u")
    assert abs(result.values["amplitude_drift_pct"]) < 2.0
    # Peak-to-peak 130 over twice the noise SD (10): about 6.5.
    assert result.values["baseline_snr"] == pytest.approx(6.5, rel=0.1)
    assert result.status == PASS


def test_missing_waveforms_give_nan_with_a_reason() -> None:
    result = qc_unit(_recording(np.arange(0.0, 300.0, 0.5), 300.0), "u")
    assert np.isnan(result.values["baseline_snr"])
    assert np.isnan(result.values["amplitude_drift_pct"])
    assert result.nan_reasons["amplitude_drift_pct"] == "no waveforms"
    assert result.status == PASS


def test_mean_waveform_gives_no_drift() -> None:
    mean = _snippets(1, np.ones(1), 0.0)
    recording = _recording(np.arange(0.0, 300.0, 0.5), 300.0, waveforms=mean,
                           sampling_rate_hz=25_000.0, waveforms_are_mean=True)
    result = qc_unit(recording, "u")
    assert np.isnan(result.values["amplitude_drift_pct"])
    assert "mean waveform" in result.nan_reasons["amplitude_drift_pct"]


# --- recording-level checks ---------------------------------------------------------------------


def test_injection_windows_outside_the_recording_are_counted() -> None:
    injections = [_agonist(200.0), _agonist(560.0, 20.0), _agonist(700.0, 40.0)]
    result = qc_unit(_recording(np.arange(0.0, 600.0, 0.5), 600.0, injections), "u")
    # 560 s leaves 40 s (< response_s = 60) before the end; 700 s is after the end.
    assert result.values["n_injections_outside"] == 2
    assert "injection_outside_recording" in result.flags


def test_unparsed_markers_are_counted() -> None:
    recording = _recording(np.arange(0.0, 300.0, 0.5), 300.0)
    recording.annotations.append(Annotation(10.0, "Drug added", "no dose"))
    result = qc_unit(recording, "u")
    assert result.values["n_unparsed_markers"] == 1
    assert result.flags == ["unparsed_markers"]
    assert result.status == WARN


# --- silence, recovery and unit loss ------------------------------------------------------------


def test_silence_after_agonist_with_recovery_after_antagonist_is_fine() -> None:
    spikes = np.r_[np.arange(0.0, 400.0, 0.5), np.arange(700.0, 1000.0, 0.5)]
    injections = [_agonist(300.0), _antagonist(650.0)]
    result = qc_unit(_recording(spikes, 1000.0, injections), "u")
    assert result.values["recovered_after_antagonist"] is True
    assert result.values["recovery_pct_baseline"] == pytest.approx(100.0)
    assert result.values["possible_unit_loss"] is False
    assert np.isnan(result.values["silent_from_s"])
    assert result.status == PASS


def test_unit_that_stops_and_never_returns_after_antagonist_is_lost() -> None:
    spikes = np.arange(0.0, 400.0, 0.5)  # stops at 400 s
    injections = [_agonist(300.0), _antagonist(650.0)]
    result = qc_unit(_recording(spikes, 1000.0, injections), "u")
    assert result.values["silent_from_s"] == pytest.approx(399.5)
    assert result.values["final_silence_s"] == pytest.approx(600.5)
    assert result.values["recovered_after_antagonist"] is False
    assert result.values["possible_unit_loss"] is True
    assert {"possible_unit_loss", "no_recovery_after_antagonist"} <= set(result.flags)
    assert result.status == FAIL


def test_silence_starting_before_any_agonist_is_loss_even_without_antagonist() -> None:
    spikes = np.arange(0.0, 250.0, 0.5)
    result = qc_unit(_recording(spikes, 900.0, [_agonist(300.0)]), "u")
    assert result.values["possible_unit_loss"] is True
    assert result.status == FAIL


def test_silence_after_agonist_without_antagonist_only_warns() -> None:
    spikes = np.arange(0.0, 400.0, 0.5)
    result = qc_unit(_recording(spikes, 900.0, [_agonist(300.0)]), "u")
    assert result.values["possible_unit_loss"] is False
    assert result.values["silent_to_end_no_antagonist"] is True
    assert np.isnan(result.values["recovered_after_antagonist"])
    assert result.flags == ["silent_to_end"]
    assert result.status == WARN


def test_short_final_gap_is_not_a_silence() -> None:
    spikes = np.arange(0.0, 960.0, 0.5)  # last 40 s empty: < silence_min_s
    injections = [_agonist(300.0), _antagonist(650.0)]
    result = qc_unit(_recording(spikes, 1000.0, injections), "u")
    assert np.isnan(result.values["silent_from_s"])
    assert result.values["possible_unit_loss"] is False


def test_slow_cells_need_a_longer_silence() -> None:
    # 0.05 Hz baseline: 10 ISIs are 200 s, so 150 s without a spike is not yet a silence.
    spikes = np.arange(0.0, 850.0, 20.0)
    result = qc_unit(_recording(spikes, 990.0, [_agonist(300.0)]), "u")
    assert result.values["final_silence_s"] == pytest.approx(150.0)
    assert np.isnan(result.values["silent_from_s"])


# --- tables and the registry --------------------------------------------------------------------


def test_qc_table_has_one_row_per_unit_with_registry_columns() -> None:
    units = [Unit("good", np.arange(0.0, 600.0, 0.5)), Unit("lost", np.arange(0.0, 350.0, 0.5))]
    recording = Recording("rec", Path("rec"), 0.0, 600.0, units,
                          [_agonist(300.0), _antagonist(450.0)])
    table = qc_table(recording)
    assert list(table.columns) == [*TABLE_COLUMNS, *QC_COLUMNS]
    assert table["unit"].tolist() == ["good", "lost"]
    assert table["recording"].tolist() == ["rec", "rec"]
    assert table["qc_status"].tolist() == [PASS, FAIL]
    assert table.loc[1, "qc_flags"].split(";")[0] == "possible_unit_loss"
    assert set(table["qc_status"]) <= set(QC_STATUSES)


def test_qc_table_of_a_recording_without_units_is_empty_with_columns() -> None:
    table = qc_table(Recording("r", Path("r"), 0.0, 10.0, []))
    assert table.empty
    assert list(table.columns) == [*TABLE_COLUMNS, *QC_COLUMNS]


def test_registry_is_consistent() -> None:
    assert len(QC_COLUMNS) == len(set(QC_COLUMNS)), "column names must be unique"
    for metric in QC_METRICS.values():
        assert metric.description
        for threshold in metric.thresholds:
            assert threshold.column in metric.columns
            if threshold.level is not None:
                assert np.isfinite(parameter_value(threshold.level, QCParams(), EpochParams()))
            if threshold.requires is not None:
                assert threshold.requires in metric.columns
        for name in metric.parameters:
            assert name in metric.defaults()
    documented = metrics_table()
    assert documented["column"].tolist() == list(QC_COLUMNS)


def test_metrics_table_follows_parameters() -> None:
    table = metrics_table(QCParams(warn_presence_ratio=0.8)).set_index("column")
    assert table.loc["presence_ratio", "warn"] == "presence_ratio < 0.8"
    assert table.loc["baseline_duration_s", "warn"] == "baseline_duration_s < 60"
    assert "refractory_s=0.0015" in table.loc["isi_violation_fraction", "parameters"]


def test_thresholds_follow_custom_parameters() -> None:
    regular = np.arange(496) * 0.4
    doubled = regular[np.linspace(10, 480, 8).astype(int)] + 0.001
    recording = _recording(np.sort(np.r_[regular, doubled]), 200.0)
    lenient = QCParams(warn_isi_violation_fraction=0.05, fail_isi_violation_fraction=0.1)
    assert qc_unit(recording, "u", params=lenient).status == PASS


@pytest.mark.parametrize(
    "bad",
    [{"refractory_s": 0.0}, {"censored_s": 0.01}, {"trend_alpha": 1.5}, {"warn_snr": -1.0}],
)
def test_bad_parameters_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(BadParameterError):
        QCParams(**bad)


def test_simulated_units_pass_or_warn_and_responders_recover() -> None:
    cell_types = ["5ht_clock", "5ht_burst", "fast_regular", "slow_irregular"]
    recording, truth = simulate_recording("sim", cell_types, seed=11)
    table = qc_table(recording)
    assert (table["qc_status"] != FAIL).all(), table[["unit", "qc_reasons"]]
    assert not table["possible_unit_loss"].any()
    responders = [unit for unit, info in truth["units"].items() if info["responds"]]
    recovered = table.set_index("unit").loc[responders, "recovered_after_antagonist"]
    assert recovered.tolist() == [True] * len(responders)
