"""Firing features: elephant agreement, half-open windows, bursts, short trains."""

from __future__ import annotations

import math
import time

import elephant.statistics as elephant_stats
import numpy as np
import pytest
import quantities as pq

from rapheunit.core.errors import BadParameterError
from rapheunit.measures.features import (
    autocorrelogram,
    firing_features,
    isi_histogram,
    spikes_in_window,
)


def gamma_train(rng: np.random.Generator, n_spikes: int, rate_hz: float, cv: float) -> np.ndarray:
    shape = 1.0 / cv**2
    return np.cumsum(rng.gamma(shape, 1.0 / (shape * rate_hz), size=n_spikes))


@pytest.mark.parametrize("seed", range(6))
def test_variability_agrees_with_elephant(seed: int) -> None:
    rng = np.random.default_rng(seed)
    times = gamma_train(rng, int(rng.integers(5, 400)), rng.uniform(0.5, 20), rng.uniform(0.1, 1.5))
    start, stop = times[1], times[-1] + 1e-3  # window drops the first spike
    features = firing_features(times, start, stop)
    isis = np.diff(times[1:])
    expected = {
        "cv_isi": elephant_stats.cv(isis),
        "cv2": elephant_stats.cv2(isis * pq.s),
        "lv": elephant_stats.lv(isis * pq.s),
        "lvr": elephant_stats.lvr(isis * pq.s, R=5 * pq.ms),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(getattr(features, name), float(value), rtol=1e-12, err_msg=name)
    assert features.n_spikes == times.size - 1 and features.n_isis == times.size - 2


def test_lvr_uses_refractory_constant_in_seconds() -> None:
    isis = np.array([0.3, 0.45, 0.2, 0.6, 0.35])
    times = np.concatenate([[0.0], np.cumsum(isis)])
    features = firing_features(times, 0.0, 10.0, lvr_refractory_s=0.05)
    # Shinomoto et al. 2009, written out with R = 0.05 s.
    total = isis[:-1] + isis[1:]
    by_hand = (
        3
        / (isis.size - 1)
        * np.sum((1 - 4 * isis[:-1] * isis[1:] / total**2) * (1 + 4 * 0.05 / total))
    )
    np.testing.assert_allclose(features.lvr, by_hand, rtol=1e-12)


def test_window_is_half_open_and_rate_uses_its_length() -> None:
    times = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    features = firing_features(times, 1.0, 3.0)
    assert features.n_spikes == 4  # 1.0 included, 3.0 excluded
    assert features.rate_hz == pytest.approx(2.0)
    np.testing.assert_array_equal(spikes_in_window(times, 1.0, 3.0), [1.0, 1.5, 2.0, 2.5])


def test_burst_metrics_on_constructed_train() -> None:
    # Regular 1 s rhythm; a doublet at 3 s, a triplet at 6 s (ISIs 5 and 8 ms).
    times = np.sort(np.r_[np.arange(10.0), 3.005, 6.005, 6.013])
    features = firing_features(times, 0.0, 10.0)
    assert features.n_bursts == 2
    assert features.burst_fraction == pytest.approx(5 / 13)
    assert features.mean_spikes_per_burst == pytest.approx(2.5)


def test_burst_threshold_is_strict() -> None:
    # Binary fractions keep the ISIs exact: 0.25 is not < 0.25, 0.125 is.
    times = np.array([0.0, 0.25, 1.0, 1.125, 2.0])
    features = firing_features(times, 0.0, 3.0, burst_isi_s=0.25)
    assert features.n_bursts == 1
    assert features.burst_fraction == pytest.approx(2 / 5)


def test_burst_removed_cv_recovers_the_regular_rhythm() -> None:
    rng = np.random.default_rng(3)
    rhythm = gamma_train(rng, 400, 1.0, 0.2)
    doublets = rhythm[::3] + rng.uniform(0.005, 0.015, size=rhythm[::3].size)
    times = np.sort(np.r_[rhythm, doublets])
    features = firing_features(times, 0.0, times[-1] + 1.0)
    isis = np.diff(times)
    kept = isis[isis >= 0.020]
    assert features.n_nonburst_isis == kept.size
    np.testing.assert_allclose(features.cv_isi_nonburst, kept.std() / kept.mean(), rtol=1e-12)
    assert features.cv_isi > 0.5  # doublets make the raw CV look irregular
    assert features.cv_isi_nonburst < 0.3


@pytest.mark.parametrize("n_spikes", [0, 1, 2])
def test_too_few_spikes_give_nan_and_reasons(n_spikes: int) -> None:
    times = np.arange(n_spikes, dtype=float) + 0.5
    features = firing_features(times, 0.0, 10.0)
    assert features.rate_hz == pytest.approx(n_spikes / 10.0)
    for name in ("cv_isi", "cv_isi_nonburst", "cv2", "lv", "lvr"):
        assert math.isnan(getattr(features, name))
        assert "needs >= 2" in features.reasons[name]
    assert math.isnan(features.mean_spikes_per_burst)
    if n_spikes < 2:
        assert math.isnan(features.burst_fraction) and "burst_fraction" in features.reasons
    else:
        assert features.burst_fraction == 0.0


def test_three_spikes_are_enough_for_variability() -> None:
    features = firing_features(np.array([0.0, 1.0, 3.0]), 0.0, 4.0)
    assert features.cv_isi == pytest.approx(1 / 3)
    assert not {"cv_isi", "cv2", "lv", "lvr"} & set(features.reasons)


@pytest.mark.parametrize(
    ("times", "start", "stop"),
    [
        (np.array([0.0, 1.0]), 2.0, 2.0),
        (np.array([0.0, 1.0]), 3.0, 1.0),
        (np.array([1.0, 0.0]), 0.0, 2.0),
        (np.array([0.0, np.nan]), 0.0, 2.0),
        (np.array([0.0, 1.0]), 0.0, np.inf),
    ],
)
def test_bad_input_raises(times: np.ndarray, start: float, stop: float) -> None:
    with pytest.raises(BadParameterError):
        firing_features(times, start, stop)


def test_bad_burst_threshold_raises() -> None:
    with pytest.raises(BadParameterError, match="burst_isi_s"):
        firing_features(np.array([0.0, 1.0]), 0.0, 2.0, burst_isi_s=0.0)


def test_isi_histogram_log_bins() -> None:
    rng = np.random.default_rng(1)
    times = gamma_train(rng, 500, 2.0, 1.0)
    counts, edges = isi_histogram(times, n_bins=40, min_s=0.001, max_s=10.0)
    assert counts.size == 40 and edges.size == 41
    np.testing.assert_allclose(np.diff(np.log10(edges)), 0.1)
    isis = np.diff(times)
    assert counts.sum() == np.count_nonzero((isis >= 0.001) & (isis <= 10.0))
    assert counts[np.searchsorted(edges, isis[0], side="right") - 1] >= 1


def test_isi_histogram_rejects_bad_range() -> None:
    with pytest.raises(BadParameterError, match="max_s"):
        isi_histogram(np.array([0.0, 1.0]), min_s=1.0, max_s=0.5)


def brute_force_lags(times: np.ndarray) -> np.ndarray:
    lags = times[None, :] - times[:, None]
    return lags[~np.eye(times.size, dtype=bool)]


def test_autocorrelogram_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    times = gamma_train(rng, 600, 5.0, 0.7)
    counts, edges = autocorrelogram(times, bin_s=0.02, window_s=1.0)
    assert edges.size == counts.size + 1 == 101
    lags = brute_force_lags(times)
    positive = lags[(lags >= 0) & (lags < 1.0)]
    expected_positive, _ = np.histogram(positive, bins=edges[50:])
    np.testing.assert_array_equal(counts[50:], expected_positive)
    np.testing.assert_array_equal(counts[:50], expected_positive[::-1])


def test_autocorrelogram_of_a_clock_peaks_at_its_period() -> None:
    times = np.arange(0.0, 100.0, 0.53)
    counts, edges = autocorrelogram(times, bin_s=0.1, window_s=2.0)
    centres = (edges[:-1] + edges[1:]) / 2
    assert set(np.round(np.abs(centres[counts > 0]), 2)) == {0.55, 1.05, 1.55}


def test_autocorrelogram_is_fast_for_long_trains() -> None:
    rng = np.random.default_rng(4)
    times = gamma_train(rng, 72_000, 20.0, 1.0)
    began = time.perf_counter()
    counts, _ = autocorrelogram(times)
    assert time.perf_counter() - began < 10.0
    assert counts.sum() > 0


def test_autocorrelogram_of_empty_train_is_all_zero() -> None:
    counts, edges = autocorrelogram(np.array([]), bin_s=0.1, window_s=1.0)
    assert counts.sum() == 0 and edges.size == 21
