"""Baseline and per-injection windows, and firing rates inside them.

Every window is half-open, ``[start, stop)``: a spike exactly on a boundary
belongs to the later window, so adjacent windows never count a spike twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rapheunit.core.errors import BadParameterError, check_positive
from rapheunit.core.params import param

if TYPE_CHECKING:
    from rapheunit.core.model import Injection, Recording

DOSE_COLUMNS = (
    "recording",
    "unit",
    "drug",
    "dose",
    "dose_unit",
    "cumulative_dose",
    "injection_time_s",
    "window_start_s",
    "window_stop_s",
    "rate_hz",
    "pct_baseline",
)

# The one definition of "recovered" (confirmation, QC, fits, time courses):
# firing back to at least half of baseline. WAY-100635 reverses 5-HT1A agonist
# inhibition of DRN cells to ~80-110 % of baseline (Forster et al. 1995, Eur J
# Pharmacol 281:81) while a lost unit stays at 0, so 50 % separates the two
# with a wide margin on either side.
RECOVERY_PCT_BASELINE = 50.0


@dataclass(frozen=True)
class EpochParams:
    """Window lengths used for baseline and responses.

    Parameters
    ----------
    baseline_s : float
        Length of the baseline: the window ending at the first injection.
    min_baseline_s : float
        A baseline shorter than this (clipped by the recording start) is flagged.
    response_s : float
        Each response is the last ``response_s`` before the next injection (or
        before the end of the recording), when the drug effect has settled.
    recovery_pct : float
        Firing (% of baseline) that counts as recovered: after the antagonist
        (confirmation, QC, unit loss in the fits) and after a single dose
        (time courses); :data:`RECOVERY_PCT_BASELINE`.

    Examples
    --------
    >>> EpochParams(baseline_s=120).baseline_s
    120.0
    """

    # Project convention for i.v. cumulative dosing in the DRN: a stable 3-min baseline
    # before the first dose, at least 1 min of it to call it a baseline at all.
    baseline_s: float = param(
        180.0,
        'baseline length before the first injection',
        metavar="SECONDS",
    )
    min_baseline_s: float = param(60.0, 'shorter baselines are flagged', metavar="SECONDS")
    # i.v. 5-HT1A agonists act within ~1 min, so the last minute before the next dose
    # is the settled response (the lead-in is excluded as transition).
    response_s: float = param(
        60.0,
        'response = this long before the next injection',
        metavar="SECONDS",
    )
    recovery_pct: float = param(
        RECOVERY_PCT_BASELINE,
        'firing, in percent of baseline, that counts as recovered after the antagonist or a dose',
        metavar="PCT",
    )

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            object.__setattr__(self, name, check_positive(value, name))
        if self.min_baseline_s > self.baseline_s:
            raise BadParameterError(
                f"min_baseline_s ({self.min_baseline_s}) must not exceed "
                f"baseline_s ({self.baseline_s})"
            )


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start_s, stop_s)``."""

    start_s: float
    stop_s: float

    @property
    def length_s(self) -> float:
        """Window length in seconds (0 for an empty window)."""
        return max(0.0, self.stop_s - self.start_s)


def count_in_window(spike_times: np.ndarray, start_s: float, stop_s: float) -> int:
    """Number of spikes ``t`` with ``start_s <= t < stop_s`` (sorted input).

    Examples
    --------
    >>> count_in_window(np.array([0.0, 1.0, 2.0, 3.0]), 1.0, 3.0)
    2
    """
    lo, hi = np.searchsorted(spike_times, [start_s, stop_s], side="left")
    return int(hi - lo)


def rate_in_window(spike_times: np.ndarray, window: Window) -> float:
    """Mean firing rate (Hz) in a half-open window; NaN for an empty window.

    Examples
    --------
    >>> rate_in_window(np.arange(0.0, 10.0, 0.5), Window(0.0, 10.0))
    2.0
    """
    if window.length_s <= 0:
        return float("nan")
    return count_in_window(spike_times, window.start_s, window.stop_s) / window.length_s


# Provenance key under which a curated recording carries the analyst's baseline window.
CURATED_BASELINE_KEY = "curated_baseline_s"


def baseline_window(recording: Recording, params: EpochParams | None = None) -> Window:
    """The ``baseline_s`` before the first injection, clipped at the recording start.

    Without injections the whole recording (up to ``baseline_s`` from its end is
    not meaningful) is baseline: ``[t_start, t_stop)``. A window the analyst set
    (curation, :data:`CURATED_BASELINE_KEY`) wins over both, for every measure.
    """
    curated = recording.provenance.get(CURATED_BASELINE_KEY)
    if curated:
        return Window(*curated)
    params = params or EpochParams()
    if not recording.injections:
        return Window(recording.t_start, recording.t_stop)
    first_injection_s = recording.injections[0].time_s
    return Window(max(recording.t_start, first_injection_s - params.baseline_s), first_injection_s)


def baseline_is_short(window: Window, params: EpochParams | None = None) -> bool:
    """True when the baseline is shorter than ``min_baseline_s``."""
    return window.length_s < (params or EpochParams()).min_baseline_s


def response_windows(
    recording: Recording, params: EpochParams | None = None
) -> list[tuple[Injection, Window]]:
    """Each injection with its response window.

    The window is the last ``response_s`` before the next injection (or the
    recording end), never starting before the injection itself.

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Injection, Recording, Unit
    >>> inj = [Injection(t, "ipsapirone", 5, "ug/kg", c) for t, c in [(100.0, 5), (280.0, 10)]]
    >>> rec = Recording("r", Path("r.csv"), 0.0, 400.0, [Unit("u", np.array([1.0]))], inj)
    >>> [(w.start_s, w.stop_s) for _, w in response_windows(rec)]
    [(220.0, 280.0), (340.0, 400.0)]
    """
    params = params or EpochParams()
    injections = recording.injections
    windows = []
    for index, injection in enumerate(injections):
        end_s = injections[index + 1].time_s if index + 1 < len(injections) else recording.t_stop
        end_s = min(max(end_s, recording.t_start), recording.t_stop)
        # Clipped to the recording: an injection at or after its end gets an empty window.
        start_s = min(max(injection.time_s, end_s - params.response_s, recording.t_start), end_s)
        windows.append((injection, Window(start_s, end_s)))
    return windows


def dose_rates(recording: Recording, params: EpochParams | None = None) -> pd.DataFrame:
    """Per unit and injection: window, rate and percentage of baseline.

    Returns one row per unit and injection with the columns of
    :data:`DOSE_COLUMNS` plus ``baseline_rate_hz`` and ``noise_sd_pct``
    (:func:`noise_sd_pct`). ``pct_baseline`` is NaN when the baseline rate is
    zero or the baseline window is empty.

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Injection, Recording, Unit
    >>> spikes = np.concatenate([np.arange(0, 180, 0.5), np.arange(180, 360, 1.0)])
    >>> inj = [Injection(180.0, "ipsapirone", 10.0, "ug/kg", 10.0)]
    >>> rec = Recording("r", Path("r.csv"), 0.0, 360.0, [Unit("u", spikes)], inj)
    >>> dose_rates(rec)[["rate_hz", "pct_baseline"]].to_numpy().tolist()
    [[1.0, 50.0]]
    """
    params = params or EpochParams()
    baseline = baseline_window(recording, params)
    windows = response_windows(recording, params)
    rows = []
    for unit in recording.units:
        baseline_rate_hz = rate_in_window(unit.spike_times, baseline)
        baseline_cv = _isi_cv(spikes_in_window(unit.spike_times, baseline))
        for injection, window in windows:
            rate_hz = rate_in_window(unit.spike_times, window)
            rows.append(
                {
                    "recording": recording.name,
                    "unit": unit.id,
                    "drug": injection.drug,
                    "dose": injection.dose,
                    "dose_unit": injection.dose_unit,
                    "cumulative_dose": injection.cumulative_dose,
                    "injection_time_s": injection.time_s,
                    "window_start_s": window.start_s,
                    "window_stop_s": window.stop_s,
                    "rate_hz": rate_hz,
                    "pct_baseline": percent_of(rate_hz, baseline_rate_hz),
                    "baseline_rate_hz": baseline_rate_hz,
                    "noise_sd_pct": noise_sd_pct(
                        baseline_cv, baseline_rate_hz, baseline.length_s, window.length_s
                    ),
                }
            )
    return pd.DataFrame(rows, columns=[*DOSE_COLUMNS, "baseline_rate_hz", "noise_sd_pct"])


def spikes_in_window(spike_times: np.ndarray, window: Window) -> np.ndarray:
    """The spike times inside a half-open window (sorted input)."""
    lo, hi = np.searchsorted(spike_times, [window.start_s, window.stop_s], side="left")
    return spike_times[lo:hi]


def _isi_cv(spike_times: np.ndarray) -> float:
    intervals = np.diff(spike_times)
    if intervals.size < 2 or not intervals.mean() > 0:
        return float("nan")
    return float(intervals.std(ddof=1) / intervals.mean())


def noise_sd_pct(
    isi_cv: float, baseline_rate_hz: float, baseline_s: float, window_s: float
) -> float:
    """SD of a window's rate in % of baseline when the drug does nothing.

    The spike count of a renewal process in a window of length ``T`` has
    variance ``CV**2 * rate * T`` (Fano factor -> CV**2; Cox 1962, Renewal
    Theory), and % of baseline is the ratio of two such rates (the window's
    and the baseline's), so by the delta method its SD is
    ``100 * CV * sqrt(1 / (rate * T_window) + 1 / (rate * T_baseline))``.
    NaN without two baseline ISIs or baseline firing.

    Examples
    --------
    >>> round(noise_sd_pct(0.8, 0.6, 180.0, 60.0), 2)
    15.4
    """
    expected_window = baseline_rate_hz * window_s
    expected_baseline = baseline_rate_hz * baseline_s
    if not (np.isfinite(isi_cv) and expected_window > 0 and expected_baseline > 0):
        return float("nan")
    return float(100.0 * isi_cv * np.sqrt(1.0 / expected_window + 1.0 / expected_baseline))


def percent_of(value: float, reference: float) -> float:
    """``100 * value / reference``, NaN when the reference is zero or NaN.

    Examples
    --------
    >>> percent_of(1.0, 2.0)
    50.0
    >>> percent_of(1.0, 0.0)
    nan
    """
    if not reference > 0:
        return float("nan")
    return 100.0 * value / reference
