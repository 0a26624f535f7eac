"""Short text and HTML summaries of recordings, units and batches for Jupyter.

Only text and tables are made here, so the data model needs no plotting library.
A rate thumbnail per unit is drawn when :mod:`rapheunit.viz` has registered a
renderer with :func:`set_thumbnail_renderer` (it does so when imported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from rapheunit.core.epochs import baseline_window, rate_in_window

if TYPE_CHECKING:
    from rapheunit.core.model import Recording, Unit

ThumbnailRenderer = Callable[["Recording", "Unit"], str]
_thumbnail_renderer: ThumbnailRenderer | None = None


def set_thumbnail_renderer(renderer: ThumbnailRenderer | None) -> None:
    """Register the function that draws a unit's rate thumbnail (a data URI), or remove it."""
    global _thumbnail_renderer
    _thumbnail_renderer = renderer


def format_number(value: Any) -> str:
    """A number as a person reads it: ``nan`` as an em dash, floats to 4 significant digits.

    Examples
    --------
    >>> format_number(1.23456), format_number(float("nan")), format_number(3)
    ('1.235', '—', '3')
    """
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return "—" if not np.isfinite(value) else f"{float(value):.4g}"
    return str(value)


def _cell(value: Any) -> str:
    return f"<td>{escape(format_number(value))}</td>"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _thumbnail(recording: Recording, unit: Unit) -> str:
    if _thumbnail_renderer is None:
        return ""
    alt = escape(f"rate of {unit.id}", quote=True)
    return f'<img src="{_thumbnail_renderer(recording, unit)}" alt="{alt}">'


def _span(unit: Unit) -> tuple[float, float]:
    if not unit.n_spikes:
        return float("nan"), float("nan")
    return float(unit.spike_times[0]), float(unit.spike_times[-1])


def unit_rate_hz(unit: Unit) -> float:
    """Mean rate between the unit's first and last spike (``nan`` with fewer than 2 spikes).

    Examples
    --------
    >>> from rapheunit.core.model import Unit
    >>> unit_rate_hz(Unit("u", np.array([1.0, 2.0, 3.0])))
    1.0
    """
    first_s, last_s = _span(unit)
    if unit.n_spikes < 2 or last_s <= first_s:
        return float("nan")
    return (unit.n_spikes - 1) / (last_s - first_s)


def unit_text(unit: Unit) -> str:
    """One line describing a unit (its ``repr``).

    Examples
    --------
    >>> from rapheunit.core.model import Unit
    >>> unit_text(Unit("u1", np.array([1.0, 2.0, 3.0])))
    '<Unit u1: 3 spikes, 1-3 s, 1 Hz, no waveforms>'
    """
    first_s, last_s = _span(unit)
    waveforms = "no waveforms"
    if unit.has_waveforms:
        waveforms = "mean waveform" if unit.waveforms_are_mean else "waveform per spike"
    return (
        f"<Unit {unit.id}: {unit.n_spikes} spikes, {format_number(first_s)}-"
        f"{format_number(last_s)} s, {format_number(unit_rate_hz(unit))} Hz, {waveforms}>"
    )


def recording_text(recording: Recording) -> str:
    """One line describing a recording (its ``repr``).

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Recording, Unit
    >>> recording_text(Recording("r", Path("r.csv"), 0.0, 60.0, [Unit("u", np.arange(3.0))]))
    '<Recording r: 60 s, 1 unit(s), 0 injection(s), from r.csv>'
    """
    return (
        f"<Recording {recording.name}: {format_number(recording.duration_s)} s, "
        f"{len(recording.units)} unit(s), {len(recording.injections)} injection(s), "
        f"from {recording.path}>"
    )


def recording_html(recording: Recording) -> str:
    """HTML summary of a recording: its units (spikes, rates) and its injections.

    Examples
    --------
    >>> from pathlib import Path
    >>> from rapheunit.core.model import Recording, Unit
    >>> rec = Recording("r<1>", Path("r"), 0.0, 60.0, [Unit("u", np.arange(0.0, 60.0, 0.5))])
    >>> html = recording_html(rec)
    >>> "r&lt;1&gt;" in html, "<td>u</td><td>120</td><td>2</td>" in html
    (True, True)
    """
    baseline = baseline_window(recording)
    units = _table(
        ["unit", "spikes", "baseline rate (Hz)", "waveforms"],
        [
            (u.id, u.n_spikes, rate_in_window(u.spike_times, baseline), u.has_waveforms)
            for u in recording.units
        ],
    )
    thumbnails = "".join(_thumbnail(recording, unit) for unit in recording.units)
    injections = _table(
        ["time (s)", "drug", "dose", "unit", "cumulative"],
        [
            (i.time_s, i.drug, i.dose, i.dose_unit, i.cumulative_dose)
            for i in recording.injections
        ],
    )
    head = escape(recording_text(recording))
    return f"<div class='rapheunit-recording'><p>{head}</p>{units}{thumbnails}{injections}</div>"


def unit_html(unit: Unit, recording: Recording | None = None) -> str:
    """HTML summary of one unit; with its ``recording``, the baseline rate and thumbnail too.

    Examples
    --------
    >>> from rapheunit.core.model import Unit
    >>> "&lt;b&gt;" in unit_html(Unit("<b>", np.array([1.0, 2.0])))
    True
    """
    first_s, last_s = _span(unit)
    rows: list[tuple[str, Any]] = [
        ("spikes", unit.n_spikes),
        ("first spike (s)", first_s),
        ("last spike (s)", last_s),
        ("rate over its span (Hz)", unit_rate_hz(unit)),
        ("waveforms", unit.has_waveforms),
    ]
    thumbnail = ""
    if recording is not None:
        baseline = baseline_window(recording)
        rows.append(("baseline rate (Hz)", rate_in_window(unit.spike_times, baseline)))
        thumbnail = _thumbnail(recording, unit)
    table = _table(["unit", unit.id], rows)
    return f"<div class='rapheunit-unit'>{table}{thumbnail}</div>"


def batch_html(recordings: Any, n_units: int) -> str:
    """HTML summary of a batch: one row per recording with its status and error.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"recording": ["a"], "status": ["failed"],
    ...     "error": ["<bad> file"], "n_units": [0]})
    >>> "&lt;bad&gt; file" in batch_html(table, 0)
    True
    """
    columns = ["recording", "status", "n_units", "error"]
    rows = [[record.get(c, "") for c in columns] for record in recordings.to_dict("records")]
    head = f"<p>{len(rows)} recording(s), {n_units} unit(s)</p>"
    return f"<div class='rapheunit-batch'>{head}{_table(columns, rows)}</div>"
