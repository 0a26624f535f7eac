"""What a file holds, before any analysis: reader, span, units, event channels, signals.

This is what a Spike2 (or Plexon, NeuroExplorer, ...) user needs to choose
``--spike-channel`` and write a marker map: every event channel with the
first labels it holds, decoded as rapheunit will read them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rapheunit.core.spike2_keys import decode_marker
from rapheunit.io.load import LoadOptions, load_with_options, reader_for
from rapheunit.io.readers.filecheck import check_file_content

# Labels shown per event channel: enough to recognise the keys pressed or the doses typed.
FIRST_LABELS = 5


def inspect_file(path: str | Path, io: str | None = None) -> dict[str, Any]:
    """Describe ``path`` as plain data (JSON-ready).

    Returns
    -------
    dict
        ``file``, ``reader``, ``segments`` (``t_start_s``, ``t_stop_s``),
        ``units`` (``name``, ``id``, ``n_spikes``, ``waveforms``),
        ``event_channels`` (``name``, ``n_events``, ``first_labels`` as stored,
        ``first_decoded``) and ``signals`` (``name``, ``n_channels``,
        ``sampling_rate_hz``, ``units``, ``duration_s``).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cell.csv").write_text("unit,time_s\\na,0.5\\na,1.5\\nb,0.7\\n")
    >>> info = inspect_file(folder / "cell.csv")
    >>> info["reader"], [(u["name"], u["n_spikes"]) for u in info["units"]]
    ('spike_table', [('a', 2), ('b', 1)])
    """
    path = Path(path)
    reader = reader_for(path, io)
    check_file_content(path, reader)
    if reader in ("spike_table", "raw", "pynwb", "NWBIO", "OpenEphysIO"):
        return _from_recording(path, reader, io)
    from rapheunit.io.readers.neo_files import open_neo_io  # neo loads only for neo files

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block = _lazy_block(open_neo_io(path, reader))
    segments = block.segments
    return {
        "file": str(path),
        "reader": reader,
        "segments": [_span(segment) for segment in segments],
        "units": [_train(train) for segment in segments for train in segment.spiketrains],
        "event_channels": [_events(event) for segment in segments for event in segment.events],
        "signals": [_signal(signal) for segment in segments for signal in segment.analogsignals],
    }


def _lazy_block(io: Any) -> Any:
    try:
        return io.read_block(lazy=True)
    except Exception:  # neo raises a bare Exception for readers without a lazy mode
        return io.read_block()


def _from_recording(path: Path, reader: str, io: str | None) -> dict[str, Any]:
    """Readers rapheunit drives itself: describe what the loader reads."""
    recording = load_with_options(path, LoadOptions(io=io))
    return {
        "file": str(path),
        "reader": recording.reader or reader,
        "segments": [{"t_start_s": recording.t_start, "t_stop_s": recording.t_stop}],
        "units": [
            {"name": unit.id, "id": unit.id, "n_spikes": unit.n_spikes,
             "waveforms": _waveform_text(unit.waveforms, unit.sampling_rate_hz)}
            for unit in recording.units
        ],
        "event_channels": [],
        "signals": [],
        "markers": [(a.time_s, a.text) for a in recording.annotations][:FIRST_LABELS],
    }


def _span(segment: Any) -> dict[str, float]:
    return {
        "t_start_s": float(segment.t_start.rescale("s").magnitude),
        "t_stop_s": float(segment.t_stop.rescale("s").magnitude),
    }


def _train(train: Any) -> dict[str, Any]:
    rate = getattr(train, "sampling_rate", None)
    has_waveforms = rate is not None
    return {
        "name": str(train.name),
        "id": str(train.annotations.get("id", "")),
        "n_spikes": int(train.shape[0]),
        "waveforms": (
            f"yes, at {float(rate.rescale('Hz').magnitude):g} Hz" if has_waveforms else "no"
        ),
    }


def _events(event: Any) -> dict[str, Any]:
    labels = [str(label) for label in list(_loaded(event).labels)[:FIRST_LABELS]]
    return {
        "name": str(event.name),
        "n_events": int(event.shape[0]),
        "first_labels": labels,
        "first_decoded": [decode_marker(label) for label in labels if label.strip()],
    }


def _signal(signal: Any) -> dict[str, Any]:
    rate_hz = float(signal.sampling_rate.rescale("Hz").magnitude)
    return {
        "name": str(signal.name),
        "n_channels": int(signal.shape[1]),
        "sampling_rate_hz": rate_hz,
        "units": str(signal.units.dimensionality),
        "duration_s": float(signal.shape[0] / rate_hz),
    }


def _loaded(obj: Any) -> Any:
    return obj.load() if hasattr(obj, "load") else obj


def _waveform_text(waveforms: Any, rate_hz: float | None) -> str:
    if waveforms is None:
        return "no"
    return f"yes, {waveforms.shape[-1]} samples at {rate_hz:g} Hz"


def inspect_text(info: dict[str, Any]) -> str:
    """The description as lines for the terminal."""
    lines = [f"{info['file']}: read with {info['reader']}"]
    for index, span in enumerate(info["segments"]):
        lines.append(f"segment {index}: {span['t_start_s']:g}-{span['t_stop_s']:g} s")
    lines.append(f"units ({len(info['units'])}):")
    lines += [
        f"  {u['name']} (id {u['id'] or '-'}): {u['n_spikes']} spikes, waveforms {u['waveforms']}"
        for u in info["units"]
    ]
    lines.append(f"event channels ({len(info['event_channels'])}):")
    for event in info["event_channels"]:
        labels = ", ".join(repr(label) for label in event["first_labels"]) or "no labels"
        decoded = ", ".join(repr(label) for label in event["first_decoded"])
        lines.append(
            f"  {event['name']!r}: {event['n_events']} events; first labels {labels}"
            + (f" (read as {decoded})" if decoded and decoded != labels else "")
        )
    lines.append(f"analog signals ({len(info['signals'])}):")
    lines += [
        f"  {s['name']}: {s['n_channels']} channel(s) at {s['sampling_rate_hz']:g} Hz in "
        f"{s['units']}, {s['duration_s']:g} s"
        for s in info["signals"]
    ]
    if info.get("markers"):
        shown = "; ".join(f"{time_s:g} s {text!r}" for time_s, text in info["markers"])
        lines.append(f"first markers: {shown}")
    return "\n".join(lines)
