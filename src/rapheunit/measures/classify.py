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

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.errors import (
    BadParameterError,
    RapheUnitError,
    UnreadableFileError,
    validate_type,
)
from rapheunit.core.markers import AGONIST, ANTAGONIST, drug_role
from rapheunit.core.model import Recording
from rapheunit.measures.features import BURST_ISI_S, FiringFeatures, firing_features
from rapheunit.measures.waveform import MEASURE_NAMES, WaveformFeatures, unit_waveform_features

PUTATIVE_5HT = "putative_5ht"
NON_5HT = "non_5ht"
UNCLASSIFIED = "unclassified"
PASS, FAIL, NA = "pass", "fail", "na"
DEFAULT_RULE_SET = "default"
WAVEFORM_RULE_SET = "aghajanian_classic"
FIRING_RULE_SET = "firing_only"

# --- Literature thresholds (each lives here once) ---------------------------
# Slow firing of DRN 5-HT neurons in vivo, 0.5-2.5 Hz (Aghajanian & VanderMaelen
# 1982, J Neurosci 2:1786; VanderMaelen & Aghajanian 1983, Brain Res 289:109;
# Allers & Sharp 2003, Neuroscience 122:193).
SLOW_RATE_MIN_HZ = 0.5
SLOW_RATE_MAX_HZ = 2.5
# Regular ("clock-like") firing: CV of ISI < 0.5 in ~97% of identified 5-HT
# neurons (Mlinar et al. 2016, Front Cell Neurosci 10:195); applied to the
# burst-removed CV so doublet-firing 5-HT cells (Hajos et al. 1995) still pass.
MAX_CV_ISI = 0.5
# Broad extracellular spikes of 1.5-3.0 ms total duration (VanderMaelen &
# Aghajanian 1983); identified 5-HT 2.2 +/- 0.2 ms vs 1.1 +/- 0.1 ms for
# fast-firing GABA cells (Allers & Sharp 2003).
MIN_TOTAL_DURATION_MS = 1.5
# --- Project choices (no literature value) ----------------------------------
# Below this many spikes in the epoch, the CV is too uncertain to judge
# regularity (SE of CV ~ CV / sqrt(2 n)), so the unit is unclassified.
MIN_SPIKES = 30
# Share of spikes in bursts above which a putative 5-HT unit is "burst_firing";
# regular clock-like cells essentially never produce ISIs < 20 ms.
MIN_BURST_FRACTION = 0.05
# --- Pharmacological confirmation --------------------------------------------
# A 5-HT1A agonist silences DRN 5-HT neurons almost completely (Sprouse &
# Aghajanian 1987, Synapse 1:3); >= 80% inhibition counts as a response.
MIN_AGONIST_INHIBITION_PCT = 80.0
# WAY-100635 reverses it (Forster et al. 1995, Eur J Pharmacol 281:81);
# firing back to >= 50% of baseline counts as recovery.
MIN_RECOVERY_PCT_BASELINE = 50.0
CONFIRMED, NOT_CONFIRMED = "confirmed", "not_confirmed"
DOSE_ROW_COLUMNS = ("drug", "cumulative_dose", "pct_baseline", "injection_time_s")

REGULARITY_MEASURES = ("cv_isi_nonburst", "cv_isi", "cv2", "lv", "lvr")
MEASURE_FIELDS = ("regularity_measure", "waveform_measure")
# Threshold name -> (what it bounds, unit shown in the threshold text).
THRESHOLDS: dict[str, tuple[str, str]] = {
    "min_spikes": ("spikes in the epoch needed to classify", "spikes"),
    "min_rate_hz": ("lowest firing rate of a putative 5-HT unit", "Hz"),
    "max_rate_hz": ("highest firing rate of a putative 5-HT unit", "Hz"),
    "max_regularity": ("regularity measure must be below this", ""),
    "min_waveform_ms": ("waveform measure must be at least this", "ms"),
    "min_burst_fraction": ("burst fraction of a burst-firing 5-HT unit", ""),
}
FIRING_THRESHOLDS = (
    "min_spikes",
    "min_rate_hz",
    "max_rate_hz",
    "max_regularity",
    "min_burst_fraction",
)
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
_RULE_TABLE_KEYS = (
    "base",
    "description",
    "sources",
    "requires_waveform",
    "thresholds",
    *MEASURE_FIELDS,
)
_CONFIG_KEYS = ("rule_set", "thresholds", "rule_sets")


@dataclass(frozen=True)
class RuleSet:
    """A named, documented set of classification thresholds.

    Parameters
    ----------
    name : str
        Registry key.
    description : str
        What the rule set tests and when to use it.
    sources : tuple of str
        Literature the thresholds come from.
    thresholds : dict
        Keys of :data:`THRESHOLDS`: every firing threshold, plus
        ``min_waveform_ms`` exactly when ``requires_waveform``.
    requires_waveform : bool
        True when the waveform criterion is applied.
    regularity_measure : str
        Firing feature compared with ``max_regularity``.
    waveform_measure : str
        Waveform feature compared with ``min_waveform_ms``.

    Examples
    --------
    >>> rules = get_rule_set("aghajanian_classic", overrides={"max_rate_hz": 3.0})
    >>> rules.thresholds["max_rate_hz"], rules.thresholds["min_rate_hz"]
    (3.0, 0.5)
    """

    name: str
    description: str
    sources: tuple[str, ...]
    thresholds: dict[str, float]
    requires_waveform: bool
    regularity_measure: str = "cv_isi_nonburst"
    waveform_measure: str = "waveform_duration_ms"

    def __post_init__(self) -> None:
        validate_type(self.name, str, "rule set name")
        where = f"rule set {self.name!r}"
        validate_type(self.description, str, f"{where}: description")
        validate_type(self.requires_waveform, bool, f"{where}: requires_waveform")
        sources = (self.sources,) if isinstance(self.sources, str) else tuple(self.sources)
        for source in sources:
            validate_type(source, str, f"{where}: sources")
        object.__setattr__(self, "sources", sources)
        _check_measure(self.regularity_measure, REGULARITY_MEASURES, "regularity_measure", where)
        _check_measure(self.waveform_measure, MEASURE_NAMES, "waveform_measure", where)
        object.__setattr__(self, "thresholds", _checked_thresholds(self, where))

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> RuleSet:
        """Copy with thresholds (or measure names) replaced; unknown keys raise.

        Examples
        --------
        >>> RULE_SETS["firing_only"].with_overrides({"max_regularity": 0.4}).thresholds[
        ...     "max_regularity"]
        0.4
        """
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise BadParameterError(f"overrides must be a mapping, got {type(overrides).__name__}")
        known = (*self.thresholds, *MEASURE_FIELDS)
        for key in overrides:
            if key not in known:
                raise BadParameterError(
                    f"unknown threshold {key!r} for rule set {self.name!r} "
                    f"(known: {', '.join(known)})"
                )
        measures = {key: overrides[key] for key in MEASURE_FIELDS if key in overrides}
        thresholds = {key: value for key, value in overrides.items() if key in THRESHOLDS}
        return replace(self, thresholds={**self.thresholds, **thresholds}, **measures)

    def describe(self) -> str:
        """Multi-line summary: description, measures, thresholds and sources.

        Examples
        --------
        >>> print(RULE_SETS["firing_only"].describe().splitlines()[4])
          max_rate_hz = 2.5 Hz: highest firing rate of a putative 5-HT unit
        """
        lines = [
            f"{self.name}: {self.description}",
            f"  measures: {self.regularity_measure}, "
            + (self.waveform_measure if self.requires_waveform else "no waveform"),
        ]
        for key, value in self.thresholds.items():
            meaning, unit = THRESHOLDS[key]
            lines.append(f"  {key} = {value:g}{' ' + unit if unit else ''}: {meaning}")
        lines.extend(f"  source: {source}" for source in self.sources)
        return "\n".join(lines)

    def threshold_text(self, key: str) -> str:
        """The threshold as shown in tables, e.g. ``"0.5-2.5 Hz"`` or ``"< 0.5"``.

        Examples
        --------
        >>> RULE_SETS["aghajanian_classic"].threshold_text("min_rate_hz")
        '0.5-2.5 Hz'
        """
        value = self.thresholds[key]
        if key == "min_rate_hz":
            return f"{value:g}-{self.thresholds['max_rate_hz']:g} Hz"
        if key == "max_regularity":
            return f"< {value:g}"
        return f">= {value:g} {THRESHOLDS[key][1]}"


@dataclass(frozen=True)
class Criterion:
    """One rule applied to one unit.

    ``name`` is ``"spike_count"``, ``"rate"``, ``"regularity"`` or
    ``"waveform"``; ``measure`` the feature it reads; ``status`` is
    ``"pass"``, ``"fail"`` or ``"na"``; ``reason`` a short human sentence.
    ``applied`` is False for a rule the rule set does not use (its status is
    ``"na"`` and it does not affect the verdict).
    """

    name: str
    measure: str
    value: float
    threshold: str
    status: str
    reason: str
    applied: bool = True


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

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name``."""
        for criterion in self.criteria:
            if criterion.name == name:
                return criterion
        raise KeyError(f"no criterion {name!r}")

    @property
    def reasons(self) -> str:
        """All criteria in one short line."""
        return "; ".join(criterion.reason for criterion in self.criteria)

    def as_row(self) -> dict[str, Any]:
        """The unit's columns of ``units.csv`` (see :data:`ROW_COLUMNS`).

        Examples
        --------
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


def _check_measure(value: Any, allowed: tuple[str, ...], name: str, where: str) -> None:
    if value not in allowed:
        raise BadParameterError(
            f"{where}: {name} must be one of {', '.join(allowed)}, got {value!r}"
        )


def _check_threshold_value(key: str, value: Any, where: str) -> float:
    if key not in THRESHOLDS:
        raise BadParameterError(
            f"{where}: unknown threshold {key!r} (known: {', '.join(THRESHOLDS)})"
        )
    label = f"{where}: threshold {key!r}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise BadParameterError(f"{label} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise BadParameterError(f"{label} must be a finite number >= 0, got {value!r}")
    if key == "min_spikes" and not number.is_integer():
        raise BadParameterError(f"{label} must be a whole number, got {value!r}")
    if key == "min_burst_fraction" and number > 1:
        raise BadParameterError(f"{label} must be between 0 and 1, got {value!r}")
    if key in ("max_regularity", "min_waveform_ms") and number == 0:
        raise BadParameterError(f"{label} must be > 0, got {value!r}")
    return number


def _checked_thresholds(rule_set: RuleSet, where: str) -> dict[str, float]:
    if not isinstance(rule_set.thresholds, Mapping):
        raise BadParameterError(f"{where}: thresholds must be a table of numbers")
    thresholds = {
        key: _check_threshold_value(key, value, where) for key, value in rule_set.thresholds.items()
    }
    required = FIRING_THRESHOLDS + (("min_waveform_ms",) if rule_set.requires_waveform else ())
    missing = [key for key in required if key not in thresholds]
    if missing:
        raise BadParameterError(f"{where}: missing threshold {', '.join(map(repr, missing))}")
    if not rule_set.requires_waveform and "min_waveform_ms" in thresholds:
        raise BadParameterError(
            f"{where}: threshold 'min_waveform_ms' needs requires_waveform = true"
        )
    if thresholds["min_rate_hz"] > thresholds["max_rate_hz"]:
        raise BadParameterError(
            f"{where}: threshold 'min_rate_hz' ({thresholds['min_rate_hz']:g}) exceeds "
            f"'max_rate_hz' ({thresholds['max_rate_hz']:g})"
        )
    return thresholds


_CLASSIC_SOURCES = (
    "Aghajanian & VanderMaelen 1982, J Neurosci 2:1786-1792 (slow pacemaker firing)",
    "VanderMaelen & Aghajanian 1983, Brain Res 289:109-119 (1.5-3.0 ms spikes, steady rhythm)",
    "Allers & Sharp 2003, Neuroscience 122:193-204 (identified 5-HT 2.2 ms vs GABA 1.1 ms)",
    "Mlinar et al. 2016, Front Cell Neurosci 10:195 (CV of ISI < 0.5 in ~97% of 5-HT neurons)",
    "Hajos et al. 1995, Neuroscience 69:189-197 (doublets with ISI < 20 ms in 5-HT neurons)",
)
_FIRING_THRESHOLD_VALUES = {
    "min_spikes": MIN_SPIKES,
    "min_rate_hz": SLOW_RATE_MIN_HZ,
    "max_rate_hz": SLOW_RATE_MAX_HZ,
    "max_regularity": MAX_CV_ISI,
    "min_burst_fraction": MIN_BURST_FRACTION,
}

RULE_SETS: dict[str, RuleSet] = {
    rule_set.name: rule_set
    for rule_set in (
        RuleSet(
            name=WAVEFORM_RULE_SET,
            description=(
                "Classic in vivo criteria: slow firing (0.5-2.5 Hz), regular firing "
                "(CV of ISI after removing intraburst ISIs < 0.5) and a broad spike "
                "(total duration >= 1.5 ms)."
            ),
            sources=_CLASSIC_SOURCES,
            thresholds={**_FIRING_THRESHOLD_VALUES, "min_waveform_ms": MIN_TOTAL_DURATION_MS},
            requires_waveform=True,
        ),
        RuleSet(
            name=FIRING_RULE_SET,
            description=(
                "aghajanian_classic without the waveform rule, for files without "
                "waveforms: slow (0.5-2.5 Hz) and regular (burst-removed CV < 0.5) firing. "
                "Weaker: some slow regular non-5-HT cells pass."
            ),
            sources=_CLASSIC_SOURCES,
            thresholds=dict(_FIRING_THRESHOLD_VALUES),
            requires_waveform=False,
        ),
    )
}


def register_rule_set(rule_set: RuleSet, *, replace_existing: bool = False) -> RuleSet:
    """Add ``rule_set`` to :data:`RULE_SETS` so it can be picked by name.

    Examples
    --------
    >>> lenient = RULE_SETS["aghajanian_classic"].with_overrides({"min_waveform_ms": 1.2})
    >>> lenient = register_rule_set(replace(lenient, name="lenient_doc_example"))
    >>> get_rule_set("lenient_doc_example").thresholds["min_waveform_ms"]
    1.2
    >>> del RULE_SETS["lenient_doc_example"]
    """
    validate_type(rule_set, RuleSet, "rule_set")
    if rule_set.name == DEFAULT_RULE_SET:
        raise BadParameterError(f"{DEFAULT_RULE_SET!r} is reserved for the dispatcher")
    if rule_set.name in RULE_SETS and not replace_existing:
        raise BadParameterError(
            f"rule set {rule_set.name!r} already exists (pass replace_existing=True)"
        )
    RULE_SETS[rule_set.name] = rule_set
    return rule_set


def get_rule_set(
    name: str,
    overrides: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> RuleSet:
    """The rule set ``name`` after a config's changes and then ``overrides``.

    ``name`` may be a registered rule set or one defined in
    ``config["rule_sets"]``. The config's ``[thresholds]`` apply where the
    rule set has the key; ``overrides`` must all be keys of the rule set.

    Examples
    --------
    >>> config = {"thresholds": {"max_rate_hz": 3.0, "min_waveform_ms": 1.4}}
    >>> get_rule_set("firing_only", config=config).thresholds["max_rate_hz"]
    3.0
    >>> get_rule_set("firing_only", overrides={"max_rate": 3.0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: unknown threshold 'max_rate' for rule set ...
    """
    validate_type(name, str, "rule_set")
    config = _checked_config(config or {}, "config")
    if name == DEFAULT_RULE_SET:
        raise BadParameterError(
            f"{DEFAULT_RULE_SET!r} picks {WAVEFORM_RULE_SET!r} or {FIRING_RULE_SET!r} per unit; "
            "ask for one of those"
        )
    rule_set = _base_rule_set(name, config)
    rule_set = rule_set.with_overrides(_applicable(config.get("thresholds", {}), rule_set))
    return rule_set.with_overrides(overrides)


def load_rule_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a TOML rule configuration (see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     config_path = Path(folder) / "rules.toml"
    ...     _ = config_path.write_text("[thresholds]\\nmax_rate_hz = 3.0\\n")
    ...     load_rule_config(config_path)
    {'thresholds': {'max_rate_hz': 3.0}}
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise BadParameterError("rule configuration file not found", path) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UnreadableFileError(f"not a valid TOML file: {error}", path) from None
    try:
        return _checked_config(config, "rule configuration")
    except RapheUnitError as error:
        raise BadParameterError(error.reason, path) from None


def _checked_config(config: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise BadParameterError(f"{where} must be a table, got {type(config).__name__}")
    _check_keys(config, _CONFIG_KEYS, where)
    if "rule_set" in config:
        validate_type(config["rule_set"], str, f"{where}: rule_set")
    for key, value in _table(config, "thresholds", where).items():
        if key == "regularity_measure":
            _check_measure(value, REGULARITY_MEASURES, key, f"{where} [thresholds]")
        elif key == "waveform_measure":
            _check_measure(value, MEASURE_NAMES, key, f"{where} [thresholds]")
        else:
            _check_threshold_value(key, value, f"{where} [thresholds]")
    rule_tables = _table(config, "rule_sets", where)
    for name in rule_tables:
        _rule_set_from_table(name, rule_tables[name])
    chosen = config.get("rule_set")
    if chosen not in (None, DEFAULT_RULE_SET, *RULE_SETS, *rule_tables):
        raise BadParameterError(f"{where}: unknown rule_set {chosen!r}")
    return dict(config)


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise BadParameterError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def _table(config: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    table = config.get(key, {})
    if not isinstance(table, Mapping):
        raise BadParameterError(f"{where}: {key!r} must be a table")
    return table


def _rule_set_from_table(name: str, table: Any) -> RuleSet:
    """A rule set from a config table: ``base``'s fields (default: the built-in
    of that name, if any) updated with the table's."""
    where = f"rule set {name!r}"
    if not isinstance(table, Mapping):
        raise BadParameterError(f"{where} must be a table")
    _check_keys(table, _RULE_TABLE_KEYS, where)
    base_name = table.get("base", name if name in RULE_SETS else None)
    if base_name is not None and base_name not in RULE_SETS:
        raise BadParameterError(f"{where}: unknown base {base_name!r}")
    base = RULE_SETS.get(base_name) if base_name is not None else None
    if base is None:
        missing = [
            key for key in ("description", "requires_waveform", "thresholds") if key not in table
        ]
        if missing:
            raise BadParameterError(f"{where}: give a base or {', '.join(missing)}")
    values: dict[str, Any] = {"sources": ()}
    if base is not None:
        values = {item.name: getattr(base, item.name) for item in fields(base)}
    values.update({key: table[key] for key in table if key not in ("base", "thresholds")})
    changes = _table(table, "thresholds", where)
    thresholds = {**(base.thresholds if base is not None else {}), **changes}
    if not values["requires_waveform"] and "min_waveform_ms" not in changes:
        thresholds.pop("min_waveform_ms", None)
    return RuleSet(**{**values, "name": name, "thresholds": thresholds})


def _base_rule_set(name: str, config: Mapping[str, Any]) -> RuleSet:
    rule_tables = config.get("rule_sets", {})
    if name in rule_tables:
        return _rule_set_from_table(name, rule_tables[name])
    if name not in RULE_SETS:
        known = ", ".join((*RULE_SETS, *rule_tables, DEFAULT_RULE_SET))
        raise BadParameterError(f"unknown rule set {name!r} (known: {known})")
    return RULE_SETS[name]


def _applicable(overrides: Mapping[str, Any], rule_set: RuleSet) -> dict[str, Any]:
    """The overrides that name a key of ``rule_set``."""
    return {
        key: value
        for key, value in overrides.items()
        if key in rule_set.thresholds or key in MEASURE_FIELDS
    }


def _dispatch(
    waveform: WaveformFeatures | None,
    overrides: Mapping[str, Any] | None,
    config: Mapping[str, Any],
) -> RuleSet:
    """The default rule set for a unit: the waveform rules when its waveform is measured."""
    overrides = dict(overrides or {})
    candidates = [
        get_rule_set(name, config=config) for name in (WAVEFORM_RULE_SET, FIRING_RULE_SET)
    ]
    known = {key for rule_set in candidates for key in rule_set.thresholds} | set(MEASURE_FIELDS)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise BadParameterError(
            f"unknown threshold {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    with_waveform, firing_only = (
        rule_set.with_overrides(_applicable(overrides, rule_set)) for rule_set in candidates
    )
    measured = waveform is not None and math.isfinite(
        getattr(waveform, with_waveform.waveform_measure)
    )
    return with_waveform if measured else firing_only


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
    config = _checked_config(config or {}, "config")
    if rule_set == DEFAULT_RULE_SET:
        rule_set = config.get("rule_set", DEFAULT_RULE_SET)
    rules = (
        _dispatch(waveform, overrides, config)
        if rule_set == DEFAULT_RULE_SET
        else get_rule_set(rule_set, overrides, config)
    )
    criteria = [
        _spike_count_criterion(firing, rules),
        _rate_criterion(firing, rules),
        _regularity_criterion(firing, rules),
        _waveform_criterion(waveform, rules),
    ]
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


def _format(value: float) -> str:
    return f"{value:.3g}"


def _spike_count_criterion(firing: FiringFeatures, rules: RuleSet) -> Criterion:
    needed = rules.thresholds["min_spikes"]
    enough = firing.n_spikes >= needed
    reason = (
        f"{firing.n_spikes} spikes >= {needed:g}"
        if enough
        else f"{firing.n_spikes} spikes < {needed:g}: too few to classify"
    )
    return Criterion(
        "spike_count",
        "n_spikes",
        float(firing.n_spikes),
        rules.threshold_text("min_spikes"),
        PASS if enough else FAIL,
        reason,
    )


def _rate_criterion(firing: FiringFeatures, rules: RuleSet) -> Criterion:
    low, high = rules.thresholds["min_rate_hz"], rules.thresholds["max_rate_hz"]
    threshold = rules.threshold_text("min_rate_hz")
    inside = low <= firing.rate_hz <= high
    reason = f"rate {_format(firing.rate_hz)} Hz {'in' if inside else 'not in'} {threshold}"
    return Criterion("rate", "rate_hz", firing.rate_hz, threshold, PASS if inside else FAIL, reason)


def _regularity_criterion(firing: FiringFeatures, rules: RuleSet) -> Criterion:
    measure = rules.regularity_measure
    value = float(getattr(firing, measure))
    limit = rules.thresholds["max_regularity"]
    threshold = rules.threshold_text("max_regularity")
    if math.isnan(value):
        reason = f"{measure} na ({firing.reasons.get(measure, 'not measured')})"
        return Criterion("regularity", measure, value, threshold, NA, reason)
    regular = value < limit
    reason = f"{measure} {_format(value)} {'<' if regular else '>='} {limit:g}"
    return Criterion("regularity", measure, value, threshold, PASS if regular else FAIL, reason)


def _waveform_criterion(waveform: WaveformFeatures | None, rules: RuleSet) -> Criterion:
    measure = rules.waveform_measure
    if not rules.requires_waveform:
        return Criterion(
            "waveform",
            measure,
            math.nan,
            "",
            NA,
            f"waveform not used by {rules.name}",
            applied=False,
        )
    threshold = rules.threshold_text("min_waveform_ms")
    value = math.nan if waveform is None else float(getattr(waveform, measure))
    if math.isnan(value):
        why = "no waveforms" if waveform is None else waveform.reasons.get(measure, "not measured")
        return Criterion("waveform", measure, value, threshold, NA, f"{measure} na ({why})")
    limit = rules.thresholds["min_waveform_ms"]
    broad = value >= limit
    reason = f"{measure} {_format(value)} {'>=' if broad else '<'} {limit:g} ms"
    return Criterion("waveform", measure, value, threshold, PASS if broad else FAIL, reason)


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
        regularity = next(criterion for criterion in criteria if criterion.name == "regularity")
        return "slow_irregular" if regularity.status == FAIL else "other"
    return NA


def pharmacological_confirmation(dose_rows: pd.DataFrame) -> str:
    """Whether a 5-HT1A agonist inhibited the unit and WAY-100635 reversed it.

    Parameters
    ----------
    dose_rows : pandas.DataFrame
        One unit's per-injection rows with at least columns ``drug``,
        ``cumulative_dose``, ``pct_baseline`` (firing in the dose window as %
        of baseline) and ``injection_time_s``.

    Returns
    -------
    str
        ``"confirmed"``: some agonist dose inhibited firing by >=
        :data:`MIN_AGONIST_INHIBITION_PCT` % and a later antagonist dose
        brought it back to >= :data:`MIN_RECOVERY_PCT_BASELINE` % of baseline;
        ``"not_confirmed"``: the agonist inhibited less than that (whether or
        not an antagonist followed), or the antagonist did not restore firing;
        ``"na"``: no agonist row with a finite %-of-baseline, or an inhibiting
        agonist never followed by the antagonist (nothing to confirm with).

    Examples
    --------
    >>> rows = pd.DataFrame({"drug": ["ipsapirone", "ipsapirone", "WAY-100635"],
    ...                      "cumulative_dose": [10.0, 20.0, 100.0],
    ...                      "pct_baseline": [40.0, 5.0, 90.0],
    ...                      "injection_time_s": [300.0, 480.0, 660.0]})
    >>> pharmacological_confirmation(rows)
    'confirmed'
    >>> pharmacological_confirmation(rows.iloc[:2])
    'na'
    """
    validate_type(dose_rows, pd.DataFrame, "dose_rows")
    missing = [column for column in DOSE_ROW_COLUMNS if column not in dose_rows.columns]
    if missing:
        raise BadParameterError(f"dose_rows lacks column(s) {', '.join(missing)}")
    roles = dose_rows["drug"].astype(str).map(drug_role)
    pct = pd.to_numeric(dose_rows["pct_baseline"], errors="coerce")
    times = pd.to_numeric(dose_rows["injection_time_s"], errors="coerce")
    agonist = (roles == AGONIST) & np.isfinite(pct)
    if not agonist.any():
        return NA
    if 100.0 - pct[agonist].min() < MIN_AGONIST_INHIBITION_PCT:
        return NOT_CONFIRMED
    antagonist = (roles == ANTAGONIST) & np.isfinite(pct) & (times > times[agonist].min())
    if not antagonist.any():
        return NA
    recovered = pct[antagonist].max() >= MIN_RECOVERY_PCT_BASELINE
    return CONFIRMED if recovered else NOT_CONFIRMED


def classify_recording(
    recording: Recording,
    *,
    baseline: tuple[float, float] | Mapping[str, tuple[float, float]],
    rule_set: str = DEFAULT_RULE_SET,
    overrides: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    dose_rows: pd.DataFrame | None = None,
    burst_isi_s: float = BURST_ISI_S,
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

    Returns
    -------
    RecordingClassification
        ``.table`` (column ``unit`` then :data:`ROW_COLUMNS`) and ``.units``.

    Examples
    --------
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
        result = classify_unit(
            firing_features(unit.spike_times, start, stop, burst_isi_s=burst_isi_s),
            unit_waveform_features(unit, start, stop) if unit.has_waveforms else None,
            rule_set=rule_set,
            overrides=overrides,
            config=config,
            unit_id=unit.id,
        )
        if dose_rows is not None:
            result.pharmacological_confirmation = pharmacological_confirmation(
                dose_rows[dose_rows["unit"] == unit.id]
            )
        results[unit.id] = result
    table = pd.DataFrame(
        [{"unit": unit_id, **result.as_row()} for unit_id, result in results.items()],
        columns=["unit", *ROW_COLUMNS],
    )
    return RecordingClassification(table=table, units=results)


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
