"""Choosing a rule set: by name, from a rule configuration, with overrides, or per unit.

A rule configuration (a TOML file read by :func:`load_rule_config`, or the same
mapping built in Python) may name the rule set used for ``"default"``, change
thresholds of every rule set and define new rule sets; its format is in the
docstring of :mod:`rapheunit.measures.classify`. The rule sets themselves are in
:mod:`rapheunit.measures.rules`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from rapheunit.core.errors import (
    BadParameterError,
    RapheUnitError,
    UnreadableFileError,
    validate_type,
)
from rapheunit.measures.rules import (
    DEFAULT_RULE_SET,
    FIRING_RULE_SET,
    MEASURE_CHOICES,
    MEASURE_FIELDS,
    RULE_SETS,
    WAVEFORM_RULE_SET,
    RuleSet,
    check_measure,
    check_threshold_value,
)
from rapheunit.measures.waveform import NO_WAVEFORMS, WaveformFeatures

_RULE_TABLE_KEYS = (
    "base",
    "description",
    "sources",
    "requires_waveform",
    "thresholds",
    *MEASURE_FIELDS,
)
_CONFIG_KEYS = ("rule_set", "thresholds", "rule_sets")


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
    config = checked_config(config or {}, "config")
    if name == DEFAULT_RULE_SET:
        raise BadParameterError(
            f"{DEFAULT_RULE_SET!r} picks {WAVEFORM_RULE_SET!r} or {FIRING_RULE_SET!r} per unit; "
            "ask for one of those"
        )
    rule_set = _base_rule_set(name, config)
    rule_set = rule_set.with_overrides(_applicable(config.get("thresholds", {}), rule_set))
    return rule_set.with_overrides(overrides)


def rules_for_unit(
    name: str,
    waveform: WaveformFeatures | None,
    overrides: Mapping[str, Any] | None,
    config: Mapping[str, Any],
) -> RuleSet:
    """The rule set that judges one unit: ``name``, or for ``"default"`` the config's
    choice, else the waveform rules when the unit has waveforms (firing only without).

    ``config`` must already be checked (:func:`checked_config`).

    Examples
    --------
    >>> rules_for_unit("default", None, None, {}).name
    'firing_only'
    """
    if name == DEFAULT_RULE_SET:
        name = config.get("rule_set", DEFAULT_RULE_SET)
    if name == DEFAULT_RULE_SET:
        return _dispatch(waveform, overrides, config)
    return get_rule_set(name, overrides, config)


def load_rule_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a TOML rule configuration (format in :mod:`rapheunit.measures.classify`).

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
        return checked_config(config, "rule configuration")
    except RapheUnitError as error:
        raise BadParameterError(error.reason, path) from None


def checked_config(config: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``config`` as a dict after checking every key, threshold and rule set in it.

    Examples
    --------
    >>> checked_config({"rule_set": "nope"}, "config")
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: config: unknown rule_set 'nope'
    """
    if not isinstance(config, Mapping):
        raise BadParameterError(f"{where} must be a table, got {type(config).__name__}")
    _check_keys(config, _CONFIG_KEYS, where)
    if "rule_set" in config:
        validate_type(config["rule_set"], str, f"{where}: rule_set")
    for key, value in _table(config, "thresholds", where).items():
        if key in MEASURE_CHOICES:
            check_measure(value, MEASURE_CHOICES[key], key, f"{where} [thresholds]")
        else:
            check_threshold_value(key, value, f"{where} [thresholds]")
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
    return {key: value for key, value in overrides.items() if key in rule_set.override_keys}


def _dispatch(
    waveform: WaveformFeatures | None,
    overrides: Mapping[str, Any] | None,
    config: Mapping[str, Any],
) -> RuleSet:
    """The default rule set for a unit: the waveform rules when it has waveforms."""
    overrides = dict(overrides or {})
    candidates = [
        get_rule_set(name, config=config) for name in (WAVEFORM_RULE_SET, FIRING_RULE_SET)
    ]
    known = {key for rule_set in candidates for key in rule_set.override_keys}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise BadParameterError(
            f"unknown threshold {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    with_waveform, firing_only = (
        rule_set.with_overrides(_applicable(overrides, rule_set)) for rule_set in candidates
    )
    # A unit that has waveforms is judged on them: when its spike cannot be measured the
    # waveform criterion is "na" and the unit unclassified, never classified on firing alone.
    measure = with_waveform.waveform_measure
    has_waveforms = waveform is not None and waveform.reasons.get(measure) != NO_WAVEFORMS
    return with_waveform if has_waveforms else firing_only
