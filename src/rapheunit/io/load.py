"""Load a recording from any supported file into a :class:`~rapheunit.core.model.Recording`.

The neo reader is chosen explicitly from the file extension (never through
``neo.io.get_io``, which picks ``CedIO`` for ``.smr`` when sonpy is installed).
Spike-time tables (``unit,time_s``) and pynwb ``Units`` tables are read
without neo. Quantities stop here: the recording model is in float seconds.

Checks at the boundary
----------------------
Before a reader sees a file, :func:`check_file_content` refuses it when empty,
mislabelled (a CSV renamed ``.smr``), pickled or truncated
(:mod:`rapheunit.io.readers.filecheck`). After reading:

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

Warnings are one-line strings in :attr:`Recording.warnings`. This module
chooses the reader and checks what it found (the checks on units and injections
are in :mod:`rapheunit.io.checks`, the provenance in :mod:`rapheunit.io.provenance`);
the readers live in :mod:`rapheunit.io.readers` (NWB through pynwb first:
:mod:`rapheunit.io.readers.nwb`).

Resource limits
---------------
Attributes of :mod:`rapheunit.io.readers.limits`, so a deployment (or a test) can
change them: ``MAX_SPIKES_PER_RECORDING``, ``MAX_WAVEFORM_BYTES``,
``MAX_SIGNAL_BYTES`` and ``MAX_SPIKE_TABLE_BYTES``. Sizes are
estimated before anything large is read: spike and waveform counts from the
neo rawio header (readers are used lazily, so raw signals are never loaded),
dataset shapes in HDF5 files, the file size of spike tables. Too many spikes
refuse the recording (:class:`~rapheunit.core.errors.RecordingTooLargeError`);
too many waveform bytes drop the waveforms with a warning where the reader can
skip them (rawio readers; pynwb never loads per-spike waveforms), and refuse
the file where it cannot (NixIO, which also loads every raw signal: more than
``MAX_SIGNAL_BYTES`` of it refuses the file). Where units are detected in a NIX
file (``--detect``, or a file without spike trains) it is read with the lazy
NixIOFr instead, markers included, so detection reads its signals chunk by
chunk and never holds one whole (issue #17).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapheunit.core.errors import (
    BadParameterError,
    NoUnitsError,
    RapheUnitError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from rapheunit.core.model import Injection, Recording, Unit, check_recording_name
from rapheunit.core.params import param
from rapheunit.io.checks import checked_units as checked_units
from rapheunit.io.checks import injection_warnings as injection_warnings
from rapheunit.io.doses import build_schedule, read_marker_map
from rapheunit.io.provenance import PACKAGES_IN_PROVENANCE as PACKAGES_IN_PROVENANCE
from rapheunit.io.provenance import package_versions as package_versions
from rapheunit.io.provenance import provenance
from rapheunit.io.provenance import sha256_of as sha256_of
from rapheunit.io.readers.content import RawContent as RawContent
from rapheunit.io.readers.filecheck import check_file_content
from rapheunit.io.readers.filecheck import sniff_format as sniff_format
from rapheunit.io.readers.neo_block import block_content as block_content
from rapheunit.io.readers.neo_files import open_neo_io, read_neo
from rapheunit.io.readers.nwb import read_nwb
from rapheunit.io.readers.nwb import read_nwb_units as read_nwb_units
from rapheunit.io.readers.signals import (
    LAZY_READERS,
    RAW_SUFFIXES,
    DetectOptions,
    detect_in_neo,
    has_spike_trains,
    is_raw_recording,
    read_raw,
)
from rapheunit.io.readers.table import read_spike_table

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
# Readers that would execute code stored in a data file.
REFUSED_READERS = frozenset({"PickleIO"})
REFUSED_SUFFIXES = frozenset({".pkl", ".pickle"})
# Sidecars and companions that travel beside recordings but are not recordings.
COMPANION_SUFFIXES = (".doses.csv", ".raw.json", ".metadata.csv")
OPEN_EPHYS_MARKERS = {"structure.oebin": "OpenEphysBinaryIO", "settings.xml": "OpenEphysIO"}
# Without --detect, a NIX file this large has its header checked for spike trains before it
# is read, so that one holding only signals is detected lazily instead of loaded whole; a
# smaller one is read at once (the check costs ~30 ms a file, more than loading it saves).
LAZY_CHECK_MIN_BYTES = 32 * 2**20


@dataclass(frozen=True)
class LoadOptions:
    """How to read a recording and its dose schedule (see :func:`load`)."""

    io: str | None = param(
        None, "neo IO class to use instead of choosing by extension", metavar="CLASS"
    )
    spike_channels: tuple[str, ...] = param(
        (),
        "event channel holding spikes (window discriminator); repeatable",
        name="spike_channel",
        metavar="NAME",
        repeatable=True,
    )
    doses: Any = param(
        None, "dose table with columns time_s,drug,dose,unit", metavar="FILE", parse=Path
    )
    marker_map: Mapping[str, str] | None = param(
        None,
        'TOML file mapping marker codes to labels, e.g. 1 = "ipsapirone 5 ug/kg"',
        metavar="FILE",
        parse=read_marker_map,
    )
    labels_are_cumulative: bool = param(
        False,
        "marker labels give cumulative totals, not the amount injected",
        name="labels_cumulative",
    )
    t_stop: float | None = param(None, "recording end for spike tables", metavar="SECONDS")
    detection: DetectOptions = field(default_factory=DetectOptions)


def load(
    path: str | Path,
    *,
    io: str | None = None,
    spike_channels: Sequence[str] = (),
    doses: Any = None,
    marker_map: Mapping[str, str] | None = None,
    labels_are_cumulative: bool = False,
    t_stop: float | None = None,
    detect: bool | DetectOptions = False,
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
    detect : bool or DetectOptions
        Find units in the analog signals even when the file has spike trains
        (files without spike trains and raw binary files always use detection);
        a :class:`~rapheunit.io.readers.signals.DetectOptions` also sets the
        channel, the raw layout and the detection parameters.

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
        detection=detect if isinstance(detect, DetectOptions) else DetectOptions(detect=detect),
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
    schedule = build_schedule(
        content.marker_events,
        doses=options.doses,
        recording_path=path,
        marker_map=options.marker_map,
        labels_are_cumulative=options.labels_are_cumulative,
    )
    t_stop = _recording_stop(content, options.t_stop, path, schedule.injections)
    units, unit_warnings = checked_units(content.units, content.t_start, t_stop, path)
    return Recording(
        name=name,
        path=path,
        t_start=content.t_start,
        t_stop=t_stop,
        units=units,
        injections=schedule.injections,
        annotations=schedule.annotations,
        provenance=provenance(path, content.reader, schedule.source),
        warnings=[
            *content.warnings,
            *unit_warnings,
            *schedule.warnings,
            *injection_warnings(schedule.injections, content.t_start, t_stop),
        ],
        detections=content.detections,
    )


def recording_name(path: Path) -> str:
    """The recording's name: the file stem, or the folder's own name.

    Names never come from inside a file (a NIX block name, an NWB identifier),
    so they cannot carry a path; :func:`~rapheunit.core.model.check_recording_name`
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
    if suffix in RAW_SUFFIXES:
        return "raw"
    known = ", ".join(sorted({*NEO_READERS, *SPIKE_TABLE_SUFFIXES, *RAW_SUFFIXES}))
    raise UnsupportedFormatError(f"unknown extension {path.suffix!r} (known: {known})", path)


def is_recording_candidate(path: Path) -> bool:
    """True for files and folders a folder search should try to load."""
    name = path.name.lower()
    if path.is_dir():
        return any((path / marker).exists() for marker in OPEN_EPHYS_MARKERS)
    if name.startswith(".") or name.endswith(COMPANION_SUFFIXES):
        return False
    known = {*NEO_READERS, *SPIKE_TABLE_SUFFIXES, *REFUSED_SUFFIXES}
    return path.suffix.lower() in known or is_raw_recording(path)


def _read_content(path: Path, reader: str, options: LoadOptions) -> RawContent:
    try:
        if reader == "spike_table":
            return read_spike_table(path)
        if reader == "raw":
            return read_raw(path, options.detection)
        if reader == "NWBIO":
            return read_nwb(path, options.spike_channels)
        # Detecting: read the file's markers through the lazy reader too, so that no signal
        # is ever loaded whole (its units are replaced by the detected ones anyway).
        lazy = _detects_lazily(path, reader, options)
        content = read_neo(path, LAZY_READERS[reader] if lazy else reader, options.spike_channels)
        content.reader = reader
        if content.units and not options.detection.detect:
            return content
        # No spike trains (or --detect): find the units in the analog signals.
        detected = detect_in_neo(path, open_neo_io(path, reader), options.detection)
        detected.marker_events = content.marker_events
        return detected
    except RapheUnitError as error:
        if error.path is None:  # raised below the loader: name the file
            raise type(error)(error.reason, path) from error
        raise


def _detects_lazily(path: Path, reader: str, options: LoadOptions) -> bool:
    """True when the units of ``path`` will be detected and its reader would load signals whole.

    Units are detected with ``--detect``, or in a file without spike trains; events read as
    spikes (``--spike-channel``) keep the file's own reader. Without ``--detect`` only a file
    of at least :data:`LAZY_CHECK_MIN_BYTES` has its header checked first.
    """
    if reader not in LAZY_READERS:
        return False
    if options.detection.detect:
        return True
    if options.spike_channels or path.stat().st_size < LAZY_CHECK_MIN_BYTES:
        return False
    return not has_spike_trains(path, LAZY_READERS[reader])


def _recording_stop(
    content: RawContent, t_stop: float | None, path: Path, injections: list[Injection]
) -> float:
    if t_stop is not None:
        if not t_stop > content.t_start:
            raise BadParameterError(
                f"t_stop {t_stop} s must be after the recording start ({content.t_start} s)", path
            )
        return float(t_stop)
    if content.t_stop is not None:
        return content.t_stop
    return _spike_table_stop(content.units, injections)


def _spike_table_stop(units: list[Unit], injections: list[Injection]) -> float:
    """End of a recording that carries no bounds (a spike table).

    The latest spike of any unit (a unit that fell silent does not shorten the
    recording while another still fires), and never before the last
    injection, which the recording must have lasted to. Give the true end
    with ``t_stop`` (or a ``t_stop_s`` column of the metadata table) when it
    is known: a unit silent from some time to that end is then flagged by QC.
    """
    last_spikes = [float(unit.spike_times[-1]) for unit in units if unit.n_spikes]
    return max([*last_spikes, *(injection.time_s for injection in injections)], default=0.0)
