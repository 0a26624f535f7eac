"""What detection gives back: each channel's events, its filtered excerpt, and the units."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rapheunit.core.model import Unit
from rapheunit.detection.params import DetectParams


@dataclass(frozen=True)
class ChannelEvents:
    """Events detected on one channel: sample indices, snippets and the threshold used."""

    channel: int
    sample_indices: np.ndarray
    snippets: np.ndarray
    peak_index: int
    noise_mad: float
    threshold: float


@dataclass(frozen=True)
class SignalExcerpt:
    """A short stretch of one channel's filtered signal and the unit spikes in it."""

    channel: int
    t_start_s: float
    sampling_rate_hz: float
    filtered: np.ndarray
    units: str
    threshold: float
    spike_times: dict[str, np.ndarray]

    @property
    def times_s(self) -> np.ndarray:
        """Time of each sample of ``filtered`` in seconds."""
        return self.t_start_s + np.arange(self.filtered.size) / self.sampling_rate_hz


@dataclass
class DetectionResult:
    """Units found in a continuous signal, with the per-channel detection settings.

    ``threshold``, ``noise_mad`` and ``polarity_used`` map channel -> value.
    ``noise_mad`` is the noise SD estimated as ``median(|filtered|) / 0.6745``
    (0 for a flat channel, whose threshold is then infinite and which gets a
    warning). ``polarity_used`` is the requested polarity, except that
    ``"both"`` resolves to the sign of the dominant unit's peaks on that
    channel (events of either sign are kept). ``excerpts`` holds, for each
    channel with units, ``EXCERPT_S`` of filtered signal and the spikes in it.
    Every unit's annotations hold ``channel``, ``cluster``, ``n_clusters``,
    ``dominant`` (True for cluster 0 of its channel), ``l_ratio``,
    ``isolation_confidence``, ``isolation_note``, ``peak_amplitude``,
    ``dominance_score``, ``polarity``, ``threshold``, ``noise_mad`` and
    ``sorting_method`` (see :mod:`rapheunit.detection.sorting` for the isolation figures).
    """

    units: list[Unit]
    threshold: dict[int, float]
    noise_mad: dict[int, float]
    polarity_used: dict[int, str]
    excerpts: dict[int, SignalExcerpt]
    params: DetectParams
    warnings: list[str] = field(default_factory=list)

    @property
    def dominant_unit(self) -> Unit | None:
        """The unit with the largest dominance score over all channels (None if no units)."""
        return max(self.units, key=lambda unit: unit.annotations["dominance_score"], default=None)
