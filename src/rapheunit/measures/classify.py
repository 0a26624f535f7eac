# Over 400 lines: the verdict, its reasons and the per-recording loop share one row schema.
"""Named rule sets that classify units as putative 5-HT, and their verdicts.

A :class:`RuleSet` is a documented set of thresholds with its sources. Each
unit gets a :class:`UnitClassification`: the verdict (``"putative_5ht"``,
``"non_5ht"`` or ``"unclassified"``), a subtype, and one :class:`Criterion`
per rule with its value, threshold and ``"pass"`` / ``"fail"`` / ``"na"``.

Verdict
-------
1. Fewer baseline spikes than ``min_spikes``: ``"unclassified"`` (too little
   evidence; the features are still reported).
2. Any applied criterion fails: ``"non_5ht"`` (the rules are a conjunction).
3. Any applied criterion is ``"na"`` (e.g. a rule set that requires a waveform
   on a unit without one): ``"unclassified"``.
4. All pass: ``"putative_5ht"``.

Subtypes: putative 5-HT units are ``"burst_firing"`` when at least
``min_burst_fraction`` of their spikes are in bursts, else ``"clock_like"``;
non-5-HT units are ``"fast_firing"`` above ``max_rate_hz``, else
``"slow_irregular"`` when the regularity rule fails, else ``"other"`` (e.g. a
slow regular unit with a narrow spike); unclassified units get ``"na"``.

Rule sets
---------
``aghajanian_classic``
    Rate, regularity (burst-removed CV) and total spike duration.
``firing_only``
    Rate and regularity only, for files without waveforms.
``"default"`` (not a rule set but a dispatcher)
    ``aghajanian_classic`` for units with a measured waveform, else
    ``firing_only``; the row's ``rule_set`` says which was used.

Thresholds can be changed per call (``overrides``), from a TOML file
(:func:`load_rule_config`) or by registering a new rule set
(:func:`register_rule_set`). The TOML file holds any of::

    rule_set = "aghajanian_classic"   # used when the caller asks for "default"

    [thresholds]                      # applied to every rule set that has the key
    max_rate_hz = 3.0

    [rule_sets.my_lab]                # a new rule set (or changes to a built-in one)
    base = "aghajanian_classic"
    description = "Our lab's criteria"
    sources = ["Lab notebook 2024"]
    thresholds = { min_waveform_ms = 1.2 }

Pharmacological confirmation (:func:`pharmacological_confirmation`) is
reported beside the verdict, never mixed into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rapheunit.core.epochs import RECOVERY_PCT_BASELINE
from rapheunit.core.errors import BadParameterError, validate_type
from rapheunit.core.model import Recording
from rapheunit.measures.confirmation import (
    CONFIRMED,
    DOSE_ROW_COLUMNS,
    MIN_AGONIST_INHIBITION_PCT,
    NOT_CONFIRMED,
    pharmacological_confirmation,
)
from rapheunit.measures.criteria import Criterion, apply_rules, criterion_named
from rapheunit.measures.features import (
    BURST_ISI_S,
    FiringFeatures,
    firing_features,
    present_span,
)
from rapheunit.measures.rule_config import (
    checked_config,
    get_rule_set,
    load_rule_config,
    rules_for_unit,
)
from rapheunit.measures.rules import (
    DEFAULT_RULE_SET,
    FAIL,
    FIRING_RULE_SET,
    FIRING_THRESHOLDS,
    MAX_CV_ISI,
    MEASURE_FIELDS,
    MIN_BURST_FRACTION,
    MIN_PRESENT_S,
    MIN_SPIKES,
    MIN_TOTAL_DURATION_MS,
    NA,
    PASS,
    REGULARITY_MEASURES,
    RULE_SETS,
    SLOW_RATE_MAX_HZ,
    SLOW_RATE_MIN_HZ,
    THRESHOLDS,
    WAVEFORM_RULE_SET,
    RuleSet,
    register_rule_set,
)
from rapheunit.measures.waveform import MEASURE_NAMES, WaveformFeatures, unit_waveform_features

# The classification API. The rule sets (rules), their configuration (rule_config),
# the criteria and the pharmacological confirmation live in their own modules and
# are imported from here as well, as they were before those modules existed.
__all__ = [
    "CONFIRMED", "DEFAULT_RULE_SET", "DOSE_ROW_COLUMNS", "FAIL", "FIRING_COLUMNS",
    "FIRING_RULE_SET", "FIRING_THRESHOLDS", "MAX_CV_ISI", "MEASURE_FIELDS",
    "MIN_AGONIST_INHIBITION_PCT", "MIN_BURST_FRACTION", "MIN_PRESENT_S", "MIN_SPIKES",
    "MIN_TOTAL_DURATION_MS", "NA", "NON_5HT", "NOT_CONFIRMED", "PASS",
    "PUTATIVE_5HT", "REGULARITY_MEASURES", "ROW_COLUMNS", "RULE_SETS", "SLOW_RATE_MAX_HZ",
    "SLOW_RATE_MIN_HZ", "THRESHOLDS", "UNCLASSIFIED", "WAVEFORM_RULE_SET", "Criterion",
    "RecordingClassification", "RuleSet", "UnitClassification", "classify_recording",
    "classify_unit", "get_rule_set", "load_rule_config", "pharmacological_confirmation",
    "register_rule_set",
]  # fmt: skip

PUTATIVE_5HT = "putative_5ht"
NON_5HT = "non_5ht"
UNCLASSIFIED = "unclassified"
# FiringFeatures fields copied into the table.
FIRING_COLUMNS = (
    "cv_isi",
    "cv_isi_nonburst",
    "cv2",
    "lv",
    "lvr",
    "burst_fraction",
    "mean_spikes_per_burst",
)
ROW_COLUMNS = (
    "classification",
    "subtype",
    "rule_set",
    "rate_criterion",
    "regularity_criterion",
    "waveform_criterion",
    "classification_rate_hz",
    "present_start_s",
    "present_stop_s",
    *FIRING_COLUMNS,
    "waveform_duration_ms",
    "first_phase_ms",
    "peak_to_trough_ms",
    "half_width_ms",
    "waveform_snr",
    "pharmacological_confirmation",
    "baseline_n_spikes",
    "classification_reasons",
)


@dataclass
class UnitClassification:
    """Verdict, subtype and criteria of one unit, with the features they rest on."""

    unit_id: str
    classification: str
    subtype: str
    rule_set: str
    criteria: list[Criterion]
    firing: FiringFeatures
    waveform: WaveformFeatures | None = None
    pharmacological_confirmation: str = NA
    notes: list[str] = field(default_factory=list)

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name``."""
        return criterion_named(self.criteria, name)

    @property
    def reasons(self) -> str:
        """All criteria, then any note on what they rest on, in one short line."""
        return "; ".join([*(criterion.reason for criterion in self.criteria), *self.notes])

    def as_row(self) -> dict[str, Any]:
        """The unit's columns of ``units.csv`` (see :data:`ROW_COLUMNS`).

        Examples
        --------
        >>> import numpy as np
        >>> firing = firing_features(np.arange(0.0, 300.0, 1.0), 0.0, 300.0)
        >>> row = classify_unit(firing, None).as_row()
        >>> row["classification"], row["rule_set"], row["waveform_criterion"]
        ('putative_5ht', 'firing_only', 'na')
        """
        waveform = self.waveform or WaveformFeatures()
        row: dict[str, Any] = {
            "classification": self.classification,
            "subtype": self.subtype,
            "rule_set": self.rule_set,
            "rate_criterion": self.criterion("rate").status,
            "regularity_criterion": self.criterion("regularity").status,
            "waveform_criterion": self.criterion("waveform").status,
        }
        row["classification_rate_hz"] = self.firing.rate_hz
        row["present_start_s"], row["present_stop_s"] = self.firing.start_s, self.firing.stop_s
        for name in FIRING_COLUMNS:
            row[name] = getattr(self.firing, name)
        for name in (*MEASURE_NAMES, "waveform_snr"):
            row[name] = getattr(waveform, name)
        row["pharmacological_confirmation"] = self.pharmacological_confirmation
        row["baseline_n_spikes"] = self.firing.n_spikes
        row["classification_reasons"] = self.reasons
        return {column: row[column] for column in ROW_COLUMNS}


@dataclass
class RecordingClassification:
    """Result of :func:`classify_recording`.

    ``table`` has one row per unit: column ``"unit"`` (the unit id) then
    :data:`ROW_COLUMNS`. ``units`` maps unit id to its
    :class:`UnitClassification` (with the firing and waveform features,
    e.g. for plotting).
    """

    table: pd.DataFrame
    units: dict[str, UnitClassification] = field(default_factory=dict)


def classify_unit(
    firing: FiringFeatures,
    waveform: WaveformFeatures | None,
    *,
    rule_set: str = DEFAULT_RULE_SET,
    overrides: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    unit_id: str = "",
) -> UnitClassification:
    """Classify one unit from its features.

    Parameters
    ----------
    firing : FiringFeatures
        Features of the baseline epoch.
    waveform : WaveformFeatures or None
        Waveform measures, or None when the file has none.
    rule_set : str
        A registered rule set, one defined in ``config``, or ``"default"``
        (waveform rules when the unit's waveform measure exists, else
        ``firing_only``; a config's ``rule_set`` entry replaces ``"default"``).
    overrides : mapping, optional
        Threshold changes, e.g. ``{"max_rate_hz": 3.0}``.
    config : mapping, optional
        A configuration as returned by :func:`load_rule_config`.
    unit_id : str
        Copied into the result.

    Returns
    -------
    UnitClassification

    Examples
    --------
    >>> import numpy as np
    >>> clock = firing_features(np.arange(0.0, 300.0, 1.0), 0.0, 300.0)
    >>> result = classify_unit(clock, None, rule_set="aghajanian_classic")
    >>> result.classification, result.criterion("waveform").reason
    ('unclassified', 'waveform_duration_ms na (no waveforms)')
    >>> classify_unit(clock, None, overrides={"max_rate_hz": 0.8}).subtype
    'fast_firing'
    """
    validate_type(firing, FiringFeatures, "firing")
    if waveform is not None:
        validate_type(waveform, WaveformFeatures, "waveform")
    validate_type(rule_set, str, "rule_set")
    if overrides is not None:
        validate_type(overrides, Mapping, "overrides")
    rules = rules_for_unit(rule_set, waveform, overrides, checked_config(config or {}, "config"))
    criteria = apply_rules(firing, waveform, rules)
    classification = _verdict(criteria)
    return UnitClassification(
        unit_id=unit_id,
        classification=classification,
        subtype=_subtype(classification, firing, criteria, rules),
        rule_set=rules.name,
        criteria=criteria,
        firing=firing,
        waveform=waveform,
    )


def _verdict(criteria: list[Criterion]) -> str:
    spike_count, *rules = criteria
    if spike_count.status == FAIL:
        return UNCLASSIFIED
    applied = [criterion.status for criterion in rules if criterion.applied]
    if FAIL in applied:
        return NON_5HT
    if NA in applied:
        return UNCLASSIFIED
    return PUTATIVE_5HT


def _subtype(
    classification: str, firing: FiringFeatures, criteria: list[Criterion], rules: RuleSet
) -> str:
    if classification == PUTATIVE_5HT:
        bursty = firing.burst_fraction >= rules.thresholds["min_burst_fraction"]
        return "burst_firing" if bursty else "clock_like"
    if classification == NON_5HT:
        if firing.rate_hz > rules.thresholds["max_rate_hz"]:
            return "fast_firing"
        regularity = criterion_named(criteria, "regularity")
        return "slow_irregular" if regularity.status == FAIL else "other"
    return NA


def classify_recording(
    recording: Recording,
    *,
    baseline: tuple[float, float] | Mapping[str, tuple[float, float]],
    rule_set: str = DEFAULT_RULE_SET,
    overrides: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    dose_rows: pd.DataFrame | None = None,
    burst_isi_s: float = BURST_ISI_S,
    recovery_pct: float = RECOVERY_PCT_BASELINE,
    waveforms: Mapping[str, WaveformFeatures] | None = None,
) -> RecordingClassification:
    """Compute baseline features and classify every unit of ``recording``.

    Parameters
    ----------
    recording : Recording
        The loaded recording.
    baseline : (start, stop) or dict
        Baseline epoch ``[start, stop)`` in seconds for all units, or per unit id.
    rule_set, overrides, config
        As for :func:`classify_unit`.
    dose_rows : pandas.DataFrame, optional
        Per-injection rows of all units with a ``unit`` column (the epochs
        module's dose table); gives ``pharmacological_confirmation``.
    burst_isi_s : float
        Intraburst ISI limit for the firing features.
    recovery_pct : float
        Firing after the antagonist that counts as recovered (confirmation).
    waveforms : dict, optional
        Unit id -> waveform features already measured over ``baseline``; reused for
        each unit present through the whole baseline (measured again otherwise).

    Returns
    -------
    RecordingClassification
        ``.table`` (column ``unit`` then :data:`ROW_COLUMNS`) and ``.units``.

    Examples
    --------
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from rapheunit.core.model import Unit
    >>> clock = Unit("u1", np.arange(0.0, 400.0, 1.0))
    >>> recording = Recording("demo", Path("demo.csv"), 0.0, 400.0, [clock])
    >>> result = classify_recording(recording, baseline=(0.0, 300.0))
    >>> result.table[["unit", "classification", "subtype", "rule_set"]].values.tolist()
    [['u1', 'putative_5ht', 'clock_like', 'firing_only']]
    """
    validate_type(recording, Recording, "recording")
    if dose_rows is not None:
        validate_type(dose_rows, pd.DataFrame, "dose_rows")
        if "unit" not in dose_rows.columns:
            raise BadParameterError("dose_rows lacks column 'unit'")
    results: dict[str, UnitClassification] = {}
    for unit in recording.units:
        start, stop = _unit_baseline(baseline, unit.id)
        span = present_span(unit.spike_times, start, stop)
        measured = (waveforms or {}).get(unit.id) if span == (start, stop) else None
        result = classify_unit(
            firing_features(unit.spike_times, *span, burst_isi_s=burst_isi_s),
            (measured or unit_waveform_features(unit, *span)) if unit.has_waveforms else None,
            rule_set=rule_set,
            overrides=overrides,
            config=config,
            unit_id=unit.id,
        )
        _note_presence(result, span, (start, stop))
        if dose_rows is not None:
            result.pharmacological_confirmation = pharmacological_confirmation(
                dose_rows[dose_rows["unit"] == unit.id], recovery_pct
            )
        results[unit.id] = result
    table = pd.DataFrame(
        [{"unit": unit_id, **result.as_row()} for unit_id, result in results.items()],
        columns=["unit", *ROW_COLUMNS],
    )
    return RecordingClassification(table=table, units=results)


def _note_presence(
    result: UnitClassification, span: tuple[float, float], baseline: tuple[float, float]
) -> None:
    """Say when the unit was present for part of the baseline; too short a part: unclassified."""
    if span == baseline:
        return
    present_s = span[1] - span[0]
    result.notes.append(
        f"present {span[0]:g}-{span[1]:g} s of the {baseline[0]:g}-{baseline[1]:g} s "
        "baseline: rates over that span"
    )
    if present_s < MIN_PRESENT_S:
        result.classification, result.subtype = UNCLASSIFIED, NA
        result.notes.append(f"present {present_s:g} s < {MIN_PRESENT_S:g} s: too short to judge")


def _unit_baseline(
    baseline: tuple[float, float] | Mapping[str, tuple[float, float]], unit_id: str
) -> tuple[float, float]:
    if isinstance(baseline, Mapping):
        if unit_id not in baseline:
            raise BadParameterError(f"baseline gives no epoch for unit {unit_id!r}")
        baseline = baseline[unit_id]
    if not isinstance(baseline, tuple | list) or len(baseline) != 2:
        raise BadParameterError(f"baseline must be (start, stop), got {baseline!r}")
    return baseline[0], baseline[1]
