"""Property-based tests: dose schedules, epoch windows and firing statistics on random input.

Expected values are computed here from the drawn input (exact decimal sums,
counts done with plain comparisons), never taken from the implementation.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rapheunit.core.epochs import EpochParams, baseline_window, dose_rates, response_windows
from rapheunit.core.model import Injection, Recording, Unit
from rapheunit.io.doses import build_schedule
from rapheunit.measures.features import firing_features

DRUGS = ("ipsapirone", "WAY-100635", "8-OH-DPAT", "buspirone")
# Doses in ug/kg as typed: up to 3 decimals, as a lab notebook would have them.
AMOUNTS = st.decimals(min_value="0.001", max_value="2000", places=3)
TIMES_S = st.integers(min_value=0, max_value=200_000).map(lambda tenths: tenths / 10)


@st.composite
def schedules(draw: st.DrawFn) -> list[tuple[float, str, Decimal]]:
    """Injections at distinct times: (time_s, drug, amount in ug/kg), in random order."""
    times = draw(st.lists(TIMES_S, max_size=12, unique=True))
    return [(time_s, draw(st.sampled_from(DRUGS)), draw(AMOUNTS)) for time_s in times]


def _label(drug: str, amount: Decimal) -> str:
    return f"{drug} {format(amount, 'f')} ug/kg"


def _running_totals(schedule: list[tuple[float, str, Decimal]]) -> list[tuple[str, float, float]]:
    """(drug, dose, cumulative) per injection in time order, summed exactly in decimal."""
    totals: dict[str, Decimal] = {}
    expected = []
    for _, drug, amount in sorted(schedule):
        totals[drug] = totals.get(drug, Decimal(0)) + amount
        expected.append((drug, float(amount), float(totals[drug])))
    return expected


@settings(max_examples=150, deadline=None)
@given(schedules())
def test_cumulative_totals_are_the_running_sums(
    schedule: list[tuple[float, str, Decimal]],
) -> None:
    expected = _running_totals(schedule)
    from_markers = build_schedule([(t, _label(drug, amount)) for t, drug, amount in schedule])
    table = pd.DataFrame(
        [(t, drug, str(amount), "ug/kg") for t, drug, amount in schedule],
        columns=["time_s", "drug", "dose", "unit"],
    )
    from_table = build_schedule([], doses=table)
    for injections in (from_markers.injections, from_table.injections):
        assert [(i.drug, i.dose, i.cumulative_dose) for i in injections] == expected
        times = [i.time_s for i in injections]
        assert times == sorted(times)
        for drug in DRUGS:
            totals = [i.cumulative_dose for i in injections if i.drug == drug]
            assert all(earlier < later for earlier, later in itertools.pairwise(totals))


@settings(max_examples=100, deadline=None)
@given(schedules())
def test_cumulative_labels_give_back_the_amounts(
    schedule: list[tuple[float, str, Decimal]],
) -> None:
    totals: dict[str, Decimal] = {}
    events = []
    for time_s, drug, amount in sorted(schedule):
        totals[drug] = totals.get(drug, Decimal(0)) + amount
        events.append((time_s, _label(drug, totals[drug])))
    injections = build_schedule(events, labels_are_cumulative=True).injections
    assert [(i.drug, i.dose, i.cumulative_dose) for i in injections] == _running_totals(schedule)


@st.composite
def recordings_with_injections(draw: st.DrawFn) -> tuple[Recording, EpochParams]:
    t_start = draw(st.floats(-500, 500, allow_nan=False))
    duration = draw(st.floats(1.0, 5000.0, allow_nan=False))
    t_stop = t_start + duration
    offsets = draw(
        st.lists(st.floats(0.0, 1.0, exclude_max=True, allow_nan=False), max_size=8, unique=True)
    )
    # The loader warns about injections outside [t_start, t_stop); these are the valid ones.
    injection_times = sorted({t_start + offset * duration for offset in offsets})
    injection_times = [t for t in injection_times if t_start <= t < t_stop]
    injections = [
        Injection(t, "ipsapirone", 5.0, "ug/kg", 5.0 * (k + 1))
        for k, t in enumerate(injection_times)
    ]
    spikes = draw(st.lists(st.floats(t_start, t_stop, allow_nan=False), max_size=100))
    baseline_s = draw(st.floats(1.0, 1000.0, allow_nan=False))
    params = EpochParams(
        baseline_s=baseline_s,
        min_baseline_s=draw(st.floats(0.5, 1.0)) * baseline_s,
        response_s=draw(st.floats(1.0, 1000.0, allow_nan=False)),
    )
    units = [Unit("u", np.array(spikes))]
    return Recording("r", Path("r.csv"), t_start, t_stop, units, injections), params


@settings(max_examples=200, deadline=None)
@given(recordings_with_injections())
def test_epoch_windows_never_overlap_and_stay_inside(case: tuple[Recording, EpochParams]) -> None:
    recording, params = case
    baseline = baseline_window(recording, params)
    windows = [window for _, window in response_windows(recording, params)]
    for window in [baseline, *windows]:
        assert recording.t_start <= window.start_s <= window.stop_s <= recording.t_stop
    for earlier, later in itertools.pairwise([baseline, *windows]):
        assert earlier.stop_s <= later.start_s
    for injection, window in zip(recording.injections, windows, strict=True):
        assert window.start_s >= injection.time_s
        assert window.length_s <= params.response_s + 1e-9
    spikes = recording.units[0].spike_times
    for window, rate in zip(windows, dose_rates(recording, params)["rate_hz"], strict=True):
        if window.length_s > 0:
            count = sum(window.start_s <= s < window.stop_s for s in spikes)
            assert math.isclose(rate, count / window.length_s)
        else:
            assert math.isnan(rate)


VARIABILITY = ("cv_isi", "cv_isi_nonburst", "cv2", "lv", "lvr")


# Acquisition clocks tick at 1 us or slower (Spike2, Plexon, NIX exports): spike times
# are drawn on that grid, so ISIs are never below 1 us (nor denormal floats).
CLOCK_S = 1e-6


@st.composite
def spike_trains(draw: st.DrawFn) -> tuple[np.ndarray, float, float]:
    """Sorted distinct spike times (the loader drops duplicates) and a window around them."""
    start_ticks = draw(st.integers(-(10**8), 10**8))
    stop_ticks = start_ticks + draw(st.integers(10**4, 10**9))
    margin = 5 * 10**6
    ticks = draw(
        st.lists(st.integers(start_ticks - margin, stop_ticks + margin), max_size=300, unique=True)
    )
    return np.array(sorted(ticks)) * CLOCK_S, start_ticks * CLOCK_S, stop_ticks * CLOCK_S


@settings(max_examples=200, deadline=None)
@given(spike_trains())
def test_firing_features_never_crash_and_stay_in_bounds(
    train: tuple[np.ndarray, float, float],
) -> None:
    times, start, stop = train
    features = firing_features(times, start, stop)
    n_inside = int(np.sum((times >= start) & (times < stop)))
    assert features.n_spikes == n_inside
    assert features.n_isis == max(n_inside - 1, 0)
    assert math.isclose(features.rate_hz, n_inside / (stop - start))
    assert 0 <= features.n_bursts <= n_inside // 2
    for name in VARIABILITY:
        value = getattr(features, name)
        assert value >= 0 or (math.isnan(value) and name in features.reasons), name
    for name in ("burst_fraction",):
        value = getattr(features, name)
        assert 0 <= value <= 1 or (math.isnan(value) and name in features.reasons)
    if n_inside >= 3:
        assert not math.isnan(features.cv_isi)
