# Over 400 lines: bins, table and derived figures all follow TimecourseParams, kept together.
"""Firing in time bins around an injection: the time course of a single-dose experiment.

Bins are half-open, ``[start, stop)``, aligned on the injection (time 0) and
``bin_s`` long, from ``-pre_s`` to ``+post_s``. Bin times in the table are
relative to the injection (``bin_start_s``, ``bin_stop_s``); ``time_s`` is the
bin start on the recording's own clock. A bin that is not entirely inside the
recording has NaN rate and % of baseline, so it never counts in an average.

``pct_baseline`` is relative to the pre-drug baseline of the recording
(:func:`rapheunit.core.epochs.baseline_window`: ``baseline_s`` before the first
injection), the same baseline as ``doses.csv`` and ``units.csv``.
``pct_reference`` is relative to the level the injection is judged against
(``reference``): that baseline, or, for a 5-HT1A antagonist given after an
agonist, the rate in the ``response_s`` before the antagonist. Such an
antagonist reverses an inhibition rather than causing one: its event gets no
inhibition figures, only a note (its reversal is ``reversal_pct`` of the
dose-response table).

Derived figures per unit and injection (:func:`timecourse_metrics`)
-------------------------------------------------------------------
Onset latency
    Start of the first of ``consecutive_bins`` consecutive post-injection
    bins whose spike count is significantly below baseline: a count ``n``
    with ``P(N <= n) < onset_alpha`` for ``N ~ Poisson(baseline_rate *
    bin length)``, i.e. below the one-sided lower 95 % bound by default (the
    Poisson baseline test of rate changes, cf. Legendy & Salcman 1985, J
    Neurophysiol 53:926). The Poisson bound is conservative for the regular
    5-HT cells, whose count variance is about ``CV**2`` times the Poisson one
    (renewal-process Fano factor, Cox 1962, Renewal Theory), and asking for
    two bins in a row keeps a chance onset rare over a 30-bin follow-up.
Maximal effect
    ``max_effect_pct`` = 100 - the lowest post-injection % of baseline (the
    maximal inhibition, in % points); ``time_to_max_s`` is the start of that bin.
Recovery
    Start of the first run of ``consecutive_bins`` bins after the maximal
    effect that are back at or above ``recovery_pct`` % of baseline
    (:data:`rapheunit.core.epochs.RECOVERY_PCT_BASELINE`, the one definition
    of recovery; :class:`~rapheunit.core.epochs.EpochParams`). When
    the recording (or the time course) ends first, ``recovered`` is False and
    ``recovery_time_s`` NaN; when firing never fell below that fraction there
    is nothing to recover from and ``recovered`` is NA.

All times are bin starts relative to the injection, so each is known to one bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rapheunit.core.distributions import poisson_cdf
from rapheunit.core.epochs import (
    RECOVERY_PCT_BASELINE,
    EpochParams,
    Window,
    baseline_window,
    count_in_window,
    percent_of,
    rate_in_window,
)
from rapheunit.core.errors import BadParameterError, check_option, check_positive, validate_type
from rapheunit.core.markers import AGONIST, ANTAGONIST, drug_role
from rapheunit.core.model import Injection, Recording
from rapheunit.core.params import param

DEFAULT_BIN_S = 60.0
DEFAULT_PRE_S = 300.0
DEFAULT_POST_S = 1800.0
# One-sided level of the Poisson test of a bin against baseline (lower 95 % bound).
ONSET_ALPHA = 0.05
# Two bins in a row: one chance dip (p <= 0.05) is not an onset.
CONSECUTIVE_BINS = 2
# Bin edges are injection time + k * bin_s; this absorbs float rounding at the recording ends.
TIME_TOLERANCE_S = 1e-9
SINGLE_DOSE = "single_dose"
ALL_INJECTIONS = "all"
INJECTION_CHOICES = (SINGLE_DOSE, ALL_INJECTIONS)
EVENT_KEY = ("recording", "unit", "drug", "injection_time_s")
TIMECOURSE_COLUMNS = (
    "recording",
    "unit",
    "drug",
    "dose",
    "dose_unit",
    "injection_time_s",
    "bin_start_s",
    "bin_stop_s",
    "time_s",
    "spike_count",
    "rate_hz",
    "pct_baseline",
    "baseline_rate_hz",
    "reference",
    "pct_reference",
)
# What a time course is measured against: the pre-drug baseline, or, for an
# antagonist given after an agonist series, the level just before it (the
# agonist's inhibition is still there; measuring from the pre-series baseline
# would report that leftover inhibition as the antagonist's effect).
BASELINE_REFERENCE = "baseline"
PRE_INJECTION_REFERENCE = "pre_injection"
# Columns copied from the time-course table into each metrics row.
EVENT_COLUMNS = (*EVENT_KEY[:3], "dose", "dose_unit", "injection_time_s", "baseline_rate_hz")
METRIC_COLUMNS = (
    *EVENT_COLUMNS,
    "onset_latency_s",
    "max_effect_pct",
    "time_to_max_s",
    "recovery_time_s",
    "recovered",
    "note",
)


@dataclass(frozen=True)
class TimecourseParams:
    """Bins of the time course and the rules of its derived figures.

    Parameters
    ----------
    bin_s : float
        Bin length in seconds.
    pre_s : float
        Time before the injection covered by bins; a multiple of ``bin_s`` (may be 0).
    post_s : float
        Time after the injection covered by bins; a multiple of ``bin_s``.
    injections : {"single_dose", "all"}
        Which injections get a time course when none is named: each injection
        that is the only one of its drug in the recording (single-dose
        experiments; cumulative series are left to the dose-response), or all.
    onset_alpha : float
        One-sided level of the Poisson test of a bin against baseline.
    consecutive_bins : int
        Bins in a row needed for an onset and for a recovery.

    Examples
    --------
    >>> TimecourseParams(bin_s=30, pre_s=120, post_s=600).n_bins
    24
    >>> TimecourseParams(bin_s=60, post_s=90)
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: post_s (90) must be a whole number of bins of 60.0 s
    """

    bin_s: float = param(
        DEFAULT_BIN_S,
        'time-course bin width',
        name="timecourse_bin_s",
        metavar="SECONDS",
    )
    pre_s: float = param(
        DEFAULT_PRE_S,
        'time-course span before the injection',
        name="timecourse_pre_s",
        metavar="SECONDS",
    )
    post_s: float = param(
        DEFAULT_POST_S,
        'time-course span after the injection',
        name="timecourse_post_s",
        metavar="SECONDS",
    )
    injections: str = param(
        SINGLE_DOSE,
        'follow only injections that are the sole dose of their drug, or all',
        name="timecourse_injections",
        choices=INJECTION_CHOICES,
    )
    onset_alpha: float = param(
        ONSET_ALPHA,
        'one-sided Poisson level below which a bin counts as inhibited',
        name="timecourse_onset_alpha",
        metavar="P",
    )
    consecutive_bins: int = param(
        CONSECUTIVE_BINS,
        'bins in a row that make an onset or a recovery',
        name="timecourse_consecutive_bins",
        metavar="N",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "bin_s", check_positive(self.bin_s, "bin_s"))
        object.__setattr__(self, "pre_s", check_positive(self.pre_s, "pre_s", allow_zero=True))
        object.__setattr__(self, "post_s", check_positive(self.post_s, "post_s"))
        for name in ("pre_s", "post_s"):
            _check_whole_bins(getattr(self, name), self.bin_s, name)
        check_option(self.injections, INJECTION_CHOICES, "injections")
        if not 0 < check_positive(self.onset_alpha, "onset_alpha") < 1:
            raise BadParameterError(f"onset_alpha must be in (0, 1), got {self.onset_alpha}")
        validate_type(self.consecutive_bins, int, "consecutive_bins")
        if self.consecutive_bins < 1:
            raise BadParameterError(f"consecutive_bins must be >= 1, got {self.consecutive_bins}")

    @property
    def n_pre_bins(self) -> int:
        """Number of bins before the injection."""
        return round(self.pre_s / self.bin_s)

    @property
    def n_bins(self) -> int:
        """Total number of bins."""
        return self.n_pre_bins + round(self.post_s / self.bin_s)


def _check_whole_bins(span_s: float, bin_s: float, name: str) -> None:
    n_bins = span_s / bin_s
    if abs(n_bins - round(n_bins)) > 1e-9 * max(1.0, n_bins):
        raise BadParameterError(f"{name} ({span_s:g}) must be a whole number of bins of {bin_s} s")


def selected_injections(
    recording: Recording,
    injection_index: int | None = None,
    params: TimecourseParams | None = None,
) -> list[Injection]:
    """The injections that get a time course.

    Parameters
    ----------
    recording : Recording
    injection_index : int, optional
        Position of one injection in ``recording.injections``; None applies
        ``params.injections`` (by default: each injection that is the only one
        of its drug in the recording).
    params : TimecourseParams, optional

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Unit
    >>> inj = [Injection(100.0, "ipsapirone", 5, "ug/kg", 5), Injection(280.0, "ipsapirone", 5,
    ...     "ug/kg", 10), Injection(460.0, "WAY-100635", 100, "ug/kg", 100)]
    >>> rec = Recording("r", Path("r"), 0.0, 900.0, [Unit("u", np.array([1.0]))], inj)
    >>> [i.drug for i in selected_injections(rec)], selected_injections(rec, 1)[0].time_s
    (['WAY-100635'], 280.0)
    """
    params = params or TimecourseParams()
    injections = recording.injections
    if injection_index is not None:
        validate_type(injection_index, (int, np.integer), "injection_index")
        if not 0 <= injection_index < len(injections):
            raise BadParameterError(
                f"{recording.name}: injection_index {injection_index} is out of range "
                f"({len(injections)} injection(s))"
            )
        return [injections[injection_index]]
    if params.injections == ALL_INJECTIONS:
        return list(injections)
    drugs = [injection.drug for injection in injections]
    return [injection for injection in injections if drugs.count(injection.drug) == 1]


def injection_bins(
    recording: Recording, injection: Injection, params: TimecourseParams | None = None
) -> list[Window | None]:
    """Absolute half-open bins around ``injection``; None for a bin not inside the recording.

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Unit
    >>> rec = Recording("r", Path("r"), 0.0, 200.0, [Unit("u", np.array([1.0]))])
    >>> bins = injection_bins(rec, Injection(60.0, "x", 1, "ug/kg", 1),
    ...     TimecourseParams(bin_s=60, pre_s=120, post_s=180))
    >>> [None if w is None else (w.start_s, w.stop_s) for w in bins]
    [None, (0.0, 60.0), (60.0, 120.0), (120.0, 180.0), None]
    """
    params = params or TimecourseParams()
    offsets = (np.arange(params.n_bins + 1) - params.n_pre_bins) * params.bin_s
    edges = injection.time_s + offsets
    inside = (edges[:-1] >= recording.t_start - TIME_TOLERANCE_S) & (
        edges[1:] <= recording.t_stop + TIME_TOLERANCE_S
    )
    return [
        Window(float(start), float(stop)) if keep else None
        for start, stop, keep in zip(edges[:-1], edges[1:], inside, strict=True)
    ]


def timecourse_table(
    recording: Recording,
    injection_index: int | None = None,
    params: TimecourseParams | None = None,
    epochs: EpochParams | None = None,
) -> pd.DataFrame:
    """Firing per unit in bins around each selected injection.

    Parameters
    ----------
    recording : Recording
    injection_index : int, optional
        One injection by position; None: those chosen by ``params.injections``.
    params : TimecourseParams, optional
        Bins (default 60 s from -5 to +30 min).
    epochs : EpochParams, optional
        Baseline length (the pre-drug baseline of :func:`~rapheunit.core.epochs.baseline_window`).

    Returns
    -------
    pandas.DataFrame
        One row per unit, injection and bin with :data:`TIMECOURSE_COLUMNS`:
        bin times relative to the injection (``bin_start_s``, ``bin_stop_s``),
        the absolute bin start ``time_s``, ``spike_count``, ``rate_hz`` and
        ``pct_baseline`` (NaN for bins not inside the recording) and the unit's
        ``baseline_rate_hz``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Unit
    >>> spikes = np.concatenate([np.arange(0.0, 300.0, 0.5), np.arange(300.0, 400.0, 2.0)])
    >>> rec = Recording("r", Path("r"), 0.0, 400.0, [Unit("u", spikes)],
    ...     [Injection(300.0, "ipsapirone", 50.0, "ug/kg", 50.0)])
    >>> table = timecourse_table(rec, params=TimecourseParams(bin_s=50, pre_s=100, post_s=150))
    >>> table[["bin_start_s", "rate_hz", "pct_baseline"]].to_numpy().tolist()
    [[-100.0, 2.0, 100.0], [-50.0, 2.0, 100.0], [0.0, 0.5, 25.0], [50.0, 0.5, 25.0], \
[100.0, nan, nan]]
    """
    params = params or TimecourseParams()
    epochs = epochs or EpochParams()
    baseline = baseline_window(recording, epochs)
    frames = [
        _injection_rows(recording, injection, params, baseline, _reference_window(
            recording, injection, epochs
        ))
        for injection in selected_injections(recording, injection_index, params)
    ]
    if not frames:
        return pd.DataFrame(columns=list(TIMECOURSE_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(TIMECOURSE_COLUMNS)]


def _reference_window(
    recording: Recording, injection: Injection, epochs: EpochParams
) -> Window | None:
    """The pre-injection window of an antagonist that follows an agonist; else None."""
    follows_agonist = any(
        drug_role(other.drug) == AGONIST and other.time_s < injection.time_s
        for other in recording.injections
    )
    if drug_role(injection.drug) != ANTAGONIST or not follows_agonist:
        return None
    return Window(max(recording.t_start, injection.time_s - epochs.response_s), injection.time_s)


def _injection_rows(
    recording: Recording,
    injection: Injection,
    params: TimecourseParams,
    baseline: Window,
    reference: Window | None,
) -> pd.DataFrame:
    bins = injection_bins(recording, injection, params)
    offsets = (np.arange(params.n_bins) - params.n_pre_bins) * params.bin_s
    rows = []
    for unit in recording.units:
        baseline_rate_hz = rate_in_window(unit.spike_times, baseline)
        counts = np.array(
            [
                np.nan
                if window is None
                else count_in_window(unit.spike_times, window.start_s, window.stop_s)
                for window in bins
            ]
        )
        rates = counts / params.bin_s
        reference_rate_hz = (
            baseline_rate_hz if reference is None else rate_in_window(unit.spike_times, reference)
        )
        rows.append(
            pd.DataFrame(
                {
                    "recording": recording.name,
                    "unit": unit.id,
                    "drug": injection.drug,
                    "dose": injection.dose,
                    "dose_unit": injection.dose_unit,
                    "injection_time_s": injection.time_s,
                    "bin_start_s": offsets,
                    "bin_stop_s": offsets + params.bin_s,
                    "time_s": injection.time_s + offsets,
                    "spike_count": counts,
                    "rate_hz": rates,
                    "pct_baseline": [percent_of(rate, baseline_rate_hz) for rate in rates],
                    "baseline_rate_hz": baseline_rate_hz,
                    "reference": (
                        BASELINE_REFERENCE if reference is None else PRE_INJECTION_REFERENCE
                    ),
                    "pct_reference": [percent_of(rate, reference_rate_hz) for rate in rates],
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def timecourse_summary(
    table: pd.DataFrame, by: str | list[str] | None = None
) -> pd.DataFrame:
    """Mean, SEM and number of units per bin, per drug and dose (and ``by`` columns).

    Bins outside a recording (NaN) do not count. ``n_units`` counts units with
    a rate in the bin, ``n_units_pct`` those that also have a % of baseline
    (a unit silent during baseline has none); SEMs need two units.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`timecourse_table` output, possibly of many recordings and
        joined with metadata.
    by : str or list of str, optional
        Extra grouping columns, e.g. ``"group"`` after
        :func:`rapheunit.doseresponse.groups.join_metadata`.

    Examples
    --------
    >>> table = pd.DataFrame({"drug": "ipsapirone", "dose": 50.0, "dose_unit": "ug/kg",
    ...     "bin_start_s": [0.0, 0.0, 60.0, 60.0], "bin_stop_s": [60.0, 60.0, 120.0, 120.0],
    ...     "rate_hz": [1.0, 2.0, 0.5, np.nan], "pct_baseline": [50.0, 70.0, 20.0, np.nan]})
    >>> summary = timecourse_summary(table)
    >>> summary[["n_units", "mean_pct_baseline", "sem_pct_baseline"]].to_numpy().tolist()
    [[2.0, 60.0, 10.0], [1.0, 20.0, nan]]
    """
    validate_type(table, pd.DataFrame, "table")
    extra = [] if by is None else [by] if isinstance(by, str) else list(by)
    keys = [*extra, "drug", "dose", "dose_unit", "bin_start_s", "bin_stop_s"]
    _require_columns(table, [*keys, "rate_hz", "pct_baseline"])
    return (
        table.groupby(keys, sort=True, dropna=False)
        .agg(
            n_units=("rate_hz", "count"),
            mean_rate_hz=("rate_hz", "mean"),
            sem_rate_hz=("rate_hz", "sem"),
            n_units_pct=("pct_baseline", "count"),
            mean_pct_baseline=("pct_baseline", "mean"),
            sem_pct_baseline=("pct_baseline", "sem"),
        )
        .reset_index()
    )


def timecourse_metrics(
    table: pd.DataFrame,
    params: TimecourseParams | None = None,
    recovery_pct: float = RECOVERY_PCT_BASELINE,
) -> pd.DataFrame:
    """Onset latency, maximal effect and recovery per unit and injection.

    The rules are in the module docstring; ``params`` gives their constants
    (``onset_alpha``, ``consecutive_bins``) and ``recovery_pct`` the level of
    recovery. A unit
    without baseline firing, or without post-injection bins inside the
    recording, gets NaN figures and a ``note``.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`timecourse_table` output.
    params : TimecourseParams, optional
    recovery_pct : float
        Firing (% of baseline) that counts as recovered.

    Returns
    -------
    pandas.DataFrame
        One row per recording, unit and injection with :data:`METRIC_COLUMNS`.

    Examples
    --------
    >>> pct = [100, 100, 20, 10, 30, 60, 85, 90, 95]
    >>> table = pd.DataFrame({"recording": "r", "unit": "u", "drug": "ipsapirone", "dose": 50.0,
    ...     "dose_unit": "ug/kg", "injection_time_s": 300.0, "reference": "baseline",
    ...     "bin_start_s": np.arange(-2.0, 7.0) * 60, "baseline_rate_hz": 2.0,
    ...     "bin_stop_s": np.arange(-1.0, 8.0) * 60, "pct_baseline": np.array(pct, float),
    ...     "spike_count": np.array(pct) * 1.2, "rate_hz": np.array(pct) / 50,
    ...     "pct_reference": np.array(pct, float)})
    >>> figures = ["onset_latency_s", "max_effect_pct", "time_to_max_s", "recovery_time_s"]
    >>> timecourse_metrics(table)[figures].to_numpy()
    array([[  0.,  90.,  60., 180.]])
    """
    validate_type(table, pd.DataFrame, "table")
    params = params or TimecourseParams()
    _require_columns(table, [column for column in TIMECOURSE_COLUMNS if column != "time_s"])
    rows = [
        _event_metrics(event, params, recovery_pct)
        for _, event in table.groupby(list(EVENT_KEY), sort=False, dropna=False)
    ]
    metrics = pd.DataFrame(rows, columns=list(METRIC_COLUMNS))
    metrics["recovered"] = metrics["recovered"].astype("boolean")
    return metrics


def _require_columns(table: pd.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise BadParameterError(f"time-course table lacks column(s) {', '.join(missing)}")


def _event_metrics(
    event: pd.DataFrame, params: TimecourseParams, recovery_pct: float
) -> dict[str, object]:
    event = event.sort_values("bin_start_s", kind="stable")
    first = event.iloc[0]
    row: dict[str, object] = {column: first[column] for column in EVENT_COLUMNS}
    row |= {
        "onset_latency_s": np.nan,
        "max_effect_pct": np.nan,
        "time_to_max_s": np.nan,
        "recovery_time_s": np.nan,
        "recovered": pd.NA,
        "note": "",
    }
    post = event[event["bin_start_s"] >= 0]
    pct = post["pct_baseline"].to_numpy(dtype=np.float64)
    starts = post["bin_start_s"].to_numpy(dtype=np.float64)
    baseline_rate_hz = float(first["baseline_rate_hz"])
    if first["reference"] == PRE_INJECTION_REFERENCE:
        return row | {
            "note": "antagonist after an agonist: measured against the level before it "
            "(pct_reference); its reversal is reversal_pct of the dose-response table"
        }
    if not baseline_rate_hz > 0:
        return row | {"note": "no baseline rate (empty baseline or no spikes in it)"}
    if not np.isfinite(pct).any():
        return row | {"note": "no post-injection bin inside the recording"}
    below = _below_baseline(post, baseline_rate_hz, params.onset_alpha)
    onset = _first_run(below, params.consecutive_bins)
    peak = int(np.nanargmin(pct))
    row |= {
        "onset_latency_s": starts[onset] if onset >= 0 else np.nan,
        "max_effect_pct": 100.0 - pct[peak],
        "time_to_max_s": starts[peak],
    }
    return row | _recovery(pct, starts, peak, params.consecutive_bins, recovery_pct)


def _below_baseline(post: pd.DataFrame, baseline_rate_hz: float, alpha: float) -> np.ndarray:
    """Bins whose count is in the lower ``alpha`` tail of Poisson(baseline rate x bin length)."""
    counts = post["spike_count"].to_numpy(dtype=np.float64)
    lengths = (post["bin_stop_s"] - post["bin_start_s"]).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        tail = poisson_cdf(counts, baseline_rate_hz * lengths)
    return np.isfinite(counts) & (tail < alpha)


def _first_run(mask: np.ndarray, length: int) -> int:
    """Index where the first run of ``length`` True values starts; -1 if none."""
    if mask.size < length:
        return -1
    runs = np.convolve(mask.astype(int), np.ones(length, dtype=int), mode="valid") == length
    return int(np.argmax(runs)) if runs.any() else -1


def _recovery(
    pct: np.ndarray, starts: np.ndarray, peak: int, consecutive_bins: int, threshold_pct: float
) -> dict[str, object]:
    if pct[peak] >= threshold_pct:
        return {"note": f"firing never fell below {threshold_pct:g} % of baseline"}
    after = pct[peak + 1 :]
    with np.errstate(invalid="ignore"):
        run = _first_run(after >= threshold_pct, consecutive_bins)
    if run >= 0:
        return {"recovery_time_s": starts[peak + 1 + run], "recovered": True}
    ended = not np.isfinite(after).all()
    reason = "recording ended" if ended else "time course ended"
    return {"recovered": False, "note": f"{reason} before recovery to {threshold_pct:g} %"}
