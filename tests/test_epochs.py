"""Window arithmetic checked against counts done by hand."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapheunit.core.epochs import (
    EpochParams,
    Window,
    baseline_is_short,
    baseline_window,
    count_in_window,
    dose_rates,
    response_windows,
)
from rapheunit.core.errors import BadParameterError
from rapheunit.core.model import Injection, Recording, Unit


def _recording(spikes: list[float], injection_times: list[float], t_stop: float) -> Recording:
    injections = [
        Injection(t, "ipsapirone", 5.0, "ug/kg", 5.0 * (i + 1))
        for i, t in enumerate(injection_times)
    ]
    return Recording("r", Path("r.csv"), 0.0, t_stop, [Unit("u", np.array(spikes))], injections)


def test_half_open_windows_count_boundary_spikes_once() -> None:
    spikes = np.array([0.0, 10.0, 10.0, 20.0, 30.0])
    assert count_in_window(spikes, 0.0, 10.0) == 1
    assert count_in_window(spikes, 10.0, 20.0) == 2
    assert count_in_window(spikes, 20.0, 30.0) == 1
    assert count_in_window(spikes, 30.0, 30.0) == 0


def test_hand_counted_dose_rates() -> None:
    # Baseline [20, 200): spikes at 20, 50, 199.999 -> 3 / 180 s.
    # Injection 1 at 200, next at 380: window [320, 380) holds 320, 379 -> 2 / 60 s.
    # Injection 2 at 380, recording ends at 500: window [440, 500) holds 440 only (500 is out).
    spikes = [10.0, 20.0, 50.0, 199.999, 200.0, 319.9, 320.0, 379.0, 380.0, 439.0, 440.0]
    rec = _recording(spikes, [200.0, 380.0], t_stop=500.0)
    table = dose_rates(rec)
    assert table["window_start_s"].tolist() == [320.0, 440.0]
    assert table["window_stop_s"].tolist() == [380.0, 500.0]
    assert table["baseline_rate_hz"].iloc[0] == pytest.approx(3 / 180)
    assert table["rate_hz"].tolist() == pytest.approx([2 / 60, 1 / 60])
    assert table["pct_baseline"].tolist() == pytest.approx(
        [100 * (2 / 60) / (3 / 180), 100 * (1 / 60) / (3 / 180)]
    )
    assert table["cumulative_dose"].tolist() == [5.0, 10.0]


def test_baseline_is_clipped_and_flagged() -> None:
    rec = _recording([1.0], [45.0], t_stop=100.0)
    window = baseline_window(rec)
    assert (window.start_s, window.stop_s) == (0.0, 45.0)
    assert baseline_is_short(window)
    assert not baseline_is_short(baseline_window(_recording([1.0], [90.0], 100.0)))


def test_short_interval_response_window_starts_at_injection() -> None:
    rec = _recording([1.0], [200.0, 230.0], t_stop=400.0)
    (_, first), (_, second) = response_windows(rec)
    assert (first.start_s, first.stop_s) == (200.0, 230.0)
    assert (second.start_s, second.stop_s) == (340.0, 400.0)


def test_silent_baseline_gives_nan_percentage() -> None:
    rec = _recording([250.0], [200.0], t_stop=300.0)
    assert np.isnan(dose_rates(rec)["pct_baseline"].iloc[0])


@pytest.mark.parametrize("bad", [{"baseline_s": 0}, {"response_s": -1}, {"min_baseline_s": 500}])
def test_bad_epoch_params(bad: dict[str, float]) -> None:
    with pytest.raises(BadParameterError):
        EpochParams(**bad)


@settings(max_examples=60, deadline=None)
@given(
    spikes=st.lists(st.floats(0, 1000, allow_nan=False), max_size=200),
    gaps=st.lists(st.floats(1, 300, allow_nan=False), min_size=1, max_size=8),
    first=st.floats(0, 400, allow_nan=False),
)
def test_windows_never_overlap_and_rates_are_bounded(
    spikes: list[float], gaps: list[float], first: float
) -> None:
    injection_times = list(np.cumsum([first, *gaps[:-1]]))
    t_stop = injection_times[-1] + gaps[-1]
    rec = _recording(spikes, injection_times, t_stop=t_stop)
    windows = [w for _, w in response_windows(rec)]
    for earlier, later in itertools.pairwise(windows):
        assert earlier.stop_s <= later.start_s
    table = dose_rates(rec)
    for window, rate in zip(windows, table["rate_hz"], strict=True):
        assert window.length_s > 0 or np.isnan(rate)
        if window.length_s > 0:
            expected = sum(window.start_s <= s < window.stop_s for s in spikes) / window.length_s
            assert rate == pytest.approx(expected)


def test_window_length_never_negative() -> None:
    assert Window(5.0, 3.0).length_s == 0.0


def test_injections_outside_the_recording_get_clipped_windows() -> None:
    rec = _recording([1.0], [-20.0, 50.0, 120.0], t_stop=100.0)
    windows = [(w.start_s, w.stop_s) for _, w in response_windows(rec)]
    assert windows == [(0.0, 50.0), (50.0, 100.0), (100.0, 100.0)]
    assert np.isnan(dose_rates(rec)["rate_hz"].iloc[2])
