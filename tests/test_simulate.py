"""Tests of the DRN simulator: ground truth, firing statistics, templates and writers."""

from __future__ import annotations

import json
from pathlib import Path

import neo
import numpy as np
import pandas as pd
import pytest
from pynwb import NWBHDF5IO

from rapheunit.core.errors import BadParameterError
from rapheunit.simulate import (
    simulate_recording,
    spike_template,
    template_durations,
    write_dataset,
    write_recording,
)
from rapheunit.simulate.celltypes import CELL_TYPES
from rapheunit.simulate.firing import _time_rescaled_events

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
BASELINE_S = 300.0
DOSE_INTERVAL_S = 180.0
FIRST_DOSE = 5.0
DOUBLET_ISI_S = 0.020  # doublet second spikes follow within 20 ms (Hajos et al. 1995)


def _rate_and_cv(times: np.ndarray, start: float, stop: float) -> tuple[float, float, int]:
    window = times[(times >= start) & (times < stop)]
    intervals = np.diff(window)
    return window.size / (stop - start), float(intervals.std() / intervals.mean()), window.size


def _first_spikes_of_events(times: np.ndarray) -> np.ndarray:
    """Drop the second spike of each doublet (ISI below 20 ms)."""
    return times[np.concatenate(([True], np.diff(times) >= DOUBLET_ISI_S))]


def _measured_durations(waveform: np.ndarray, sampling_rate_hz: float) -> dict[str, float]:
    """Durations read off a noiseless template: the spike is where it is not zero (ms)."""
    sample_ms = 1000.0 / sampling_rate_hz
    magnitude = np.abs(waveform)
    above = np.flatnonzero(magnitude > 0)
    onset, offset = above[0], above[-1]
    onset_sign = np.sign(waveform[onset])
    first_crossing = onset + np.flatnonzero(np.sign(waveform[onset:]) != onset_sign)[0]
    largest = int(np.argmax(magnitude))
    half = magnitude >= 0.5 * magnitude[largest]
    left = largest - np.flatnonzero(~half[:largest][::-1])[0]
    right = largest + np.flatnonzero(~half[largest:])[0]
    trough = int(np.argmin(waveform))
    following_peak = trough + int(np.argmax(waveform[trough:]))
    return {
        "total_ms": (offset - onset) * sample_ms,
        "first_phase_ms": (first_crossing - onset) * sample_ms,
        "half_width_ms": (right - left) * sample_ms,
        "peak_to_trough_ms": (following_peak - trough) * sample_ms,
    }


def _simulate_many(cell_type: str, n_units: int, seed: int, **options):
    return simulate_recording(
        "many", [cell_type] * n_units, seed=seed, with_waveforms=False, **options
    )


def test_same_seed_gives_same_recording_and_other_seed_differs() -> None:
    first, first_truth = simulate_recording("r", ["5ht_burst", "fast_regular"], seed=11)
    again, again_truth = simulate_recording("r", ["5ht_burst", "fast_regular"], seed=11)
    other, _ = simulate_recording("r", ["5ht_burst", "fast_regular"], seed=12)
    assert json.dumps(first_truth) == json.dumps(again_truth)
    for unit, repeat in zip(first.units, again.units, strict=True):
        assert np.array_equal(unit.spike_times, repeat.spike_times)
        assert np.array_equal(unit.waveforms, repeat.waveforms)
    assert not np.array_equal(first.units[0].spike_times[:50], other.units[0].spike_times[:50])


def test_units_have_independent_streams_and_waveforms_do_not_change_spikes() -> None:
    alone, _ = simulate_recording("r", ["5ht_clock"], seed=5)
    with_more, _ = simulate_recording(
        "r", ["5ht_clock", "fast_irregular"], seed=5, with_waveforms=False
    )
    assert np.array_equal(alone.units[0].spike_times, with_more.units[0].spike_times)
    assert with_more.units[0].waveforms is None


def test_schedule_doubles_the_cumulative_dose_and_ends_with_the_antagonist() -> None:
    recording, truth = simulate_recording(
        "r", ["5ht_clock"], seed=1, n_doses=7, first_dose_ug_kg=2.5
    )
    agonist = recording.injections[:-1]
    assert [injection.dose for injection in agonist] == [2.5, 2.5, 5, 10, 20, 40, 80]
    assert [injection.cumulative_dose for injection in agonist] == [2.5 * 2**k for k in range(7)]
    assert [injection.time_s for injection in agonist] == [300.0 + 180.0 * k for k in range(7)]
    assert agonist[2].label == "ipsapirone 5 ug/kg i.v."
    antagonist = recording.injections[-1]
    assert (antagonist.time_s, antagonist.drug, antagonist.dose) == (1560.0, "WAY-100635", 100.0)
    assert antagonist.label == "WAY-100635 0.1 mg/kg i.v."
    assert recording.t_stop == truth["t_stop"] == 1860.0
    assert recording.provenance["reader"] == "simulator"
    without, _ = simulate_recording("r", ["5ht_clock"], seed=1, with_antagonist=False)
    assert all(injection.drug == "ipsapirone" for injection in without.injections)


@pytest.mark.parametrize("cell_type", sorted(CELL_TYPES))
def test_baseline_rate_and_cv_fall_in_the_cell_type_range(cell_type: str) -> None:
    cell = CELL_TYPES[cell_type]
    recording, truth = _simulate_many(cell_type, 4, seed=21, n_doses=1)
    for unit in recording.units:
        unit_truth = truth["units"][unit.id]
        rate_hz, _, n_spikes = _rate_and_cv(unit.spike_times, 0.0, BASELINE_S)
        events = (
            _first_spikes_of_events(unit.spike_times)
            if cell.doublet_fraction[1] > 0
            else unit.spike_times
        )
        _, cv, n_events = _rate_and_cv(events, 0.0, BASELINE_S)
        # Count noise of a renewal process (relative SD cv / sqrt(n)) plus the slow drift.
        rate_tolerance = (
            4 * np.hypot(unit_truth["cv_isi"] / np.sqrt(n_spikes), unit_truth["drift_sd"]) + 0.02
        )
        cv_tolerance = 4 * unit_truth["cv_isi"] / np.sqrt(n_events) + 0.03
        low, high = cell.baseline_rate_hz
        assert low * (1 - rate_tolerance) <= rate_hz <= high * (1 + rate_tolerance)
        assert rate_hz == pytest.approx(unit_truth["baseline_rate_hz"], rel=rate_tolerance)
        low, high = cell.cv_isi
        assert low - cv_tolerance <= cv <= high + cv_tolerance
        assert cv == pytest.approx(unit_truth["cv_isi"], abs=cv_tolerance)
        assert unit_truth["expected_class"] == cell.expected_class


def test_burst_cells_fire_doublets_at_their_drawn_fraction() -> None:
    recording, truth = _simulate_many("5ht_burst", 4, seed=3)
    for unit in recording.units:
        intervals = np.diff(unit.spike_times)
        doublet_intervals = intervals[intervals < DOUBLET_ISI_S]
        n_events = intervals.size + 1 - doublet_intervals.size
        fraction = doublet_intervals.size / n_events
        expected = truth["units"][unit.id]["doublet_fraction"]
        assert 0.2 <= expected <= 0.4
        assert fraction == pytest.approx(expected, abs=4 * np.sqrt(0.25 / n_events))
        # Gaps of 5-15 ms, on the 40 us sample grid.
        assert doublet_intervals.min() >= 0.005 - 4e-5
        assert doublet_intervals.max() <= 0.015 + 4e-5
    clock, _ = _simulate_many("5ht_clock", 2, seed=3)
    assert all(np.diff(unit.spike_times).min() > DOUBLET_ISI_S for unit in clock.units)


def _window_fraction_of_baseline(recording, truth, start: float, stop: float) -> float:
    """Mean over units of the firing rate in [start, stop) relative to the true baseline."""
    fractions = [
        np.count_nonzero((unit.spike_times >= start) & (unit.spike_times < stop))
        / (stop - start)
        / truth["units"][unit.id]["baseline_rate_hz"]
        for unit in recording.units
    ]
    return float(np.mean(fractions))


def _fraction_tolerance(units: list[dict], predicted: list[float], window_s: float) -> float:
    """Four SDs of a mean fraction of baseline: renewal count noise plus the slow drift.

    A renewal count of mean n has relative SD cv / sqrt(n); a small allowance
    covers the exponential approach of the effective dose to each new level.
    """
    variances = [
        fraction * unit["cv_isi"] ** 2 / (unit["baseline_rate_hz"] * window_s)
        + (fraction * unit["drift_sd"]) ** 2
        for unit, fraction in zip(units, predicted, strict=True)
    ]
    return 4 * float(np.sqrt(np.sum(variances))) / len(units) + 0.02


def test_responding_cells_follow_the_hill_model_and_recover_after_way() -> None:
    n_units, n_doses = 10, 6
    ed50s = list(np.geomspace(15.0, 150.0, n_units))
    hills = list(np.linspace(1.0, 2.0, n_units))
    recording, truth = _simulate_many(
        "5ht_clock", n_units, seed=8, n_doses=n_doses, ed50_ug_kg=ed50s, hill_slope=hills
    )
    units = [truth["units"][unit.id] for unit in recording.units]
    assert [unit["ed50_ug_kg"] for unit in units] == pytest.approx(ed50s)
    predicted_fractions = []
    for dose_index in range(n_doses):
        cumulative = FIRST_DOSE * 2**dose_index
        window_end = BASELINE_S + (dose_index + 1) * DOSE_INTERVAL_S
        per_unit = [
            1
            - unit["max_inhibition"]
            * cumulative ** unit["hill_slope"]
            / (cumulative ** unit["hill_slope"] + unit["ed50_ug_kg"] ** unit["hill_slope"])
            for unit in units
        ]
        observed = _window_fraction_of_baseline(recording, truth, window_end - 60, window_end)
        tolerance = _fraction_tolerance(units, per_unit, 60.0)
        assert observed == pytest.approx(np.mean(per_unit), abs=tolerance)
        predicted_fractions.append(np.mean(per_unit))
    assert predicted_fractions[0] - predicted_fractions[-1] > 0.4  # the test can discriminate
    recovered = _window_fraction_of_baseline(
        recording, truth, truth["t_stop"] - 120, truth["t_stop"]
    )
    expected_recovery = [unit["recovery_fraction"] for unit in units]
    tolerance = _fraction_tolerance(units, expected_recovery, 120.0)
    assert recovered == pytest.approx(np.mean(expected_recovery), abs=tolerance)


@pytest.mark.parametrize("cell_type", ["fast_irregular", "fast_regular", "slow_irregular"])
def test_non_responding_cells_keep_their_rate(cell_type: str) -> None:
    recording, truth = _simulate_many(cell_type, 6, seed=4)
    units = list(truth["units"].values())
    tolerance = _fraction_tolerance(units, [1.0] * len(units), DOSE_INTERVAL_S)
    for dose_index in range(6):
        window_start = BASELINE_S + dose_index * DOSE_INTERVAL_S
        fraction = _window_fraction_of_baseline(
            recording, truth, window_start, window_start + DOSE_INTERVAL_S
        )
        assert fraction == pytest.approx(1.0, abs=tolerance)
    assert all(
        not unit["responds"] and unit["ed50_ug_kg"] is None for unit in truth["units"].values()
    )


def test_time_rescaling_keeps_regularity_and_a_zero_rate_gives_no_spikes() -> None:
    rate_hz = np.concatenate((np.full(3000, 2.0), np.zeros(2000), np.full(3000, 8.0)))
    events = _time_rescaled_events(rate_hz, 0.25, np.random.default_rng(0))  # 0.1 s steps
    assert not np.any((events >= 300.0) & (events < 500.0))
    for start, stop, rate in ((0.0, 300.0, 2.0), (500.0, 800.0, 8.0)):
        measured_rate, cv, n_spikes = _rate_and_cv(events, start, stop)
        assert measured_rate == pytest.approx(rate, rel=4 * 0.25 / np.sqrt(n_spikes))
        assert cv == pytest.approx(0.25, abs=4 * 0.25 / np.sqrt(n_spikes))


@pytest.mark.parametrize(
    ("shape", "total_ms"),
    [
        ("triphasic", 2.0),
        ("triphasic", 2.2),
        ("triphasic", 3.0),
        ("biphasic", 0.8),
        ("biphasic", 1.1),
        ("biphasic", 1.4),
    ],
)
def test_noiseless_template_has_the_requested_durations(shape: str, total_ms: float) -> None:
    expected = template_durations(total_ms, shape)
    assert expected.total_ms == pytest.approx(total_ms)
    for sampling_rate_hz in (1e6, 25_000.0):
        # Threshold crossings fall between samples: each edge is off by < 1 sample.
        tolerance_ms = 2500.0 / sampling_rate_hz
        n_samples = round(6e-3 * sampling_rate_hz)
        template = spike_template(
            total_ms,
            shape=shape,
            amplitude_uv=80.0,
            sampling_rate_hz=sampling_rate_hz,
            n_samples=n_samples,
        )
        measured = _measured_durations(template, sampling_rate_hz)
        for name, value in measured.items():
            assert value == pytest.approx(getattr(expected, name), abs=tolerance_ms), name
        assert np.argmin(template) == round(2.4e-3 * sampling_rate_hz)
    assert -template.min() == pytest.approx(80.0, rel=1e-6)


def test_spike_template_rejects_a_spike_that_does_not_fit() -> None:
    with pytest.raises(BadParameterError, match="does not fit"):
        spike_template(9.0)
    with pytest.raises(BadParameterError, match="shape"):
        spike_template(1.0, shape="square")


def test_simulated_waveforms_are_the_template_plus_noise_of_the_drawn_snr() -> None:
    recording, truth = simulate_recording("r", ["5ht_clock", "fast_regular"], seed=2, n_doses=1)
    for unit in recording.units:
        unit_truth = truth["units"][unit.id]
        template = spike_template(
            unit_truth["waveform_total_ms"],
            shape=unit_truth["waveform_shape"],
            amplitude_uv=unit_truth["amplitude_uv"],
        )
        assert unit.waveforms.shape == (unit.n_spikes, 150)
        assert unit.sampling_rate_hz == 25_000.0 and unit.waveform_units == "uV"
        assert np.corrcoef(unit.waveforms.mean(axis=0), template)[0, 1] > 0.99
        baseline_noise = unit.waveforms[:, :3]  # before any template's onset
        assert baseline_noise.std() == pytest.approx(
            unit_truth["amplitude_uv"] / unit_truth["snr"], rel=0.1
        )


@pytest.fixture(scope="module")
def small_recording():
    return simulate_recording("small", ["5ht_burst", "fast_regular"], seed=6, n_doses=1)


def test_nix_writer_round_trips(small_recording, tmp_path: Path) -> None:
    recording, truth = small_recording
    [path] = write_recording(recording, truth, tmp_path, "nix")
    with neo.io.NixIO(str(path), mode="ro") as nix_file:
        block = nix_file.read_block()
    [segment] = block.segments
    trains = {train.name: train for train in segment.spiketrains}
    assert sorted(trains) == ["unit1", "unit2"]
    for unit in recording.units:
        train = trains[unit.id]
        assert np.array_equal(train.times.rescale("s").magnitude, unit.spike_times)
        assert float(train.t_stop.rescale("s")) == recording.t_stop
        assert train.waveforms.shape == (unit.n_spikes, 1, 150)
        assert np.allclose(
            train.waveforms.rescale("uV").magnitude[:, 0, :], unit.waveforms, atol=1e-3
        )
        assert float(train.sampling_rate.rescale("Hz")) == pytest.approx(25_000.0)
        # left_sweep marks the trough: read it off the stored mean waveform
        trough_ms = np.argmin(unit.waveforms.mean(axis=0)) / 25.0
        assert float(train.left_sweep.rescale("ms")) == pytest.approx(trough_ms)
    [markers] = [event for event in segment.events if event.name == "Markers"]
    assert list(markers.labels) == [injection.label for injection in recording.injections]
    assert np.array_equal(
        markers.times.rescale("s").magnitude,
        [injection.time_s for injection in recording.injections],
    )


def test_nwb_writer_round_trips(small_recording, tmp_path: Path) -> None:
    recording, truth = small_recording
    [path] = write_recording(recording, truth, tmp_path, "nwb")
    with NWBHDF5IO(str(path), mode="r") as io:
        nwbfile = io.read()
        table = nwbfile.units.to_dataframe()
        markers = nwbfile.acquisition["Markers"]
        labels, stamps = list(markers.data[:]), np.asarray(markers.timestamps[:])
        waveform_rate = nwbfile.units.waveform_rate
    assert list(table["unit_name"]) == ["unit1", "unit2"]
    assert waveform_rate == 25_000.0
    for unit, (_, row) in zip(recording.units, table.iterrows(), strict=True):
        assert np.array_equal(np.asarray(row["spike_times"]), unit.spike_times)
        assert np.allclose(np.asarray(row["waveform_mean"]) * 1e6, unit.waveforms.mean(axis=0))
    assert labels == [injection.label for injection in recording.injections]
    assert np.array_equal(stamps, [injection.time_s for injection in recording.injections])


def test_csv_writer_round_trips(small_recording, tmp_path: Path) -> None:
    recording, truth = small_recording
    spikes_path, doses_path = write_recording(recording, truth, tmp_path, "csv")
    spikes = pd.read_csv(spikes_path)
    assert list(spikes.columns) == ["unit", "time_s"]
    assert list(spikes["unit"].unique()) == ["unit1", "unit2"]
    for unit in recording.units:
        assert np.array_equal(
            spikes.loc[spikes["unit"] == unit.id, "time_s"].to_numpy(), unit.spike_times
        )
    doses = pd.read_csv(doses_path)
    assert list(doses.columns) == ["time_s", "drug", "dose", "unit"]
    assert doses.to_dict("records") == [
        {"time_s": 300.0, "drug": "ipsapirone", "dose": 5.0, "unit": "ug/kg"},
        {"time_s": 480.0, "drug": "WAY-100635", "dose": 100.0, "unit": "ug/kg"},
    ]


def test_write_recording_rejects_bad_format_and_foreign_truth(
    small_recording, tmp_path: Path
) -> None:
    recording, truth = small_recording
    with pytest.raises(BadParameterError, match="fmt"):
        write_recording(recording, truth, tmp_path, "mat")
    with pytest.raises(BadParameterError, match="truth"):
        write_recording(recording, truth | {"name": "other"}, tmp_path, "csv")


def test_write_dataset_writes_files_and_a_deterministic_truth(tmp_path: Path) -> None:
    specs = [("a", ["5ht_clock"], "csv"), ("b", ["slow_irregular", "5ht_burst"], "csv")]
    first = write_dataset(tmp_path / "one", specs, seed=9)
    second = write_dataset(tmp_path / "two", specs, seed=9)
    assert first.read_text() == second.read_text()
    truth = json.loads(first.read_text())
    assert sorted(truth) == ["a", "b"]
    assert truth["b"]["units"]["unit2"]["cell_type"] == "5ht_burst"
    assert truth["a"]["seed"] != truth["b"]["seed"]
    for name in ("a.csv", "a.doses.csv", "b.csv", "b.doses.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    with pytest.raises(BadParameterError, match="unique"):
        write_dataset(tmp_path, [("a", ["5ht_clock"], "csv")] * 2)


def test_bad_simulation_parameters_raise() -> None:
    with pytest.raises(BadParameterError, match="cell type"):
        simulate_recording("r", ["5ht_fast"], seed=0)
    with pytest.raises(BadParameterError, match="non-empty"):
        simulate_recording("r", [], seed=0)
    with pytest.raises(BadParameterError, match="n_doses"):
        simulate_recording("r", ["5ht_clock"], seed=0, n_doses=0)
    with pytest.raises(BadParameterError, match="one value per cell type"):
        simulate_recording("r", ["5ht_clock"], seed=0, ed50_ug_kg=[10.0, 20.0])


def _nix_spike_times(path: Path) -> dict[str, np.ndarray]:
    with neo.io.NixIO(str(path), mode="ro") as nix_file:
        [segment] = nix_file.read_block().segments
    return {train.name: train.times.rescale("s").magnitude for train in segment.spiketrains}


def test_shipped_recordings_are_what_write_dataset_produces(tmp_path: Path) -> None:
    shipped = json.loads((RECORDINGS / "truth.json").read_text())
    regenerated = json.loads(write_dataset(tmp_path).read_text())
    assert shipped == regenerated
    for entry in shipped.values():
        for name in entry["files"]:
            shipped_file, regenerated_file = RECORDINGS / name, tmp_path / name
            if name.endswith(".csv"):
                assert shipped_file.read_bytes() == regenerated_file.read_bytes()
            if name.endswith(".nix"):
                shipped_times = _nix_spike_times(shipped_file)
                regenerated_times = _nix_spike_times(regenerated_file)
                assert sorted(shipped_times) == sorted(entry["units"])
                for unit_id, times in shipped_times.items():
                    assert np.array_equal(times, regenerated_times[unit_id])
            assert shipped_file.stat().st_size < 1_500_000
