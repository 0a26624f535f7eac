"""The analyst's decisions, kept as data: read, written and applied as pure functions.

A curation file is TOML: one ``[[decision]]`` table per decision, each naming
its recording (and unit), what was decided, why, by whom and when::

    [[decision]]
    recording = "drn01"
    unit = "unit1"
    action = "span"
    start_s = 0.0
    stop_s = 900.0
    reason = "lost at 900 s"
    author = "jdoe"
    date = "2026-12-05"

Recording-level decisions (``baseline``, ``move_injection``, ``add_injection``,
``end``, ``span``, ``exclude``) change the :class:`Recording` before it is
measured; ``verdict`` and ``exclude_population`` change the unit table after
it, keeping the automatic verdict beside the curated one. A decision naming a
unit that is not there, or a file whose sha256 changed, is stale: it is
reported and nothing is applied from it.
"""

from __future__ import annotations

import difflib
import getpass
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.core.epochs import CURATED_BASELINE_KEY
from rapheunit.core.errors import BadParameterError, check_option
from rapheunit.core.model import Injection, Recording

# File the pipeline reads by default from the output folder, and ``curate`` writes.
CURATION_FILE = "curation.toml"
VERDICTS = ("putative_5ht", "non_5ht")
ACTIONS = (
    "exclude",  # the unit leaves every table
    "exclude_population",  # the unit stays in units.csv but leaves summary/population
    "verdict",  # needs ``verdict``
    "baseline",  # needs ``start_s``, ``stop_s``
    "move_injection",  # needs ``injection`` (1-based) and ``time_s``
    "add_injection",  # needs ``time_s``, ``drug``, ``dose``, ``dose_unit``
    "end",  # needs ``time_s``
    "span",  # needs ``unit``, ``start_s``, ``stop_s``
)
UNIT_ACTIONS = ("exclude", "exclude_population", "verdict", "span")
_NEEDS = {
    "verdict": ("verdict",),
    "baseline": ("start_s", "stop_s"),
    "move_injection": ("injection", "time_s"),
    "add_injection": ("time_s", "drug", "dose", "dose_unit"),
    "end": ("time_s",),
    "span": ("start_s", "stop_s"),
}


@dataclass(frozen=True)
class Decision:
    """One decision of the analyst about a recording or one of its units."""

    recording: str
    action: str
    reason: str
    unit: str = ""
    author: str = ""
    date: str = ""
    sha256: str = ""
    verdict: str | None = None
    start_s: float | None = None
    stop_s: float | None = None
    time_s: float | None = None
    injection: int | None = None
    drug: str | None = None
    dose: float | None = None
    dose_unit: str | None = None

    def __post_init__(self) -> None:
        check_option(self.action, ACTIONS, "curation action")
        where = self.target
        if not self.reason.strip():
            raise BadParameterError(f"curation of {where}: a decision needs a reason")
        if self.action in UNIT_ACTIONS and not self.unit:
            raise BadParameterError(f"curation of {where}: {self.action!r} needs a unit")
        missing = [name for name in _NEEDS.get(self.action, ()) if getattr(self, name) is None]
        if missing:
            raise BadParameterError(
                f"curation of {where}: {self.action!r} needs {', '.join(missing)}"
            )
        if self.verdict is not None:
            check_option(self.verdict, VERDICTS, "verdict")

    @property
    def target(self) -> str:
        """``recording/unit`` (or the recording alone)."""
        return f"{self.recording}/{self.unit}" if self.unit else self.recording

    @property
    def note(self) -> str:
        """One line saying what was decided and why (for the tables and the report)."""
        what = f" {self.verdict}" if self.verdict else ""
        return f"{self.target} {self.action}{what}: {self.reason}"


def read_curation(path: str | Path) -> list[Decision]:
    """The decisions of a curation file (an empty list when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BadParameterError(f"not a valid curation file ({error})", path) from None
    known = {f.name for f in fields(Decision)}
    decisions = []
    for number, entry in enumerate(data.get("decision", []), start=1):
        unknown = sorted(set(entry) - known)
        if unknown:
            raise BadParameterError(f"decision {number}: unknown key(s) {unknown}", path)
        try:
            decisions.append(Decision(**entry))
        except TypeError as error:
            raise BadParameterError(f"decision {number}: {error}", path) from None
        except BadParameterError as error:
            raise BadParameterError(f"decision {number}: {error.reason}", path) from None
    return decisions


def read_run_curation(curation: str | Path | bool | None, out: Path | None) -> list[Decision]:
    """The decisions a run honours: from ``curation``, none (False), or ``out/curation.toml``."""
    if curation is False:
        return []
    if curation is None or curation is True:
        return [] if out is None else read_curation(out / CURATION_FILE)
    if not Path(curation).exists():
        raise BadParameterError("curation file not found", curation)
    return read_curation(curation)


def write_curation(decisions: Iterable[Decision], path: str | Path) -> None:
    """Write ``decisions`` as TOML (only the keys each one sets)."""
    blocks = []
    for decision in decisions:
        lines = ["[[decision]]"]
        for name, value in asdict(decision).items():
            if value is None or value == "":
                continue
            lines.append(f"{name} = {_toml_value(value)}")
        blocks.append("\n".join(lines))
    Path(path).write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool | int):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def add_decision(
    results: str | Path,
    target: str,
    action: str,
    reason: str,
    *,
    author: str | None = None,
    curation: str | Path | None = None,
    **values: Any,
) -> Decision:
    """Check ``target`` (``recording`` or ``recording/unit``) against a run's tables and record it.

    The decision is appended to ``curation`` (default ``results/curation.toml``)
    with the author (default: the login name), today's date and the input's sha256.
    """
    results = Path(results)
    recording, _, unit = target.partition("/")
    row = _recording_row(results, recording)
    if unit:
        _check_unit(results, recording, unit)
    decision = Decision(
        recording=recording,
        unit=unit,
        action=action,
        reason=reason,
        author=author or getpass.getuser(),
        date=date.today().isoformat(),
        sha256=str(row.get("sha256", "") or ""),
        **values,
    )
    path = Path(curation) if curation is not None else results / CURATION_FILE
    write_curation([*read_curation(path), decision], path)
    return decision


def _recording_row(results: Path, recording: str) -> dict[str, Any]:
    table = _read_table(results / "recordings.csv")
    rows = table[table["recording"].astype(str) == recording]
    if rows.empty:
        raise BadParameterError(
            f"no recording {recording!r} in recordings.csv"
            f"{_closest(recording, table['recording'].astype(str))}", results
        )
    return rows.iloc[0].fillna("").to_dict()


def _check_unit(results: Path, recording: str, unit: str) -> None:
    table = _read_table(results / "units.csv")
    mine = (table["recording"].astype(str) == recording) & (table["unit"].astype(str) == unit)
    if not mine.any():
        known = table.loc[table["recording"].astype(str) == recording, "unit"].astype(str)
        raise BadParameterError(
            f"no unit {unit!r} of recording {recording!r} in units.csv{_closest(unit, known)}",
            results,
        )


def _closest(name: str, known: Iterable[str]) -> str:
    """A hint naming the known names most like ``name`` (or all of them when few)."""
    names = sorted(set(known))
    # a short form of a long name ("drn01" for "drn01_5ht_clock") first, then look-alikes
    close = ([n for n in names if n.startswith(name)][:3]
             or difflib.get_close_matches(name, names, n=3, cutoff=0.4)
             or (names if len(names) <= 5 else []))
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise BadParameterError("not found; run 'rapheunit analyze' first", path)
    return pd.read_csv(path, dtype={"recording": str, "unit": str})


def for_recording(decisions: Sequence[Decision], name: str) -> list[Decision]:
    """The decisions about recording ``name``."""
    return [d for d in decisions if d.recording == name]


def unknown_recordings(decisions: Sequence[Decision], names: Iterable[str]) -> list[str]:
    """One warning per decision naming a recording that is not among ``names``."""
    known = set(names)
    return [f"stale curation: {d.note} (no recording {d.recording!r})"
            for d in decisions if d.recording not in known]


def apply_to_recording(
    recording: Recording, decisions: Sequence[Decision]
) -> tuple[Recording, list[Decision], list[str]]:
    """``recording`` changed as decided, with the decisions applied and the stale ones.

    Returns the curated recording, the decisions about it that apply (including
    the unit-table ones, applied later by :func:`apply_to_units`) and one
    warning per stale decision (nothing of a stale decision is applied).
    """
    mine = for_recording(decisions, recording.name)
    sha = recording.provenance.get("sha256", "")
    unit_ids = {unit.id for unit in recording.units}
    valid, stale = [], []
    for decision in mine:
        if decision.sha256 and sha and decision.sha256 != sha:
            stale.append(f"stale curation: {decision.note} (the file changed: sha256 differs)")
        elif decision.unit and decision.unit not in unit_ids:
            stale.append(f"stale curation: {decision.note} (no unit {decision.unit!r})")
        else:
            valid.append(decision)
    curated = recording
    for decision in valid:
        curated = _APPLY.get(decision.action, _unchanged)(curated, decision)
    return curated, valid, stale


def _unchanged(recording: Recording, decision: Decision) -> Recording:
    return recording


def _exclude(recording: Recording, decision: Decision) -> Recording:
    return replace(recording, units=[u for u in recording.units if u.id != decision.unit])


def _span(recording: Recording, decision: Decision) -> Recording:
    units = [
        u.without_spikes((u.spike_times < decision.start_s) | (u.spike_times >= decision.stop_s))
        if u.id == decision.unit else u
        for u in recording.units
    ]
    return replace(recording, units=units)


def _end(recording: Recording, decision: Decision) -> Recording:
    end_s = float(decision.time_s)
    units = [u.without_spikes(u.spike_times >= end_s) for u in recording.units]
    injections = [i for i in recording.injections if i.time_s < end_s]
    return replace(recording, t_stop=end_s, units=units, injections=injections)


def _baseline(recording: Recording, decision: Decision) -> Recording:
    provenance = recording.provenance | {
        CURATED_BASELINE_KEY: (float(decision.start_s), float(decision.stop_s))
    }
    return replace(recording, provenance=provenance)


def _move_injection(recording: Recording, decision: Decision) -> Recording:
    index = int(decision.injection) - 1
    if not 0 <= index < len(recording.injections):
        raise BadParameterError(
            f"curation of {decision.target}: no injection {decision.injection} "
            f"(the recording has {len(recording.injections)})"
        )
    injections = list(recording.injections)
    injections[index] = replace(injections[index], time_s=float(decision.time_s))
    return replace(recording, injections=_with_cumulative(injections))


def _add_injection(recording: Recording, decision: Decision) -> Recording:
    added = Injection(
        float(decision.time_s), str(decision.drug), float(decision.dose),
        str(decision.dose_unit), 0.0, label="curation", source="curation",
    )
    return replace(recording, injections=_with_cumulative([*recording.injections, added]))


def _with_cumulative(injections: list[Injection]) -> list[Injection]:
    """Injections in time order with each drug's running total recomputed."""
    totals: dict[tuple[str, str], float] = {}
    ordered = []
    for injection in sorted(injections, key=lambda i: i.time_s):
        key = (injection.drug, injection.dose_unit)
        totals[key] = totals.get(key, 0.0) + injection.dose
        ordered.append(replace(injection, cumulative_dose=totals[key]))
    return ordered


_APPLY = {
    "exclude": _exclude,
    "span": _span,
    "end": _end,
    "baseline": _baseline,
    "move_injection": _move_injection,
    "add_injection": _add_injection,
}


def apply_to_units(units: pd.DataFrame, decisions: Sequence[Decision]) -> pd.DataFrame:
    """``units`` with the curated verdicts and the population exclusions.

    Adds ``classification_auto`` (the automatic verdict), ``curated``,
    ``curation_reason`` and ``in_population`` (False for units the analyst
    excluded from the population tables).
    """
    units = units.copy()
    if "classification" in units.columns:
        units["classification_auto"] = units["classification"]
    units["curated"] = False
    units["curation_reason"] = ""
    units["in_population"] = True
    for decision in decisions:
        if not decision.unit:
            continue
        rows = units["unit"].astype(str) == decision.unit
        units.loc[rows, "curated"] = True
        units.loc[rows, "curation_reason"] = _joined(units.loc[rows, "curation_reason"], decision)
        if decision.action == "verdict":
            units.loc[rows, "classification"] = decision.verdict
        elif decision.action == "exclude_population":
            units.loc[rows, "in_population"] = False
    return units


def _joined(current: pd.Series, decision: Decision) -> np.ndarray:
    return np.array([f"{text} | {decision.note}" if text else decision.note for text in current])


def recording_columns(decisions: Sequence[Decision], stale: Sequence[str]) -> dict[str, Any]:
    """The ``curated``, ``curation_reason`` and ``curation_stale`` columns of ``recordings.csv``."""
    return {
        "curated": bool(decisions),
        "curation_reason": " | ".join(d.note for d in decisions),
        "curation_stale": " | ".join(stale),
    }
