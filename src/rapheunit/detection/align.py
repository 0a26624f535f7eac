"""One event per spike, aligned on one feature of its unit's template.

The detector keeps a peak only when it is the largest within one spike width
(the dead time), so a broad biphasic or triphasic spike gives one event; but
noise can still make a spike's event fall on another phase than its
neighbours'. After sorting, each event of a unit is therefore re-aligned on
the unit's template: the lag that best matches the template (cross-correlation
within :data:`ALIGN_MAX_SHIFT_MS`) plus the offset of the template's dominant
extremum, so that every event of the unit sits on the same point of its
spike. A cluster whose template is a time-shifted copy of a larger one's
(same shape and size at some lag) is that unit seen on another phase: it is
merged into it, its events moved onto the unit's point; events of one unit
that then coincide (a spike detected twice, or on two phases) are kept once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Events are re-aligned by at most this much: the distance between the extrema of the
# phases of a broad 5-HT spike (about 1 ms, up to 2 ms for a 3.5 ms spike).
ALIGN_MAX_SHIFT_MS = 2.0
# A cluster whose template matches a larger one's at some lag with this correlation,
# and at the same size, is that unit seen on another phase.
MIN_TEMPLATE_CORRELATION = 0.9
MAX_AMPLITUDE_RATIO = 1.3
# An event whose snippet correlates less than this with its unit's template is a
# noise crossing that the threshold let through, not one of the unit's spikes.
MIN_EVENT_CORRELATION = 0.6


@dataclass
class Realigned:
    """Event sample indices, aligned snippets and cluster labels after re-alignment."""

    sample_indices: np.ndarray
    snippets: np.ndarray
    labels: np.ndarray
    notes: list[str] = field(default_factory=list)


def realign(
    extended: np.ndarray,
    sample_indices: np.ndarray,
    labels: np.ndarray,
    *,
    align: int,
    snippet_samples: int,
    peak_index: int,
    dead_samples: int,
) -> Realigned:
    """Align every unit's events on its template, drop duplicate events and merge copies.

    Parameters
    ----------
    extended : numpy.ndarray
        ``(n_events, snippet_samples + 2 * align)`` snippets: ``align`` extra
        samples on either side of each event's snippet.
    sample_indices : numpy.ndarray
        Sample of each event (the snippet's ``peak_index``).
    labels : numpy.ndarray
        Cluster of each event (0 = dominant).
    align, snippet_samples, peak_index, dead_samples : int
        Largest shift, snippet length, alignment column and one spike width, in samples.

    Examples
    --------
    >>> template = np.r_[np.zeros(6), -np.hanning(8), 0.5 * np.hanning(8), np.zeros(6)]
    >>> snippets = np.array([np.roll(template, shift) for shift in (0, 2, -2, 0)])
    >>> result = realign(snippets, np.array([100, 200, 300, 400]), np.zeros(4, int), align=3,
    ...                  snippet_samples=22, peak_index=6, dead_samples=5)
    >>> (result.sample_indices - np.array([100, 200, 300, 400])).tolist()
    [0, 2, -2, 0]
    """
    aligner = _Aligner(extended, align, snippet_samples, peak_index)
    shifts = np.zeros(len(labels), dtype=np.int64)
    for cluster in np.unique(labels):
        rows = np.flatnonzero(labels == cluster)
        shifts[rows] = aligner.template_shifts(rows)
    result = Realigned(sample_indices + shifts, aligner.cut(shifts), labels.copy())
    _merge_copies(result, aligner, shifts, sample_indices, dead_samples)
    _drop_repeats(result, dead_samples)
    _drop_outliers(result)
    _, result.labels = np.unique(result.labels, return_inverse=True)  # renumber 0, 1, ...
    return result


@dataclass(frozen=True)
class _Aligner:
    """Extended snippets and the geometry to cut aligned snippets out of them."""

    extended: np.ndarray
    align: int
    snippet_samples: int
    peak_index: int

    def template_shifts(self, rows: np.ndarray) -> np.ndarray:
        """Per event, the shift that puts its template's dominant extremum at ``peak_index``."""
        events = self.extended[rows]
        template = events[:, self.align : self.align + self.snippet_samples].mean(axis=0)
        target = int(np.argmax(np.abs(template)))
        windows = np.lib.stride_tricks.sliding_window_view(events, self.snippet_samples, axis=1)
        lags = np.einsum("nws,s->nw", windows, template).argmax(axis=1) - self.align
        return np.clip(lags + target - self.peak_index, -self.align, self.align)

    def cut(self, shifts: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Snippets of ``rows`` (all events by default) moved by ``shifts``."""
        rows = np.arange(shifts.size) if rows is None else rows
        columns = self.align + shifts[:, None] + np.arange(self.snippet_samples)
        return self.extended[rows[:, None], columns]


def _drop_repeats(result: Realigned, dead_samples: int) -> None:
    """Keep one event per spike in each unit (two phases of one spike now coincide)."""
    order = np.lexsort((result.sample_indices, result.labels))
    times, labels = result.sample_indices[order], result.labels[order]
    repeat = np.zeros(order.size, dtype=bool)
    repeat[1:] = (labels[1:] == labels[:-1]) & (np.diff(times) <= dead_samples)
    keep = np.ones(order.size, dtype=bool)
    keep[order[repeat]] = False
    if repeat.any():
        result.notes.append(f"{int(repeat.sum())} repeated event(s) of one spike dropped")
    _keep(result, keep)


def _drop_outliers(result: Realigned) -> None:
    """Drop events whose snippet does not look like their unit's template (noise crossings)."""
    keep = np.ones(result.labels.size, dtype=bool)
    for cluster in np.unique(result.labels):
        rows = np.flatnonzero(result.labels == cluster)
        template = result.snippets[rows].mean(axis=0)
        centred = result.snippets[rows] - result.snippets[rows].mean(axis=1, keepdims=True)
        reference = template - template.mean()
        scale = np.linalg.norm(centred, axis=1) * np.linalg.norm(reference)
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = centred @ reference / scale
        keep[rows] = ~(correlation < MIN_EVENT_CORRELATION)
    if not keep.all():
        result.notes.append(
            f"{int((~keep).sum())} event(s) unlike their unit's template dropped (noise)"
        )
    _keep(result, keep)


def _merge_copies(
    result: Realigned,
    aligner: _Aligner,
    shifts: np.ndarray,
    detected: np.ndarray,
    dead_samples: int,
) -> None:
    """Merge each cluster whose template is a time-shifted copy of a larger one's into it.

    Its events then either repeat the larger unit's spikes (within a spike
    width of them: dropped as duplicates) or are that unit's other spikes,
    detected on another phase (moved by the lag onto the unit's point).
    """
    clusters = sorted(np.unique(result.labels), key=lambda c: -np.sum(result.labels == c))
    for rank, small in enumerate(clusters):
        for large in clusters[:rank]:
            lag = _copy_lag(result, small, large, aligner.align)
            if lag is None:
                continue
            rows = np.flatnonzero(result.labels == small)
            large_times = np.sort(result.sample_indices[result.labels == large])
            coincident = _near(result.sample_indices[rows], large_times, dead_samples)
            result.labels[rows] = large
            shifts[rows] = np.clip(shifts[rows] + lag, -aligner.align, aligner.align)
            result.sample_indices[rows] = detected[rows] + shifts[rows]
            result.snippets[rows] = aligner.cut(shifts[rows], rows)
            result.notes.append(
                f"cluster {small} merged into cluster {large}: the same spike shape on "
                f"another phase ({int(coincident.sum())} of its {rows.size} events repeated "
                f"cluster {large}'s spikes)"
            )
            break


def _copy_lag(result: Realigned, small: int, large: int, max_lag: int) -> int | None:
    """The lag at which cluster ``small``'s template repeats ``large``'s (see :func:`copy_lag`)."""
    return copy_lag(
        result.snippets[result.labels == small].mean(axis=0),
        result.snippets[result.labels == large].mean(axis=0),
        max_lag,
    )


def copy_lag(first: np.ndarray, second: np.ndarray, max_lag: int) -> int | None:
    """The lag at which template ``first`` repeats ``second``, or None when it does not.

    A copy matches at some lag (``first[i + lag] ~ second[i]``) with a
    normalised correlation of at least :data:`MIN_TEMPLATE_CORRELATION` and
    has the same size (peak-to-peak within :data:`MAX_AMPLITUDE_RATIO`): two
    neurons of one shape differ in amplitude.

    Examples
    --------
    >>> spike = np.r_[np.zeros(5), -np.hanning(8), 0.4 * np.hanning(8), np.zeros(5)]
    >>> copy_lag(np.roll(spike, 2), spike, 4), copy_lag(0.5 * spike, spike, 4)
    (2, None)
    """
    ratio = np.ptp(first) / np.ptp(second) if np.ptp(second) > 0 else np.inf
    if not 1.0 / MAX_AMPLITUDE_RATIO <= ratio <= MAX_AMPLITUDE_RATIO:
        return None
    best_lag, best = None, MIN_TEMPLATE_CORRELATION
    size = first.size
    for lag in range(-max_lag, max_lag + 1):
        a = first[max(lag, 0) : size + min(lag, 0)]
        b = second[max(-lag, 0) : size + min(-lag, 0)]
        a, b = a - a.mean(), b - b.mean()
        scale = np.linalg.norm(a) * np.linalg.norm(b)
        correlation = float(a @ b / scale) if scale > 0 else 0.0
        if correlation >= best:
            best_lag, best = lag, correlation
    return best_lag


def _near(times: np.ndarray, sorted_reference: np.ndarray, tolerance: int) -> np.ndarray:
    """For each time, whether a reference time lies within ``tolerance`` samples."""
    if sorted_reference.size == 0:
        return np.zeros(times.size, dtype=bool)
    right = np.searchsorted(sorted_reference, times)
    left = np.clip(right - 1, 0, sorted_reference.size - 1)
    right = np.clip(right, 0, sorted_reference.size - 1)
    distance = np.minimum(
        np.abs(sorted_reference[left] - times), np.abs(sorted_reference[right] - times)
    )
    return distance <= tolerance


def _keep(result: Realigned, keep: np.ndarray) -> None:
    result.sample_indices = result.sample_indices[keep]
    result.snippets = result.snippets[keep]
    result.labels = result.labels[keep]
