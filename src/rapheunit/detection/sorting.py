"""Split one channel's detected events into units: PCA on snippets, Gaussian mixture with BIC.

A single-unit recording usually holds one dominant unit plus small background
spikes. The aligned snippets are projected on their first principal
components; Gaussian mixtures of 1 to ``max_clusters`` components are fitted
and the one with the lowest BIC is kept, among those whose every component
holds at least ``MIN_CLUSTER_EVENTS`` events (a Gaussian collapsed on one stray
event has an unbounded likelihood); each event goes to its most probable
component. A Gaussian mixture splits any cluster that is not Gaussian
(amplitude drift over an hour, sampling jitter of the peak) into pieces, so
components are then merged pairwise while the events of the two, projected on
the line joining their means, show no dip between them: the smoothed event
density midway stays above ``DIP_RATIO`` of the smaller of the two peaks.

Each cluster gets two isolation figures:

- ``l_ratio``: the L-ratio of Schmitzer-Torbert et al. (2005, Neuroscience
  131:1-11) in the PCA feature space: the sum, over the channel's events *not*
  in the cluster, of the chi-square survival function of their squared
  Mahalanobis distance to the cluster, divided by the cluster's size. Lower is
  better isolated; NaN when there is no other event to compare with (a lone
  cluster) or the cluster is too small for a covariance matrix.
- ``confidence``: the mean posterior probability of the cluster's own events
  under the mixture (1.0 = every event unambiguous).

The dominant cluster is the one with the largest ``peak_amplitude x n_events``
(median absolute value at the alignment sample times the count): the big unit
the electrode was placed on, even when small background units fire more often.
Clusters are numbered by that score, so cluster 0 is the dominant one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from rapheunit.core.errors import BadParameterError, validate_type

if TYPE_CHECKING:  # scikit-learn is imported when events are first sorted
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import ThreadpoolController

# Single-unit DRN recordings: one dominant unit plus at most a couple of small background units.
MAX_CLUSTERS = 3
N_FEATURES = 3  # principal components fed to the mixture
MIN_EVENTS_TO_SORT = 30  # below this a mixture is not identifiable: keep a single cluster
# A mixture component with fewer events is a stray noise event or a degenerate fit, not a unit.
MIN_CLUSTER_EVENTS = 10
# Two components are one unit unless the event density midway between them dips below this
# fraction of the smaller of their two peaks (two equal Gaussians dip that deep at d' ~ 3.3).
DIP_RATIO = 0.5
_DIP_BINS = 20  # histogram bins over -0.5..1.5 in units of the distance between the two means
FIT_SUBSAMPLE = 20_000  # PCA and mixtures are fitted on at most this many evenly spaced events
_RANDOM_STATE = 0  # fixed so that sorting is reproducible


@dataclass(frozen=True)
class ClusterQuality:
    """Size, amplitude and isolation of one cluster (see the module docstring)."""

    n_events: int
    peak_amplitude: float
    l_ratio: float
    confidence: float
    note: str = ""

    @property
    def dominance(self) -> float:
        """The dominance score: ``peak_amplitude * n_events``."""
        return self.peak_amplitude * self.n_events


@dataclass(frozen=True)
class SortResult:
    """Cluster label of every event (0 = dominant) and the quality of each cluster."""

    labels: np.ndarray
    clusters: tuple[ClusterQuality, ...]
    method: str

    @property
    def n_clusters(self) -> int:
        """Number of clusters found."""
        return len(self.clusters)


def sort_events(
    snippets: np.ndarray, peak_index: int, *, max_clusters: int = MAX_CLUSTERS
) -> SortResult:
    """Cluster aligned event snippets into units.

    Parameters
    ----------
    snippets : numpy.ndarray
        ``(n_events, n_samples)`` waveforms, aligned so that each event's
        extremum sits at ``peak_index``.
    peak_index : int
        Column of the alignment sample.
    max_clusters : int
        Largest number of mixture components tried (BIC picks 1..max_clusters).

    Returns
    -------
    SortResult
        ``labels`` (cluster per event, 0 = dominant) and per-cluster quality.
        Fewer than ``MIN_EVENTS_TO_SORT`` events give a single cluster with
        NaN isolation and a note saying why.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> shape = -np.hanning(20)
    >>> big = 10 * shape + rng.normal(0, 0.3, (200, 20))
    >>> small = 4 * shape + rng.normal(0, 0.3, (300, 20))
    >>> result = sort_events(np.vstack([big, small]), peak_index=9)
    >>> result.n_clusters, [cluster.n_events for cluster in result.clusters]
    (2, [200, 300])
    >>> bool(np.all(result.labels[:200] == 0))
    True
    """
    snippets = _checked_snippets(snippets, peak_index, max_clusters)
    amplitudes = np.abs(snippets[:, peak_index]).astype(np.float64)
    n_events = len(snippets)
    if n_events < MIN_EVENTS_TO_SORT:
        note = f"{n_events} events: too few to sort (< {MIN_EVENTS_TO_SORT}), kept as one cluster"
        labels = np.zeros(n_events, dtype=np.int64)
        clusters = (_lone_quality(amplitudes, note),) if n_events else ()
        return SortResult(labels, clusters, "single")
    # The matrices are small (events x a few features): BLAS threads only add overhead,
    # ten-fold on a busy 2-core machine.
    with _thread_pools().limit(limits=1):
        features = _pca_features(snippets)
        mixture = _lowest_bic_mixture(features, max_clusters)
        posteriors = mixture.predict_proba(features)
    raw_labels, posteriors = _merge_single_modes(posteriors.argmax(axis=1), posteriors, features)
    return _ranked_result(raw_labels, posteriors, amplitudes, features)


def _checked_snippets(snippets: np.ndarray, peak_index: int, max_clusters: int) -> np.ndarray:
    snippets = np.asarray(snippets)
    validate_type(max_clusters, int, "max_clusters")
    if snippets.ndim != 2 or not 0 <= peak_index < snippets.shape[1]:
        raise BadParameterError(
            f"snippets must be (n_events, n_samples) with peak_index inside, got shape "
            f"{snippets.shape} and peak_index {peak_index}"
        )
    if max_clusters < 1:
        raise BadParameterError(f"max_clusters must be >= 1, got {max_clusters}")
    return snippets


@cache
def _thread_pools() -> ThreadpoolController:
    """The loaded BLAS/OpenMP pools, found once (a search costs ~50 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _fit_rows(n_events: int) -> np.ndarray:
    """Evenly spaced event indices to fit on (deterministic, covers the whole recording)."""
    if n_events <= FIT_SUBSAMPLE:
        return np.arange(n_events)
    return np.linspace(0, n_events - 1, FIT_SUBSAMPLE).astype(np.int64)


def _pca_features(snippets: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    n_components = min(N_FEATURES, snippets.shape[1], len(snippets) - 1)
    pca = PCA(n_components=n_components, random_state=_RANDOM_STATE)
    pca.fit(snippets[_fit_rows(len(snippets))])
    return pca.transform(snippets).astype(np.float64)


def _lowest_bic_mixture(features: np.ndarray, max_clusters: int) -> GaussianMixture:
    from sklearn.mixture import GaussianMixture

    fit_features = features[_fit_rows(len(features))]
    best: GaussianMixture | None = None
    best_bic = np.inf
    for n_components in range(1, max_clusters + 1):
        mixture = GaussianMixture(
            n_components, covariance_type="full", random_state=_RANDOM_STATE
        ).fit(fit_features)
        bic = mixture.bic(fit_features)
        too_small = np.any(mixture.weights_ * len(features) < MIN_CLUSTER_EVENTS)
        if bic < best_bic and not too_small:
            best, best_bic = mixture, bic
    assert best is not None  # max_clusters >= 1 guarantees one fit
    return best


def _merge_single_modes(
    labels: np.ndarray, posteriors: np.ndarray, features: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge pairs of components whose events form one mode, until no pair does."""
    posteriors = posteriors.copy()
    while True:
        pairs = combinations(np.unique(labels), 2)
        pair = next((pair for pair in pairs if _one_mode(features, labels, *pair)), None)
        if pair is None:
            return labels, posteriors
        kept, absorbed = pair
        labels = np.where(labels == absorbed, kept, labels)
        posteriors[:, kept] += posteriors[:, absorbed]
        posteriors[:, absorbed] = 0.0


def _one_mode(features: np.ndarray, labels: np.ndarray, first: int, second: int) -> bool:
    """True when the two clusters show no dip along the line joining their means."""
    origin = features[labels == first].mean(axis=0)
    axis = features[labels == second].mean(axis=0) - origin
    if not np.any(axis):
        return True
    pair = features[(labels == first) | (labels == second)]
    position = (pair - origin) @ axis / (axis @ axis)  # first mean at 0, second at 1
    counts, edges = np.histogram(position, bins=_DIP_BINS, range=(-0.5, 1.5))
    density = np.convolve(counts, np.ones(3) / 3, mode="same")
    centres = (edges[:-1] + edges[1:]) / 2
    first_peak = density[np.abs(centres) <= 0.25].max()
    second_peak = density[np.abs(centres - 1) <= 0.25].max()
    valley = density[(centres > 0.25) & (centres < 0.75)].min()
    return bool(valley >= DIP_RATIO * min(first_peak, second_peak))


def _ranked_result(
    raw_labels: np.ndarray, posteriors: np.ndarray, amplitudes: np.ndarray, features: np.ndarray
) -> SortResult:
    """Drop empty components, score the rest, and renumber them by dominance (0 = dominant)."""
    present = np.unique(raw_labels)
    qualities = {
        int(label): _cluster_quality(
            raw_labels == label, posteriors[:, label], amplitudes, features, lone=present.size == 1
        )
        for label in present
    }
    order = sorted(qualities, key=lambda label: -qualities[label].dominance)
    new_label = np.zeros(posteriors.shape[1], dtype=np.int64)
    new_label[order] = np.arange(len(order))
    return SortResult(
        new_label[raw_labels], tuple(qualities[label] for label in order), "pca-gmm-bic"
    )


def _cluster_quality(
    members: np.ndarray,
    posterior: np.ndarray,
    amplitudes: np.ndarray,
    features: np.ndarray,
    *,
    lone: bool,
) -> ClusterQuality:
    n_events = int(np.count_nonzero(members))
    n_features = features.shape[1]
    if lone:
        l_ratio, note = np.nan, "only cluster on the channel: no other events for the L-ratio"
    elif n_events <= n_features:
        l_ratio, note = np.nan, f"{n_events} events: too few for the L-ratio covariance"
    else:
        l_ratio, note = _l_ratio(features, members), ""
    return ClusterQuality(
        n_events=n_events,
        peak_amplitude=float(np.median(amplitudes[members])),
        l_ratio=l_ratio,
        confidence=float(posterior[members].mean()),
        note=note,
    )


def _l_ratio(features: np.ndarray, members: np.ndarray) -> float:
    """L-ratio of the cluster ``members`` against all other events (Schmitzer-Torbert 2005)."""
    own = features[members]
    centred = features[~members] - own.mean(axis=0)
    inverse = np.linalg.pinv(np.cov(own, rowvar=False))
    squared_distance = np.einsum("ij,jk,ik->i", centred, inverse, centred)
    from scipy.stats import chi2

    return float(chi2.sf(squared_distance, df=features.shape[1]).sum() / len(own))


def _lone_quality(amplitudes: np.ndarray, note: str) -> ClusterQuality:
    return ClusterQuality(
        n_events=len(amplitudes),
        peak_amplitude=float(np.median(amplitudes)),
        l_ratio=np.nan,
        confidence=np.nan,
        note=note,
    )
