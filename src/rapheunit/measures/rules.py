"""Rule sets: named, documented classification thresholds with their literature sources.

This module holds the thresholds (each literature value once, as a named constant
with its source), the :class:`RuleSet` that groups them, and the registry
:data:`RULE_SETS`. Choosing a rule set by name, from a TOML configuration or per
unit is in :mod:`rapheunit.measures.rule_config`; the verdict they lead to is in
:mod:`rapheunit.measures.classify`, whose docstring describes the rule sets and
the configuration file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rapheunit.core.errors import BadParameterError, validate_type
from rapheunit.measures.waveform import MEASURE_NAMES

# Status of one rule applied to one unit (and of its pharmacological confirmation).
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
# A unit present for less than a minute of its baseline is not judged: the
# shortest baseline that counts at all (EpochParams.min_baseline_s).
MIN_PRESENT_S = 60.0
# Share of spikes in bursts above which a putative 5-HT unit is "burst_firing";
# regular clock-like cells essentially never produce ISIs < 20 ms.
MIN_BURST_FRACTION = 0.05

REGULARITY_MEASURES = ("cv_isi_nonburst", "cv_isi", "cv2", "lv", "lvr")
# Rule-set field that names a measure -> the measures it may name.
MEASURE_CHOICES: dict[str, tuple[str, ...]] = {
    "regularity_measure": REGULARITY_MEASURES,
    "waveform_measure": MEASURE_NAMES,
}
MEASURE_FIELDS = tuple(MEASURE_CHOICES)
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
    >>> rules = RULE_SETS["aghajanian_classic"].with_overrides({"max_rate_hz": 3.0})
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
        for measure_field, allowed in MEASURE_CHOICES.items():
            check_measure(getattr(self, measure_field), allowed, measure_field, where)
        object.__setattr__(self, "thresholds", _checked_thresholds(self, where))

    @property
    def override_keys(self) -> tuple[str, ...]:
        """The keys :meth:`with_overrides` accepts: the thresholds, then the measure fields.

        Examples
        --------
        >>> RULE_SETS["firing_only"].override_keys[-2:]
        ('regularity_measure', 'waveform_measure')
        """
        return (*self.thresholds, *MEASURE_FIELDS)

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
        known = self.override_keys
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


def check_measure(value: Any, allowed: tuple[str, ...], name: str, where: str) -> None:
    """Refuse a measure name that is not one of ``allowed``; ``where`` opens the message."""
    if value not in allowed:
        raise BadParameterError(
            f"{where}: {name} must be one of {', '.join(allowed)}, got {value!r}"
        )


def check_threshold_value(key: str, value: Any, where: str) -> float:
    """The value of threshold ``key`` as a float, or a one-line error opened by ``where``.

    Examples
    --------
    >>> check_threshold_value("min_spikes", 25, "config")
    25.0
    >>> check_threshold_value("min_burst_fraction", 2, "config")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: config: threshold 'min_burst_fraction' must be ...
    """
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
        key: check_threshold_value(key, value, where)
        for key, value in rule_set.thresholds.items()
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
    >>> RULE_SETS["lenient_doc_example"].thresholds["min_waveform_ms"]
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
