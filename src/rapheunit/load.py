"""Load a recording from any supported file into a :class:`~rapheunit.model.Recording`.

The neo reader is chosen explicitly from the file extension (never through
``neo.io.get_io``, which picks ``CedIO`` for ``.smr`` when sonpy is installed).
Spike-time tables (``unit,time_s``) and pynwb ``Units`` tables are read
without neo. Quantities stop here: the recording model is in float seconds.

Checks at the boundary
----------------------
Before a reader sees a file it must be non-empty, its first bytes must match
the format its extension names (a CSV renamed ``.smr``, a PNG named ``.nix``
are refused with what the content really is), pickles are refused whatever
their name, and HDF5 (NIX, NWB) and Spike2 files whose header points past the
end of the file are refused as truncated. After reading:

* spike times that are NaN or infinite: the file is refused;
* spike times out of time order: sorted, with a warning;
* exact duplicate spike times within a unit: the copies are dropped, with a
  warning (a neuron cannot fire twice at one instant; duplicates come from
  exports or merged segments and would add zero-length ISIs);
* spikes outside the recording, ``t < t_start`` or ``t > t_stop``: dropped,
  with a warning (a spike at exactly ``t_stop`` is kept: neo's bounds are
  closed, and the half-open analysis windows never count it). When no spike at
  all is inside, the file is refused (the time unit or ``t_stop`` is wrong);
* a unit with no spikes: kept (rate 0, firing features NaN), with a warning;
  a recording whose units are all empty is refused (:class:`NoUnitsError`);
* an injection before ``t_start`` (no drug-free baseline) or at or after
  ``t_stop`` (no response window): kept, with a warning naming its time;
* a file holding fewer spikes than its header counts (Plexon, or any rawio
  reader whose header gives counts): refused as truncated;
* per-spike waveforms whose row count differs from the spike count: not used,
  with a warning;
* spike trains a reader leaves without distinct names (neo's NWBIO) stay
  separate units, named by position.

NWB files are read through pynwb's ``Units`` table first (it keeps unit names,
mean waveforms and observation intervals, and never loads the raw signal);
neo's NWBIO is the fallback, and the reader for ``spike_channels``.

Warnings are one-line strings in :attr:`Recording.warnings`.

Resource limits
---------------
Module attributes, so a deployment (or a test) can change them:
:data:`MAX_SPIKES_PER_RECORDING`, :data:`MAX_WAVEFORM_BYTES`,
:data:`MAX_SIGNAL_BYTES` and :data:`MAX_SPIKE_TABLE_BYTES`. Sizes are
estimated before anything large is read: spike and waveform counts from the
neo rawio header (readers are used lazily, so raw signals are never loaded),
dataset shapes in HDF5 files, the file size of spike tables. Too many spikes
refuse the recording (:class:`~rapheunit.errors.RecordingTooLargeError`);
too many waveform bytes drop the waveforms with a warning where the reader can
skip them (rawio readers; pynwb never loads per-spike waveforms), and refuse
the file where it cannot (NixIO, which also loads every raw signal: more than
:data:`MAX_SIGNAL_BYTES` of it refuses the file).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from rapheunit.doses import build_schedule
from rapheunit.errors import (
    BadParameterError,
    NoUnitsError,
    RapheUnitError,
    RecordingTooLargeError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from rapheunit.model import Injection, Recording, Unit, check_recording_name

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

# --- resource limits --------------------------------------------------------------------------
# 50 million spikes are 400 MB of float64 times, far beyond a long multi-unit DRN session.
MAX_SPIKES_PER_RECORDING = 50_000_000
# Waveforms above this size (as float64) are dropped with a warning rather than loaded.
MAX_WAVEFORM_BYTES = 2 * 1024**3
# Raw signal a non-lazy reader (NixIO, NWBIO) would load together with the spikes.
MAX_SIGNAL_BYTES = 2 * 1024**3
# A spike table above this size is refused before reading (~45 million "unit,time_s" rows).
MAX_SPIKE_TABLE_BYTES = 1024**3
FLOAT64_BYTES = 8
TRUNCATED_ADVICE = "the copy or the acquisition did not finish: copy or export it again"


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
        With one-line ``warnings`` for everything the checks at the boundary
        changed (see the module docstring).

    Raises
    ------
    RapheUnitError
        A subclass naming the file, what was expected and what was found.

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
        raise UnreadableFileError("no such file or folder; check the path", path)
    name = recording_name(path)
    reader = reader_for(path, options.io)
    check_file_content(path, reader)
    content = _read_content(path, reader, options)
    if not content.units:
        raise NoUnitsError(
            "no spike trains found (for an event channel holding spikes, "
            "pass --spike-channel NAME)",
            path,
        )
    t_stop = _recording_stop(content, options.t_stop, path)
    units, unit_warnings = checked_units(content.units, content.t_start, t_stop, path)
    schedule = build_schedule(
        content.marker_events,
        doses=options.doses,
        recording_path=path,
        marker_map=options.marker_map,
        labels_are_cumulative=options.labels_are_cumulative,
    )
    return Recording(
        name=name,
        path=path,
        t_start=content.t_start,
        t_stop=t_stop,
        units=units,
        injections=schedule.injections,
        annotations=schedule.annotations,
        provenance=_provenance(path, content.reader, schedule.source),
        warnings=[
            *content.warnings,
            *unit_warnings,
            *schedule.warnings,
            *injection_warnings(schedule.injections, content.t_start, t_stop),
        ],
    )


def recording_name(path: Path) -> str:
    """The recording's name: the file stem, or the folder's own name.

    Names never come from inside a file (a NIX block name, an NWB identifier),
    so they cannot carry a path; :func:`~rapheunit.model.check_recording_name`
    refuses the rest.

    Examples
    --------
    >>> recording_name(Path("data/rat7_cell2.smr"))
    'rat7_cell2'
    """
    name = path.resolve().name if path.is_dir() else path.stem
    try:
        return check_recording_name(name)
    except BadParameterError as error:
        raise BadParameterError(error.reason, path) from error


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
        if io.strip().casefold() in {name.casefold() for name in REFUSED_READERS}:
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


def _read_content(path: Path, reader: str, options: LoadOptions) -> RawContent:
    try:
        if reader == "spike_table":
            return read_spike_table(path)
        if reader == "NWBIO":
            return _read_nwb(path, options)
        return _read_neo(path, reader, options)
    except RapheUnitError as error:
        if error.path is None:  # raised below the loader: name the file
            raise type(error)(error.reason, path) from error
        raise


def _recording_stop(content: RawContent, t_stop: float | None, path: Path) -> float:
    last_spike_s = max((u.spike_times[-1] for u in content.units if u.n_spikes), default=0.0)
    if t_stop is not None:
        if not t_stop > content.t_start:
            raise BadParameterError(
                f"t_stop {t_stop} s must be after the recording start ({content.t_start} s)", path
            )
        return float(t_stop)
    if content.t_stop is not None:
        return content.t_stop
    # Spike tables carry no bounds: the recording ends at its last spike.
    return float(last_spike_s)


# --- what a file holds, before any reader sees it ------------------------------------------------


@dataclass(frozen=True)
class FileSignature:
    """Bytes that identify a file format at one of ``offsets``.

    ``suffix`` is the extension to rename a file to when rapheunit reads the format.
    """

    description: str
    magic: bytes
    offsets: tuple[int, ...] = (0,)
    suffix: str = ""

    def matches(self, head: bytes) -> bool:
        """True when ``head`` (the first bytes of a file) carries this signature."""
        return any(head[offset : offset + len(self.magic)] == self.magic for offset in self.offsets)


# HDF5 may sit after a user block of 512, 1024, 2048... bytes (HDF5 spec, "Format Signature").
HDF5 = FileSignature(
    "an HDF5 file (NIX or NWB)", b"\x89HDF\r\n\x1a\n", (0, 512, 1024, 2048), ".nix or .nwb"
)
SPIKE2 = FileSignature("a Spike2 .smr file", b"(C) CED 87", (2,), ".smr")
PLEXON = FileSignature("a Plexon .plx file", b"PLEX", (0,), ".plx")
NEUROEXPLORER = FileSignature("a NeuroExplorer .nex file", b"NEX1", (0,), ".nex")
AXON = FileSignature("an Axon .abf file", b"ABF", (0,), ".abf")
# Pickle protocols 2-5 start with PROTO (0x80) and the protocol number.
PICKLE = FileSignature("a Python pickle", b"\x80", (0,))
TEXT = FileSignature("a text table", b"", (0,), ".csv")
KNOWN_SIGNATURES = (
    HDF5,
    SPIKE2,
    PLEXON,
    NEUROEXPLORER,
    AXON,
    FileSignature("a PNG image", b"\x89PNG\r\n\x1a\n"),
    FileSignature("a JPEG image", b"\xff\xd8\xff"),
    FileSignature("a PDF document", b"%PDF"),
    FileSignature("a ZIP archive (or an .xlsx/.docx file)", b"PK\x03\x04"),
    FileSignature("a gzip archive", b"\x1f\x8b"),
    FileSignature("UTF-16 text (save it as UTF-8)", b"\xff\xfe"),
    FileSignature("UTF-16 text (save it as UTF-8)", b"\xfe\xff"),
)
EXPECTED_SIGNATURE: dict[str, FileSignature] = {
    "spike_table": TEXT,
    "NixIO": HDF5,
    "NWBIO": HDF5,
    "Spike2IO": SPIKE2,
    "PlexonIO": PLEXON,
    "NeuroExplorerIO": NEUROEXPLORER,
    "AxonIO": AXON,
}
HEAD_BYTES = 4096


def sniff_format(head: bytes) -> FileSignature | None:
    """The format the first bytes of a file show: a known signature, text, or None.

    Examples
    --------
    >>> sniff_format(b"\\x89PNG\\r\\n\\x1a\\n....").description
    'a PNG image'
    >>> sniff_format(b"unit,time_s\\na,0.5\\n") is TEXT
    True
    >>> sniff_format(b"\\x00\\x01\\x02") is None
    True
    """
    if head[:1] == PICKLE.magic and head[1:2] in {bytes([p]) for p in range(2, 6)}:
        return PICKLE
    found = next((sig for sig in KNOWN_SIGNATURES if sig.matches(head)), None)
    if found is not None:
        return found
    return TEXT if head and b"\x00" not in head else None


def check_file_content(path: Path, reader: str) -> None:
    """Refuse an empty, mislabelled, pickled or truncated file before its reader opens it.

    Raises :class:`UnreadableFileError` (empty, wrong content for the
    extension, truncated) or :class:`UnsupportedFormatError` (pickle data).
    Folders and readers without a known signature are only checked for pickles.

    Examples
    --------
    >>> import tempfile
    >>> fake = Path(tempfile.mkdtemp()) / "cell.smr"
    >>> _ = fake.write_text("unit,time_s\\na,0.5\\n")
    >>> try:
    ...     check_file_content(fake, "Spike2IO")
    ... except UnreadableFileError as error:
    ...     print(error.reason.split("; ")[0])
    not a Spike2 .smr file: its content is a text table
    """
    if path.is_dir():
        return
    expected = EXPECTED_SIGNATURE.get(reader)
    wanted = expected.description if expected else f"a file {reader} reads"
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFileError(
            f"empty file (0 bytes), not a readable recording ({wanted} expected); "
            + TRUNCATED_ADVICE,
            path,
        )
    head = _head(path)
    found = sniff_format(head)
    if found is PICKLE:
        raise UnsupportedFormatError(
            "the content is a Python pickle, which is refused: loading it could execute code",
            path,
        )
    if expected is None:
        return
    if found is not expected:
        raise UnreadableFileError(_mismatch(expected, found, head), path)
    truncation = TRUNCATION_CHECKS.get(expected)
    problem = None if truncation is None else truncation(path, head, size)
    if problem is not None:
        raise UnreadableFileError(
            f"truncated file: {problem}; {TRUNCATED_ADVICE}",
            path,
        )


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def _mismatch(expected: FileSignature, found: FileSignature | None, head: bytes) -> str:
    if found is None:
        problem = "holds binary data" if expected is TEXT else "lacks that format's signature"
        return (
            f"not {expected.description}: it {problem} (first bytes {head[:8].hex(' ')}); "
            "the file is corrupt or in another format"
        )
    if found is TEXT:
        advice = "if it is a unit,time_s spike table, rename it to .csv"
    elif found.suffix:
        advice = f"rename it to {found.suffix}"
    else:
        advice = "replace it with the recording or remove it from the inputs"
    return f"not {expected.description}: its content is {found.description}; {advice}"


def _read_struct(handle: BinaryIO, offset: int, layout: Any) -> np.void | None:
    """One record of numpy ``layout`` at ``offset``, or None past the end of the file."""
    dtype = np.dtype(layout)
    handle.seek(offset)
    raw = handle.read(dtype.itemsize)
    return np.frombuffer(raw, dtype)[0] if len(raw) == dtype.itemsize else None


def _hdf5_truncation(path: Path, head: bytes, size: int) -> str | None:
    """Compare the end-of-file address in the HDF5 superblock with the file size.

    Superblock layout from the HDF5 file format specification (versions 0-3).
    """
    base = next(o for o in HDF5.offsets if head[o : o + len(HDF5.magic)] == HDF5.magic)
    version = head[base + 8] if len(head) > base + 8 else -1
    if version in (0, 1):
        address_bytes = head[base + 13]
        base_address_at = base + 24 + (4 if version == 1 else 0)
    elif version in (2, 3):
        address_bytes = head[base + 9]
        base_address_at = base + 12
    else:
        return None
    eof_at = base_address_at + 2 * address_bytes
    if len(head) < eof_at + address_bytes:
        return "the HDF5 superblock is cut short"
    base_address = int.from_bytes(head[base_address_at : base_address_at + address_bytes], "little")
    stored_end = base_address + int.from_bytes(head[eof_at : eof_at + address_bytes], "little")
    if stored_end > size:
        return f"the HDF5 header says {stored_end:,} bytes but the file has {size:,}"
    return None


# Spike2 (.smr) layout as neo reads it: a 512-byte file header, then one
# 140-byte header per channel; data blocks of 20-byte header plus items.
SPIKE2_CHANNEL_TABLE_AT = 512
SPIKE2_CHANNEL_HEADER_BYTES = 140
SPIKE2_DATA_KINDS = frozenset(range(1, 10))


def _spike2_truncation(path: Path, head: bytes, size: int) -> str | None:
    """The first channel whose last data block runs past the end of the file, if any."""
    from neo.rawio import spike2rawio as layout

    with path.open("rb") as handle:
        header = _read_struct(handle, 0, layout.headerDescription)
        if header is None:
            return f"the {SPIKE2_CHANNEL_TABLE_AT}-byte file header is cut short"
        disk_block = layout.DISKBLOCK if int(header["system_id"]) == 9 else 1
        for index in range(int(header["channels"])):
            at = SPIKE2_CHANNEL_TABLE_AT + SPIKE2_CHANNEL_HEADER_BYTES * index
            channel = _read_struct(handle, at, layout.channelHeaderDesciption1)
            if channel is None:
                return f"the channel table stops at channel {index + 1} of {header['channels']}"
            if int(channel["blocks"]) <= 0 or int(channel["kind"]) not in SPIKE2_DATA_KINDS:
                continue
            problem = _spike2_channel_end(handle, channel, disk_block, size, layout)
            if problem is not None:
                return problem
    return None


def _spike2_channel_end(
    handle: BinaryIO, channel: np.void, disk_block: int, size: int, layout: Any
) -> str | None:
    raw_title = bytes(channel["title"])
    title = raw_title[1 : 1 + raw_title[0]].decode("latin-1") if raw_title else ""
    start = int(channel["lastblock"]) * disk_block
    block = _read_struct(handle, start, layout.blockHeaderDesciption)
    if block is None:
        return f"channel {title!r} data starts at byte {start:,} but the file has {size:,} bytes"
    kind = {"kind": int(channel["kind"]), "n_extra": int(channel["n_extra"])}
    block_bytes = np.dtype(layout.blockHeaderDesciption).itemsize
    end = start + block_bytes + int(block["items"]) * layout.get_channel_dtype(kind).itemsize
    if end > size:
        return f"channel {title!r} data runs to byte {end:,} but the file has {size:,} bytes"
    return None


TRUNCATION_CHECKS: dict[FileSignature, Callable[[Path, bytes, int], str | None]] = {
    HDF5: _hdf5_truncation,
    SPIKE2: _spike2_truncation,
}


# --- what a reader found, checked ---------------------------------------------------------------


def checked_units(
    units: Sequence[Unit], t_start: float, t_stop: float, path: Path | None = None
) -> tuple[list[Unit], list[str]]:
    """Drop duplicate spikes and spikes outside ``[t_start, t_stop]``; say what changed.

    Returns the units (every one kept, even when empty) and one-line warnings.
    Raises :class:`NoUnitsError` when no unit has a spike, and
    :class:`UnreadableFileError` when no spike lies inside the recording.

    Examples
    --------
    >>> units, notes = checked_units([Unit("u", np.array([1.0, 1.0, 2.0, 99.0]))], 0.0, 10.0)
    >>> units[0].spike_times.tolist()
    [1.0, 2.0]
    >>> notes[0]
    "unit 'u': 1 duplicate spike time(s) dropped (a unit cannot fire twice at one instant)"
    """
    checked, notes = [], []
    for unit in units:
        kept, unit_notes = _checked_unit(unit, t_start, t_stop)
        checked.append(kept)
        notes.extend(unit_notes)
    n_read = sum(unit.n_spikes for unit in units)
    if n_read == 0:
        raise NoUnitsError(f"all {len(units)} spike train(s) are empty: nothing to analyse", path)
    if not any(unit.n_spikes for unit in checked):
        raise UnreadableFileError(
            f"none of the {n_read:,} spikes lies inside the recording [{t_start:g}, {t_stop:g}] s; "
            "check that the times are in seconds and that t_stop is right",
            path,
        )
    return checked, notes


def _checked_unit(unit: Unit, t_start: float, t_stop: float) -> tuple[Unit, list[str]]:
    times = unit.spike_times
    notes = list(unit.warnings)
    n_waveforms = 0 if unit.waveforms is None or unit.waveforms_are_mean else len(unit.waveforms)
    if n_waveforms and n_waveforms != unit.n_spikes:
        notes.append(
            f"unit {unit.id!r}: {n_waveforms} waveforms for {unit.n_spikes} spikes; "
            "waveforms not used (which belongs to which spike is unknown)"
        )
        unit = replace(unit, waveforms=None, sampling_rate_hz=None, waveform_units="")
    duplicate = np.concatenate([[False], np.diff(times) == 0])
    outside = (times < t_start) | (times > t_stop)
    if duplicate.any():
        notes.append(
            f"unit {unit.id!r}: {int(duplicate.sum())} duplicate spike time(s) dropped "
            "(a unit cannot fire twice at one instant)"
        )
    if outside.any():
        notes.append(
            f"unit {unit.id!r}: {int(outside.sum())} spike(s) outside the recording "
            f"[{t_start:g}, {t_stop:g}] s dropped (first at {times[outside][0]:g} s)"
        )
    if duplicate.any() or outside.any():
        unit = unit.without_spikes(duplicate | outside)
    if unit.n_spikes == 0:
        notes.append(f"unit {unit.id!r} has no spikes: its rates are 0 Hz and its features NaN")
    return unit, notes


def injection_warnings(injections: Sequence[Injection], t_start: float, t_stop: float) -> list[str]:
    """One warning per injection that lies outside the recording.

    Examples
    --------
    >>> late = Injection(700.0, "ipsapirone", 5.0, "ug/kg", 5.0, "ipsapirone 5 ug/kg")
    >>> print(injection_warnings([late], 0.0, 600.0)[0].split(": ")[0])
    injection 'ipsapirone 5 ug/kg' at 700 s is at or after the recording end (600 s)
    """
    notes = []
    for injection in injections:
        what = f"injection {injection.label or injection.drug!r} at {injection.time_s:g} s"
        if injection.time_s < t_start:
            notes.append(
                f"{what} is before the recording start ({t_start:g} s): "
                "there is no drug-free baseline before it"
            )
        elif injection.time_s >= t_stop:
            notes.append(
                f"{what} is at or after the recording end ({t_stop:g} s): it has no response window"
            )
    return notes


def check_spike_count(n_spikes: int, path: Path) -> None:
    """Refuse a recording with more than :data:`MAX_SPIKES_PER_RECORDING` spikes."""
    if n_spikes > MAX_SPIKES_PER_RECORDING:
        raise RecordingTooLargeError(
            f"{n_spikes:,} spikes, more than MAX_SPIKES_PER_RECORDING = "
            f"{MAX_SPIKES_PER_RECORDING:,}; split the recording, or raise "
            "MAX_SPIKES_PER_RECORDING (module rapheunit.load) on a machine with the memory for it",
            path,
        )


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 1024**3:.2f} GiB"


# --- spike tables --------------------------------------------------------------------------


def read_spike_table(path: Path) -> RawContent:
    """Read a long-format ``unit,time_s`` table (CSV or TSV).

    A table larger than :data:`MAX_SPIKE_TABLE_BYTES` is refused before it is
    read. A last line without a line break is read, with a warning: the file
    may have been cut short.

    Examples
    --------
    >>> import tempfile
    >>> table = Path(tempfile.mkdtemp()) / "t.tsv"
    >>> _ = table.write_text("unit\\ttime_s\\n7\\t0.25\\n7\\t0.5\\n")
    >>> content = read_spike_table(table)
    >>> content.units[0].id, content.units[0].spike_times.tolist()
    ('7', [0.25, 0.5])
    """
    size = path.stat().st_size
    if size > MAX_SPIKE_TABLE_BYTES:
        raise RecordingTooLargeError(
            f"spike table of {_gib(size)} is larger than MAX_SPIKE_TABLE_BYTES = "
            f"{_gib(MAX_SPIKE_TABLE_BYTES)}; split it, or raise "
            "MAX_SPIKE_TABLE_BYTES (module rapheunit.load) on a machine with the memory for it",
            path,
        )
    table = _read_table_file(path)
    missing = [c for c in SPIKE_TABLE_COLUMNS if c not in table.columns]
    if missing:
        found = ", ".join(map(str, table.columns)) or "nothing"
        raise UnreadableFileError(
            f"spike table needs columns unit,time_s; missing {', '.join(missing)} (found {found})",
            path,
        )
    check_spike_count(len(table), path)
    times = pd.to_numeric(table["time_s"], errors="coerce").to_numpy(dtype=np.float64)
    _check_table_cells(table, times, path)
    unit_names = table["unit"].astype(str).str.strip().to_numpy()
    units = [Unit(str(name), times[unit_names == name]) for name in pd.unique(unit_names)]
    notes = [] if _ends_with_line_break(path) else [_no_final_line_break(times)]
    return RawContent(
        units=units,
        marker_events=[],
        t_start=0.0,
        t_stop=None,
        reader="spike_table",
        warnings=notes,
    )


def _check_table_cells(table: pd.DataFrame, times: np.ndarray, path: Path) -> None:
    bad_rows = np.flatnonzero(~np.isfinite(times) | (times < 0))
    if bad_rows.size:
        row = int(bad_rows[0])
        raise UnreadableFileError(
            f"time_s must be a finite number >= 0; line {row + 2} has "
            f"{_cell_text(table['time_s'].iloc[row])} ({bad_rows.size} bad rows)",
            path,
        )
    no_unit = np.flatnonzero((table["unit"].fillna("").astype(str).str.strip() == "").to_numpy())
    if no_unit.size:
        raise UnreadableFileError(
            f"every row needs a unit name; line {int(no_unit[0]) + 2} has none "
            f"({no_unit.size} rows without one)",
            path,
        )


def _cell_text(value: Any) -> str:
    """A table cell as the user typed it (pandas reads an empty cell as NaN)."""
    if isinstance(value, float) and np.isnan(value):
        return "an empty cell"
    return repr(str(value))


def _ends_with_line_break(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _no_final_line_break(times: np.ndarray) -> str:
    return (
        "the last line has no line break: if the file was cut short, its last time may be "
        f"incomplete and spikes after {times.max():g} s are missing"
    )


def _read_table_file(path: Path) -> pd.DataFrame:
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            header = handle.readline()
        separator = "\t" if "\t" in header else ","
        # Only an empty time cell is missing: "NaN" or "NA" stay as typed, for the message
        # (and "NA" is a valid unit name).
        table = pd.read_csv(
            path,
            sep=separator,
            dtype={"unit": str},
            encoding="utf-8-sig",
            keep_default_na=False,
            na_values={"time_s": [""]},
        )
    except UnicodeDecodeError as error:
        raise UnreadableFileError(
            f"not a readable CSV/TSV table: not UTF-8 text (byte {error.object[error.start]:#04x} "
            f"at offset {error.start}); save it as UTF-8",
            path,
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
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
    try:
        io = _neo_io(path, reader)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if _reads_lazily(io):
                block, notes = _read_block_lazily(io, path, options.spike_channels)
            else:
                _check_hdf5_sizes(path, reader)
                block, notes = _read_block(io)
    except RapheUnitError:
        raise
    except Exception as error:  # neo raises anything on a corrupt file
        raise UnreadableFileError(
            f"{reader} could not read it ({_one_line(error)}); the file is truncated or "
            "corrupt: copy or export it again",
            path,
        ) from error
    content = block_content(block, reader, options.spike_channels, notes)
    if reader == "PlexonIO":
        _check_plexon_counts(path, content.units)
    return content


def _reads_lazily(io: Any) -> bool:
    """True for rawio-based readers: their lazy proxies give counts and never load signals."""
    from neo.io.basefromrawio import BaseFromRaw

    return isinstance(io, BaseFromRaw) and bool(getattr(io, "support_lazy", False))


def _read_block_lazily(io: Any, path: Path, spike_channels: Sequence[str]) -> tuple[Any, list[str]]:
    """A block whose spike trains and events are loaded and whose signals stay unloaded proxies.

    The spike count is checked against :data:`MAX_SPIKES_PER_RECORDING` and
    the waveform size against :data:`MAX_WAVEFORM_BYTES` before anything is loaded.
    """
    block = io.read_block(lazy=True)
    wanted = set(spike_channels)
    trains = [train for segment in block.segments for train in segment.spiketrains]
    spike_events = [e for s in block.segments for e in s.events if str(e.name) in wanted]
    check_spike_count(sum(int(proxy.shape[0]) for proxy in [*trains, *spike_events]), path)
    waveform_bytes = sum(_waveform_bytes(io, proxy, path) for proxy in trains)
    with_waveforms = waveform_bytes <= MAX_WAVEFORM_BYTES
    notes = [] if with_waveforms else [_waveforms_dropped(waveform_bytes)]
    n_without = sum(proxy.sampling_rate is None for proxy in trains)
    if n_without:
        notes.append(f"{n_without} spike train(s) have no waveforms in the file")
    for segment in block.segments:
        segment.spiketrains = [
            _load_train(proxy, with_waveforms, path) for proxy in segment.spiketrains
        ]
        segment.events = [proxy.load() for proxy in segment.events]
    return block, notes


def _load_train(proxy: Any, with_waveforms: bool, path: Path) -> Any:
    """Load one spike-train proxy; fewer spikes than its header counts means a cut file."""
    train = proxy.load(load_waveforms=with_waveforms and proxy.sampling_rate is not None)
    if len(train) < int(proxy.shape[0]):
        raise UnreadableFileError(
            f"truncated file: the header counts {int(proxy.shape[0]):,} spikes in "
            f"{proxy.name!r} but only {len(train):,} could be read; {TRUNCATED_ADVICE}",
            path,
        )
    return train


def _waveforms_dropped(waveform_bytes: int) -> str:
    return (
        f"waveforms not loaded: {_gib(waveform_bytes)} is more than MAX_WAVEFORM_BYTES = "
        f"{_gib(MAX_WAVEFORM_BYTES)}; waveform features are NaN"
    )


def _waveform_bytes(io: Any, proxy: Any, path: Path) -> int:
    """Bytes of a spike train's waveforms as float64, from one probed waveform."""
    n_spikes = int(proxy.shape[0])
    if proxy.sampling_rate is None or n_spikes == 0:
        return 0
    try:
        samples = _samples_per_waveform(io, proxy)
    except Exception:  # a reader that cannot slice: bound by the file (int16 -> float64)
        return _size_bytes(path) * 4
    return n_spikes * samples * FLOAT64_BYTES


def _samples_per_waveform(io: Any, proxy: Any) -> int:
    """Samples (channels x points) of one waveform, read for the first one or two spikes."""
    # neo's proxies keep their rawio indices privately; neo is pinned below 0.15.
    where = {
        "block_index": proxy._block_index,
        "seg_index": proxy._seg_index,
        "spike_channel_index": proxy._spike_channel_index,
    }
    ticks = io.get_spike_timestamps(**where, t_start=None, t_stop=None)
    first_two = io.rescale_spike_timestamp(ticks[:2], dtype="float64")
    stop = first_two[-1] if first_two.size > 1 else proxy.t_stop.rescale("s").magnitude
    raw = io.get_spike_raw_waveforms(**where, t_start=float(first_two[0]), t_stop=float(stop))
    return int(np.prod(raw.shape[1:]))


@dataclass(frozen=True)
class SizeEstimate:
    """What reading an HDF5 recording would load: spikes, waveform and signal bytes (float64)."""

    n_spikes: int = 0
    waveform_bytes: int = 0
    signal_bytes: int = 0


# Roles of HDF5 datasets: NIX marks neo objects with a "type" attribute on the
# dataset's group; NWB has fixed paths.
NIX_ROLES = {
    "neo.spiketrain.times": "spikes",
    "neo.waveforms": "waveforms",
    "neo.analogsignal": "signals",
    "neo.irregularlysampledsignal": "signals",
    "neo.imagesequence": "signals",
}


def hdf5_size_estimate(path: Path) -> SizeEstimate:
    """Count spikes and waveform and signal bytes in a NIX or NWB file without loading them.

    Examples
    --------
    >>> import tempfile, neo, quantities as pq
    >>> path = Path(tempfile.mkdtemp()) / "two.nix"
    >>> segment = neo.Segment()
    >>> segment.spiketrains.append(neo.SpikeTrain([1, 2] * pq.s, t_stop=5 * pq.s))
    >>> block = neo.Block(); block.segments.append(segment)
    >>> with neo.io.NixIO(str(path), mode="ow") as nix:
    ...     nix.write_block(block)
    >>> hdf5_size_estimate(path).n_spikes
    2
    """
    import h5py

    totals = {"spikes": 0, "waveforms": 0, "signals": 0}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            role = _hdf5_role(name, obj)
            if role == "spikes":
                totals["spikes"] += int(obj.shape[0]) if obj.ndim else 0
            elif role is not None:
                totals[role] += int(obj.size) * FLOAT64_BYTES

    with h5py.File(path, "r") as handle:
        handle.visititems(visit)
    return SizeEstimate(totals["spikes"], totals["waveforms"], totals["signals"])


def _hdf5_role(name: str, dataset: Any) -> str | None:
    if name == "units/spike_times":
        return "spikes"
    if name == "units/waveforms":
        return "waveforms"
    if name.startswith("acquisition/") and name.endswith("/data"):
        return "signals"
    if name.endswith("/data"):
        group_type = dataset.parent.attrs.get("type", "")
        group_type = group_type.decode() if isinstance(group_type, bytes) else str(group_type)
        return NIX_ROLES.get(group_type)
    return None


def _check_hdf5_sizes(path: Path, reader: str) -> None:
    """Refuse what a non-lazy reader (NixIO, NWBIO) would load beyond the limits."""
    if path.is_dir() or not HDF5.matches(_head(path)):
        return
    estimate = hdf5_size_estimate(path)
    check_spike_count(estimate.n_spikes, path)
    for label, found, limit, name in (
        ("raw signal", estimate.signal_bytes, MAX_SIGNAL_BYTES, "MAX_SIGNAL_BYTES"),
        ("waveforms", estimate.waveform_bytes, MAX_WAVEFORM_BYTES, "MAX_WAVEFORM_BYTES"),
    ):
        if found > limit:
            raise RecordingTooLargeError(
                f"{_gib(found)} of {label}, which {reader} loads together with the spikes, "
                f"is more than {name} = {_gib(limit)}; export the spike trains without it",
                path,
            )


def _check_plexon_counts(path: Path, units: Sequence[Unit]) -> None:
    """Refuse a Plexon file that holds fewer spikes than its header counts (a cut file)."""
    from neo.rawio.plexonrawio import GlobalHeader

    with path.open("rb") as handle:
        header = _read_struct(handle, 0, GlobalHeader)
    # TSCounts covers channels 0-129 and units 0-4 only: more spikes than counted are fine.
    promised = 0 if header is None else int(header["TSCounts"].sum())
    found = sum(unit.n_spikes for unit in units)
    if found < promised:
        raise UnreadableFileError(
            f"truncated file: the header counts {promised:,} spikes but only {found:,} could be "
            f"read; {TRUNCATED_ADVICE}",
            path,
        )


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
    keys = [_train_key(train) for train in segment.spiketrains]
    # Trains a reader leaves without distinct names (NWBIO) keep their position, never merge.
    trains = [
        (key if keys.count(key) == 1 else f"{key}#{index}", train)
        for index, (key, train) in enumerate(zip(keys, segment.spiketrains, strict=True))
    ]
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
    """pynwb's Units table first; neo's NWBIO for event channels or when there is no table.

    pynwb keeps the unit names, the mean waveforms and the observation
    intervals, and reads nothing else (raw signals stay on disk); NWBIO loses
    the names and loads every acquisition series.
    """
    check_spike_count(hdf5_size_estimate(path).n_spikes, path)
    pynwb_error = ""
    if not options.spike_channels:
        try:
            content = read_nwb_units(path)
            if content.units:
                return content
        except Exception as error:  # pynwb rejects some files other tools wrote; neo may not
            pynwb_error = _one_line(error)
    try:
        return _read_neo(path, "NWBIO", options)
    except UnreadableFileError as error:
        detail = f" (pynwb: {pynwb_error})" if pynwb_error else ""
        raise UnreadableFileError(
            f"not a readable NWB file: {error.reason}{detail}", path
        ) from error


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
        t_start, t_stop = _nwb_bounds(nwbfile.units)
    return RawContent(
        units=units, marker_events=sorted(markers), t_start=t_start, t_stop=t_stop, reader="pynwb"
    )


def _nwb_bounds(table: Any) -> tuple[float, float | None]:
    """The span of the units' observation intervals, else from 0 to the last spike."""
    if table is None or "obs_intervals" not in table.colnames:
        return 0.0, None
    intervals = [np.asarray(i, dtype=np.float64).reshape(-1, 2) for i in table["obs_intervals"][:]]
    stacked = np.concatenate(intervals) if intervals else np.empty((0, 2))
    if stacked.size == 0 or not np.all(np.isfinite(stacked)):
        return 0.0, None
    return float(stacked[:, 0].min()), float(stacked[:, 1].max())


def _nwb_units(table: Any) -> list[Unit]:
    # Per-spike waveforms can be huge; only the mean waveform is used.
    frame = table.to_dataframe(exclude={"waveforms"} & set(table.colnames))
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
