"""Where a spike starts and ends: the run of phases around its largest extremum.

The definitions are in :mod:`rapheunit.measures.waveform` (``phases``,
``onset / return``); this module finds them on a baseline-corrected mean
waveform. A phase is a lobe between baseline crossings (or after a dip
before a new rise) whose peak reaches :data:`PHASE_MIN_FRACTION` of the
largest and :data:`NOISE_K` noise SDs and that starts within
:data:`MAX_PHASE_GAP_MS` of where the previous phase ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A lobe is a phase of the spike when its peak reaches 15 % of the largest
# phase: the smallest phases of DRN spikes, the initial and the last
# positivity, are 20-45 % of the main negativity (VanderMaelen & Aghajanian
# 1983, Brain Res 289:109; Allers & Sharp 2003, Neuroscience 122:193), while
# afterpotentials stay near 10 %.
PHASE_MIN_FRACTION = 0.15
# A phase, and the edge of the spike, must stand this many noise SDs above baseline.
NOISE_K = 3.0
# Back at baseline: |w| at or below 1 % of the amplitude (or the noise), so
# that a slow, low last phase is followed to its end.
EDGE_FRACTION = 0.01
# Phases of one spike abut; a phase starting later than this after the
# previous one ended is a separate wave.
MAX_PHASE_GAP_MS = 0.2
# A rise of this share of the amplitude after a dip starts a new wave.
DIP_RISE_FRACTION = 0.02

def spike_extent(
    waveform: np.ndarray, noise_sd: float, ms_per_sample: float
) -> tuple[int, int] | None:
    """Onset and return of the spike's phases (module docstring); None off the snippet."""
    magnitude = np.abs(waveform)
    amplitude = float(magnitude.max())
    if amplitude == 0:
        return None
    # A file's mean waveform comes without its snippets: no noise estimate, the floors apply.
    noise = NOISE_K * noise_sd if np.isfinite(noise_sd) else 0.0
    levels = _Levels(
        phase=max(PHASE_MIN_FRACTION * amplitude, noise),
        edge=max(EDGE_FRACTION * amplitude, noise),
        rise=max(DIP_RISE_FRACTION * amplitude, noise),
        gap=round(MAX_PHASE_GAP_MS / ms_per_sample),
    )
    peak = int(np.argmax(magnitude))
    ends = [_last_phase_end(waveform, peak, step, levels) for step in (-1, 1)]
    if ends[0] is None or ends[1] is None:
        return None
    return ends[0], ends[1]


@dataclass(frozen=True)
class _Levels:
    """Thresholds of one waveform (in its units) and the largest gap between phases (samples)."""

    phase: float
    edge: float
    rise: float
    gap: int


def _last_phase_end(
    waveform: np.ndarray, peak: int, step: int, levels: _Levels
) -> int | None:
    """Walking from the largest phase in direction ``step``, where the spike's last phase ends."""
    end = _walk_out(waveform, peak, step, levels)
    while end is not None:
        following = _next_phase_peak(waveform, end, step, levels)
        if following is None:
            return end
        end = _walk_out(waveform, following, step, levels)
    return None


def _walk_out(waveform: np.ndarray, peak: int, step: int, levels: _Levels) -> int | None:
    """From a phase's peak to where it is back at baseline, crosses it, or dips before a new wave.

    None when the snippet ends first.
    """
    sign = np.sign(waveform[peak])
    lowest = index = peak
    while 0 <= index + step < waveform.size:
        index += step
        value = sign * waveform[index]
        if value <= levels.edge:
            return index
        if value < sign * waveform[lowest]:
            lowest = index
        elif value - sign * waveform[lowest] > levels.rise:
            return lowest
    return None


def _next_phase_peak(waveform: np.ndarray, end: int, step: int, levels: _Levels) -> int | None:
    """Peak of the phase that starts within ``levels.gap`` beyond ``end``; None if there is none.

    The phase runs until the waveform crosses baseline or the snippet ends (a
    brief dip towards baseline, such as interpolation ringing at a phase's
    start, stays inside it); it counts when its peak reaches ``levels.phase``.
    """
    stop = end + step * levels.gap
    search = range(end + step, stop + step, step)
    start = next(
        (i for i in search if 0 <= i < waveform.size and abs(waveform[i]) > levels.edge), None
    )
    if start is None:
        return None
    sign = np.sign(waveform[start])
    index = best = start
    while 0 <= index < waveform.size and sign * waveform[index] > 0:
        if abs(waveform[index]) > abs(waveform[best]):
            best = index
        index += step
    return best if abs(waveform[best]) >= levels.phase else None
