"""The criteria: each rule of a rule set applied to one unit's features.

A :class:`Criterion` holds the value a rule read, the threshold as text, the
status (``"pass"``, ``"fail"`` or ``"na"``) and a short reason; the verdict that
follows from them is in :mod:`rapheunit.measures.classify`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapheunit.measures.features import FiringFeatures
from rapheunit.measures.rules import FAIL, NA, PASS, RuleSet
from rapheunit.measures.waveform import WaveformFeatures


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


def apply_rules(
    firing: FiringFeatures, waveform: WaveformFeatures | None, rules: RuleSet
) -> list[Criterion]:
    """The spike-count, rate, regularity and waveform criteria of one unit, in that order.

    Examples
    --------
    >>> import numpy as np
    >>> from rapheunit.measures.features import firing_features
    >>> from rapheunit.measures.rules import RULE_SETS
    >>> clock = firing_features(np.arange(0.0, 300.0, 1.0), 0.0, 300.0)
    >>> [c.status for c in apply_rules(clock, None, RULE_SETS["firing_only"])]
    ['pass', 'pass', 'pass', 'na']
    """
    return [
        _spike_count_criterion(firing, rules),
        _rate_criterion(firing, rules),
        _regularity_criterion(firing, rules),
        _waveform_criterion(waveform, rules),
    ]


def criterion_named(criteria: list[Criterion], name: str) -> Criterion:
    """The criterion called ``name`` (KeyError when there is none)."""
    for criterion in criteria:
        if criterion.name == name:
            return criterion
    raise KeyError(f"no criterion {name!r}")


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
