"""PCA + Gaussian-mixture cluster separation, isolation quality and the dominant unit."""

from __future__ import annotations

import numpy as np
import pytest

from rapheunit.core.errors import BadParameterError
from rapheunit.detection.sorting import MIN_EVENTS_TO_SORT, sort_events

N_SAMPLES = 100  # 4 ms at 25 kHz
PEAK_INDEX = 25  # extremum at 1 ms


def spike(shift_samples: np.ndarray, width_samples: float = 4.0) -> np.ndarray:
    """Biphasic spikes (trough -1 at PEAK_INDEX + shift, then a smaller positive phase)."""
    position = np.arange(N_SAMPLES)[None, :] - PEAK_INDEX - np.asarray(shift_samples)[:, None]
    trough = -np.exp(-0.5 * (position / width_samples) ** 2)
    return trough + 0.35 * np.exp(
        -0.5 * ((position - 3 * width_samples) / (2 * width_samples)) ** 2
    )


def unit_snippets(
    rng: np.random.Generator, n_events: int, amplitude: float, *, width: float = 4.0
) -> np.ndarray:
    """Snippets of one unit: sub-sample jitter of the aligned peak plus unit-SD noise."""
    jitter = rng.uniform(-0.5, 0.5, n_events)
    return amplitude * spike(jitter, width) + rng.normal(0.0, 1.0, (n_events, N_SAMPLES))


def test_two_units_of_different_amplitude_are_separated_and_the_big_one_dominates():
    rng = np.random.default_rng(3)
    big, small = unit_snippets(rng, 400, 14.0), unit_snippets(rng, 600, 6.0, width=2.5)
    result = sort_events(np.vstack([big, small]), PEAK_INDEX)
    assert result.n_clusters == 2
    assert np.mean(result.labels[:400] == 0) > 0.98 and np.mean(result.labels[400:] == 1) > 0.98
    dominant, background = result.clusters
    trough = abs(spike(np.zeros(1))[0, PEAK_INDEX])
    assert dominant.peak_amplitude == pytest.approx(14.0 * trough, rel=0.05)
    assert background.peak_amplitude < dominant.peak_amplitude / 2
    assert dominant.confidence > 0.98 and dominant.l_ratio < 0.05


def test_dominance_is_amplitude_times_count_not_amplitude_alone():
    rng = np.random.default_rng(4)
    rare_big, frequent_small = unit_snippets(rng, 60, 15.0), unit_snippets(rng, 900, 6.0, width=2)
    result = sort_events(np.vstack([rare_big, frequent_small]), PEAK_INDEX)
    scores = [cluster.dominance for cluster in result.clusters]
    assert result.n_clusters == 2 and scores[0] > scores[1]
    assert result.clusters[0].n_events == pytest.approx(900, abs=10)  # 900 x 6 > 60 x 15


def test_one_unit_with_jitter_and_amplitude_drift_stays_one_cluster():
    rng = np.random.default_rng(5)
    n_events = 4000
    drift = np.linspace(1.0, 0.8, n_events)[:, None]  # amplitude falls 20 % over the recording
    snippets = drift * unit_snippets(rng, n_events, 12.0)
    result = sort_events(snippets, PEAK_INDEX)
    assert result.n_clusters == 1 and result.clusters[0].n_events == n_events
    assert np.isnan(result.clusters[0].l_ratio) and "only cluster" in result.clusters[0].note


def test_closer_clusters_are_less_isolated():
    rng = np.random.default_rng(6)
    big = unit_snippets(rng, 500, 12.0)
    far = sort_events(np.vstack([big, unit_snippets(rng, 500, 5.0)]), PEAK_INDEX)
    near = sort_events(np.vstack([big, unit_snippets(rng, 500, 9.0)]), PEAK_INDEX)
    assert far.n_clusters == near.n_clusters == 2
    assert near.clusters[0].l_ratio > far.clusters[0].l_ratio
    assert near.clusters[0].confidence <= far.clusters[0].confidence


def test_a_stray_event_does_not_become_a_unit():
    rng = np.random.default_rng(7)
    snippets = np.vstack([unit_snippets(rng, 80, 10.0), -40.0 * spike(np.zeros(1))])
    result = sort_events(snippets, PEAK_INDEX)
    assert result.n_clusters == 1 and result.clusters[0].n_events == 81


def test_too_few_events_give_one_cluster_with_a_reason():
    rng = np.random.default_rng(8)
    result = sort_events(unit_snippets(rng, MIN_EVENTS_TO_SORT - 1, 10.0), PEAK_INDEX)
    assert result.n_clusters == 1 and result.method == "single"
    assert np.isnan(result.clusters[0].confidence) and "too few" in result.clusters[0].note
    empty = sort_events(np.empty((0, N_SAMPLES)), PEAK_INDEX)
    assert empty.n_clusters == 0 and empty.labels.size == 0


def test_max_clusters_one_forbids_splitting():
    rng = np.random.default_rng(9)
    snippets = np.vstack([unit_snippets(rng, 300, 14.0), unit_snippets(rng, 300, 5.0)])
    assert sort_events(snippets, PEAK_INDEX, max_clusters=1).n_clusters == 1


def test_sorting_is_reproducible():
    rng = np.random.default_rng(10)
    snippets = np.vstack([unit_snippets(rng, 300, 12.0), unit_snippets(rng, 200, 6.0)])
    first, second = sort_events(snippets, PEAK_INDEX), sort_events(snippets, PEAK_INDEX)
    np.testing.assert_array_equal(first.labels, second.labels)


@pytest.mark.parametrize(
    ("snippets", "peak_index", "max_clusters"),
    [(np.zeros(10), 0, 3), (np.zeros((40, 10)), 10, 3), (np.zeros((40, 10)), 2, 0)],
)
def test_bad_input_is_refused(snippets, peak_index, max_clusters):
    with pytest.raises(BadParameterError):
        sort_events(snippets, peak_index, max_clusters=max_clusters)
