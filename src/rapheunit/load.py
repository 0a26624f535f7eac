"""Load a recording from any supported file into a :class:`~rapheunit.model.Recording`.

The neo reader is chosen explicitly from the file extension (never through
``neo.io.get_io``, which picks ``CedIO`` for ``.smr`` when sonpy is installed).
Spike-time tables (``unit,time_s``) and pynwb ``Units`` tables are read
without neo. Quantities stop here: the recording model is in float seconds.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rapheunit.doses import build_schedule
from rapheunit.errors import (
    NoUnitsError,
    RapheUnitError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from rapheunit.model import Recording, Unit

# Extension -> neo IO class name. Spike2 is named explicitly: get_io would pick
# CedIO for .smr when sonpy is installed, which loses markers and waveforms.
NEO_READERS: dict[str, str] = {
    ".smr": "Spike2IO",
    ".smrx": "CedIO",
    ".plx": "PlexonIO",
    ".nex": "NeuroExplorerIO",
    ".nix": "NixIO",
    ".h5": "NixIO",
    ".nwb": "NWBIO",
    ".abf": "AxonIO",
}
SPIKE_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
SPIKE_TABLE_COLUMNS = ("unit", "time_s")
# Readers that would execute code stored in a data file.
REFUSED_READERS = frozenset({"PickleIO"})
REFUSED_SUFFIXES = frozenset({".pkl", ".pickle"})
# Sidecars and companions that travel beside recordings but are not recordings.
COMPANION_SUFFIXES = (".doses.csv", ".raw.json", ".metadata.csv")
OPEN_EPHYS_MARKERS = {"structure.oebin": "OpenEphysBinaryIO", "settings.xml": "OpenEphysIO"}
PACKAGES_IN_PROVENANCE = ("rapheunit", "neo", "elephant", "numpy", "scipy", "quantities")


@dataclass(frozen=True)
class LoadOptions:
    """How to read a recording and its dose schedule (see :func:`load`)."""

    io: str | None = None
    spike_channels: tuple[str, ...] = ()
    doses: Any = None
    marker_map: Mapping[str, str] | None = None
    labels_are_cumulative: bool = False
    t_stop: float | None = None


@dataclass
class RawContent:
    """What a reader found, before the dose schedule is built."""

    units: list[Unit]
    marker_events: list[tuple[float, str]]
    t_start: float
    t_stop: float | None
    reader: str
    warnings: list[str] = field(default_factory=list)


def load(
    path: str | Path,
    *,
    io: str | None = None,
    spike_channels: Sequence[str] = (),
    doses: Any = None,
    marker_map: Mapping[str, str] | None = None,
    labels_are_cumulative: bool = False,
    t_stop: float | None = None,
) -> Recording:
    """Read one recording into the rapheunit model.

    Parameters
    ----------
    path : str or Path
        A recording file (``.smr``, ``.smrx``, ``.plx``, ``.nex``, ``.nix``,
        ``.h5``, ``.nwb``, ``.abf``, a ``unit,time_s`` CSV/TSV) or an Open
        Ephys folder.
    io : str, optional
        Name of a neo IO class to use instead of choosing by extension.
    spike_channels : sequence of str
        Names of event channels to turn into units (window-discriminator rigs).
    doses : path or DataFrame, optional
        Explicit dose table (``time_s,drug,dose,unit``); beats a sidecar and markers.
    marker_map : mapping, optional
        Marker code (e.g. Spike2 key ``"1"``) to label.
    labels_are_cumulative : bool
        Labels carry running totals rather than the amount injected.
    t_stop : float, optional
        End of the recording for spike tables, which carry no bounds.

    Returns
    -------
    Recording

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "cell.csv").write_text("unit,time_s\\na,0.5\\na,1.5\\nb,0.7\\n")
    >>> rec = load(folder / "cell.csv")
    >>> [u.id for u in rec.units], rec.t_stop
    (['a', 'b'], 1.5)
    """
    options = LoadOptions(
        io=io,
        spike_channels=tuple(spike_channels),
        doses=doses,
        marker_map=marker_map,
        labels_are_cumulative=labels_are_cumulative,
        t_stop=t_stop,
    )
    return load_with_options(Path(path), options)


def load_with_options(path: Path, options: LoadOptions) -> Recording:
    """:func:`load` with its options gathered in a :class:`LoadOptions`."""
    if not path.exists():
        raise UnreadableFileError("no such file or folder", path)
    content = _read_content(path, options)
    if not content.units:
        raise NoUnitsError(
            "no spike trains found (for an event channel holding spikes, "
            "pass --spike-channel NAME)",
            path,
        )
    t_stop = _recording_stop(content, options.t_stop, path)
    schedule = build_schedule(
        content.marker_events,
        doses=options.doses,
        recording_path=path,
        marker_map=options.marker_map,
        labels_are_cumulative=options.labels_are_cumulative,
    )
    return Recording(
        name=path.stem if path.is_file() else path.name,
        path=path,
        t_start=content.t_start,
        t_stop=t_stop,
        units=content.units,
        injections=schedule.injections,
        annotations=schedule.annotations,
        provenance=_provenance(path, content.reader, schedule.source),
        warnings=[*content.warnings, *schedule.warnings],
    )


def reader_for(path: Path, io: str | None = None) -> str:
    """Name of the reader used for ``path``: a neo IO class, ``"spike_table"`` or ``"pynwb"``.

    Examples
    --------
    >>> reader_for(Path("cell.SMR"))
    'Spike2IO'
    >>> reader_for(Path("cell.csv"))
    'spike_table'
    """
    if io is not None:
        if io in REFUSED_READERS:
            raise UnsupportedFormatError(f"reader {io} is refused: it can execute code", path)
        return io
    if path.is_dir():
        for marker, reader in OPEN_EPHYS_MARKERS.items():
            if any(path.rglob(marker)):
                return reader
        raise UnsupportedFormatError("folder is not an Open Ephys recording", path)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise UnsupportedFormatError(
            "pickle files are refused: loading them can execute code", path
        )
    if suffix in SPIKE_TABLE_SUFFIXES:
        return "spike_table"
    if suffix in NEO_READERS:
        return NEO_READERS[suffix]
    known = ", ".join(sorted({*NEO_READERS, *SPIKE_TABLE_SUFFIXES}))
    raise UnsupportedFormatError(f"unknown extension {path.suffix!r} (known: {known})", path)


def is_recording_candidate(path: Path) -> bool:
    """True for files and folders a folder search should try to load."""
    name = path.name.lower()
    if path.is_dir():
        return any((path / marker).exists() for marker in OPEN_EPHYS_MARKERS)
    if name.startswith(".") or name.endswith(COMPANION_SUFFIXES):
        return False
    return path.suffix.lower() in {*NEO_READERS, *SPIKE_TABLE_SUFFIXES, *REFUSED_SUFFIXES}


def _read_content(path: Path, options: LoadOptions) -> RawContent:
    reader = reader_for(path, options.io)
    if reader == "spike_table":
        return read_spike_table(path)
    if reader == "NWBIO":
        return _read_nwb(path, options)
    try:
        return _read_neo(path, reader, options)
    except RapheUnitError:
        raise
    except Exception as error:  # neo raises anything on a corrupt file
        raise UnreadableFileError(
            f"{reader} could not read it: {_one_line(error)}", path
        ) from error


def _recording_stop(content: RawContent, t_stop: float | None, path: Path) -> float:
    last_spike_s = max((u.spike_times[-1] for u in content.units if u.n_spikes), default=0.0)
    if t_stop is not None:
        if t_stop <= content.t_start:
            raise UnreadableFileError(f"t_stop {t_stop} s is not after the start", path)
        return float(t_stop)
    if content.t_stop is not None:
        return content.t_stop
    # Spike tables carry no bounds: the recording ends at its last spike.
    return float(last_spike_s)


# --- spike tables --------------------------------------------------------------------------


def read_spike_table(path: Path) -> RawContent:
    """Read a long-format ``unit,time_s`` table (CSV or TSV).

    Examples
    --------
    >>> import tempfile
    >>> table = Path(tempfile.mkdtemp()) / "t.tsv"
    >>> _ = table.write_text("unit\\ttime_s\\n7\\t0.25\\n7\\t0.5\\n")
    >>> content = read_spike_table(table)
    >>> content.units[0].id, content.units[0].spike_times.tolist()
    ('7', [0.25, 0.5])
    """
    table = _read_table_file(path)
    missing = [c for c in SPIKE_TABLE_COLUMNS if c not in table.columns]
    if missing:
        found = ", ".join(map(str, table.columns)) or "nothing"
        raise UnreadableFileError(
            f"spike table needs columns unit,time_s; missing {', '.join(missing)} (found {found})",
            path,
        )
    times = pd.to_numeric(table["time_s"], errors="coerce").to_numpy(dtype=np.float64)
    bad_rows = np.flatnonzero(~np.isfinite(times) | (times < 0))
    if bad_rows.size:
        row = int(bad_rows[0])
        raise UnreadableFileError(
            f"time_s must be a finite number >= 0; line {row + 2} has "
            f"{table['time_s'].iloc[row]!r} ({bad_rows.size} bad rows)",
            path,
        )
    unit_names = table["unit"].astype(str).str.strip().to_numpy()
    units = [Unit(str(name), times[unit_names == name]) for name in pd.unique(unit_names)]
    return RawContent(units=units, marker_events=[], t_start=0.0, t_stop=None, reader="spike_table")


def _read_table_file(path: Path) -> pd.DataFrame:
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            header = handle.readline()
        separator = "\t" if "\t" in header else ","
        table = pd.read_csv(path, sep=separator, dtype={"unit": str}, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UnreadableFileError(
            f"not a readable CSV/TSV table: {_one_line(error)}", path
        ) from error
    table.columns = [str(c).strip() for c in table.columns]
    return table


# --- neo ------------------------------------------------------------------------------------


def _neo_io(path: Path, reader: str) -> Any:
    import neo.io

    io_class = getattr(neo.io, reader, None)
    if io_class is None or not isinstance(io_class, type):
        raise UnsupportedFormatError(f"neo has no reader named {reader!r}", path)
    if reader == "PlexonIO":
        return _quiet_plexon_io(path)
    if reader == "NixIO":
        return io_class(str(path), mode="ro")
    if reader == "CedIO":
        warnings.warn(
            f"{path}: .smrx is read with CedIO, which gives neither markers nor waveforms",
            stacklevel=3,
        )
    return io_class(str(path))


def _quiet_plexon_io(path: Path) -> Any:
    """PlexonIO without its progress bars (they would flood batch output)."""
    from neo.io import PlexonIO
    from neo.io.basefromrawio import BaseFromRaw
    from neo.rawio.plexonrawio import PlexonRawIO

    class QuietPlexonIO(PlexonIO):
        def __init__(self, filename: str) -> None:
            PlexonRawIO.__init__(self, filename, progress_bar=False)
            BaseFromRaw.__init__(self, filename)

    return QuietPlexonIO(str(path))


def _read_block(io: Any) -> tuple[Any, list[str]]:
    """``read_block`` with waveforms, retrying without where neo refuses them."""
    try:
        return io.read_block(load_waveforms=True), []
    except TypeError:  # reader without a load_waveforms argument
        return io.read_block(), []
    except ValueError as error:
        if "waveform" not in str(error).lower():
            raise
        return io.read_block(), [f"{_one_line(error)}; read without waveforms"]


def _read_neo(path: Path, reader: str, options: LoadOptions) -> RawContent:
    io = _neo_io(path, reader)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block, notes = _read_block(io)
    return block_content(block, reader, options.spike_channels, notes)


def block_content(
    block: Any,
    reader: str,
    spike_channels: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> RawContent:
    """Turn a neo ``Block`` into units and marker events on one time axis.

    Segments (Spike2 pauses) are concatenated: a segment that starts before the
    previous one ended is shifted to begin where it ended.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> seg = neo.Segment()
    >>> seg.spiketrains.append(neo.SpikeTrain([1, 2] * pq.s, t_stop=5 * pq.s, name="u"))
    >>> block = neo.Block(); block.segments.append(seg)
    >>> content = block_content(block, "memory")
    >>> content.units[0].spike_times.tolist(), content.t_stop
    ([1.0, 2.0], 5.0)
    """
    pieces: dict[str, list[Any]] = {}
    events: list[tuple[float, str]] = []
    offset_s = 0.0
    previous_stop_s: float | None = None
    t_start_s: float | None = None
    wanted_events = set(spike_channels)
    for segment in block.segments:
        seg_start = float(segment.t_start.rescale("s").magnitude)
        seg_stop = float(segment.t_stop.rescale("s").magnitude)
        offset_s = (
            0.0
            if previous_stop_s is None or seg_start >= previous_stop_s
            else (previous_stop_s - seg_start)
        )
        t_start_s = seg_start + offset_s if t_start_s is None else t_start_s
        previous_stop_s = seg_stop + offset_s
        for key, train in _segment_trains(segment, wanted_events):
            pieces.setdefault(key, []).append((train, offset_s))
        events.extend(_segment_markers(segment, wanted_events, offset_s))
    found_events = {
        str(e.name) for s in block.segments for e in s.events if str(e.name) in wanted_events
    }
    missing = wanted_events - found_events
    if missing:
        raise NoUnitsError(f"no event channel named {', '.join(sorted(missing))}")
    units = _units_from_pieces(pieces)
    return RawContent(
        units=units,
        marker_events=sorted(events),
        t_start=t_start_s if t_start_s is not None else 0.0,
        t_stop=previous_stop_s,
        reader=reader,
        warnings=list(notes),
    )


def _segment_trains(segment: Any, wanted_events: set[str]) -> list[tuple[str, Any]]:
    trains = [(_train_key(train), train) for train in segment.spiketrains]
    trains += [
        (f"{event.name}", event) for event in segment.events if str(event.name) in wanted_events
    ]
    return trains


def _train_key(train: Any) -> str:
    name = str(train.name) if train.name else "unit"
    channel_id = train.annotations.get("id")
    return f"{name}#{channel_id}" if channel_id is not None else name


def _segment_markers(
    segment: Any,
    wanted_events: set[str],
    offset_s: float,
) -> list[tuple[float, str]]:
    """Labelled events as (time, raw label); decoding is the schedule builder's job."""
    markers = []
    for event in segment.events:
        if str(event.name) in wanted_events:
            continue
        times = event.times.rescale("s").magnitude + offset_s
        for time_s, label in zip(times, event.labels, strict=False):
            text = str(label).strip()
            if text:  # unlabelled events are TTL pulses, not markers
                markers.append((float(time_s), text))
    return markers


def _units_from_pieces(pieces: dict[str, list[Any]]) -> list[Unit]:
    names = [key.split("#", 1)[0] for key in pieces]
    units = []
    for key, parts in pieces.items():
        name = key.split("#", 1)[0]
        # Unique names stay readable; shared ones (Spike2 WaveMark sort codes) keep the neo id.
        unit_id = name if names.count(name) == 1 else key
        units.append(_unit_from_parts(unit_id, parts))
    return units


def _unit_from_parts(unit_id: str, parts: list[tuple[Any, float]]) -> Unit:
    times = np.concatenate([_times_s(obj) + offset for obj, offset in parts])
    first = parts[0][0]
    waveforms, rate_hz = _waveforms_uv(parts)
    annotations = {k: _plain(v) for k, v in getattr(first, "annotations", {}).items()}
    return Unit(
        unit_id,
        times,
        waveforms=waveforms,
        sampling_rate_hz=rate_hz,
        waveform_units="uV" if waveforms is not None else "",
        annotations=annotations,
    )


def _times_s(obj: Any) -> np.ndarray:
    return np.asarray(obj.times.rescale("s").magnitude, dtype=np.float64).ravel()


def _waveforms_uv(parts: list[tuple[Any, float]]) -> tuple[np.ndarray | None, float | None]:
    """Waveforms of the channel with the largest mean deflection, in microvolts."""
    blocks = [getattr(obj, "waveforms", None) for obj, _ in parts]
    if any(w is None or np.size(w) == 0 for w in blocks):
        return None, None
    first = parts[0][0]
    rate = getattr(first, "sampling_rate", None)
    if rate is None:
        return None, None
    stacked = np.concatenate([w.rescale("uV").magnitude for w in blocks], axis=0)
    if stacked.ndim == 3:
        mean = stacked.mean(axis=0)
        best_channel = int(np.argmax(np.ptp(mean, axis=-1)))
        stacked = stacked[:, best_channel, :]
    return stacked.astype(np.float64), float(rate.rescale("Hz").magnitude)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# --- NWB -------------------------------------------------------------------------------------


def _read_nwb(path: Path, options: LoadOptions) -> RawContent:
    """neo's NWBIO first; pynwb's Units table where neo fails or finds no units."""
    neo_error = ""
    try:
        content = _read_neo(path, "NWBIO", options)
        if content.units:
            return content
    except Exception as error:  # NWBIO rejects many files written by other tools
        neo_error = _one_line(error)
    try:
        content = read_nwb_units(path)
    except Exception as error:
        detail = f" (neo: {neo_error})" if neo_error else ""
        raise UnreadableFileError(
            f"not a readable NWB file: {_one_line(error)}{detail}", path
        ) from error
    return content


def read_nwb_units(path: Path) -> RawContent:
    """Read the ``Units`` table (and ``AnnotationSeries`` markers) with pynwb."""
    from pynwb import NWBHDF5IO
    from pynwb.misc import AnnotationSeries

    with warnings.catch_warnings(), NWBHDF5IO(str(path), "r") as nwb_io:
        warnings.simplefilter("ignore")
        nwbfile = nwb_io.read()
        units = _nwb_units(nwbfile.units) if nwbfile.units is not None else []
        markers = [
            (float(t), str(label).strip())
            for series in nwbfile.objects.values()
            if isinstance(series, AnnotationSeries)
            for t, label in zip(series.timestamps[:], series.data[:], strict=False)
            if str(label).strip()
        ]
    return RawContent(
        units=units, marker_events=sorted(markers), t_start=0.0, t_stop=None, reader="pynwb"
    )


def _nwb_units(table: Any) -> list[Unit]:
    frame = table.to_dataframe()
    name_column = next((c for c in ("unit_name", "name", "label") if c in frame.columns), None)
    units = []
    for row_id, row in frame.iterrows():
        unit_id = str(row[name_column]) if name_column else str(row_id)
        mean = row.get("waveform_mean") if "waveform_mean" in frame.columns else None
        waveform, rate_hz = _nwb_mean_waveform(table, mean)
        units.append(
            Unit(
                unit_id,
                np.asarray(row["spike_times"], dtype=np.float64),
                waveforms=waveform,
                sampling_rate_hz=rate_hz,
                waveform_units="uV" if waveform is not None else "",
                waveforms_are_mean=waveform is not None,
            )
        )
    return units


def _nwb_mean_waveform(table: Any, mean: Any) -> tuple[np.ndarray | None, float | None]:
    rate_hz = getattr(table, "waveform_rate", None)
    if mean is None or rate_hz is None:
        return None, None
    samples = np.asarray(mean, dtype=np.float64)
    if samples.ndim == 2:  # (n_samples, n_electrodes): keep the largest
        samples = samples[:, int(np.argmax(np.ptp(samples, axis=0)))]
    scale = NWB_TO_MICROVOLT.get(str(getattr(table, "waveform_unit", "volts")), 1.0)
    return samples[None, :] * scale, float(rate_hz)


# NWB stores waveform_mean in volts by default.
NWB_TO_MICROVOLT = {
    "volts": 1e6,
    "V": 1e6,
    "millivolts": 1e3,
    "mV": 1e3,
    "microvolts": 1.0,
    "uV": 1.0,
}


# --- provenance -------------------------------------------------------------------------------


def _provenance(path: Path, reader: str, dose_source: str) -> dict[str, Any]:
    return {
        "path": str(path),
        "reader": reader,
        "size_bytes": _size_bytes(path),
        "sha256": sha256_of(path),
        "dose_source": dose_source,
        "versions": package_versions(),
    }


def _size_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file())


def sha256_of(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file, or of every file in a folder in path order.

    Examples
    --------
    >>> import tempfile
    >>> file = Path(tempfile.mkdtemp()) / "x"
    >>> _ = file.write_bytes(b"abc")
    >>> sha256_of(file)[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(chunk_bytes), b""):
                digest.update(chunk)
    return digest.hexdigest()


def package_versions(names: Sequence[str] = PACKAGES_IN_PROVENANCE) -> dict[str, str]:
    """Installed versions of the packages that shape the results."""
    return {name: _version(name) for name in names}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
