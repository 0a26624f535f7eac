"""Write the bad-input corpus ``tests/data/bad/`` and its manifest ``EXPECTED.toml``.

Run from the repository root: ``python tests/data/make_bad_corpus.py``.

Every file is made here from scratch (no real recording is copied): each is a
small example of what real lab data does wrong, and the manifest says which
:class:`~rapheunit.core.errors.RapheUnitError` subclass ``rapheunit.load(path)``
must raise, a fragment of its message, and which file the message must name
(the recording itself, or its dose sidecar). The manifest is TOML, so that a
folder search does not take it for a spike table. The content is deterministic; the
HDF5 files (NIX, NWB) also carry random object ids, so their bytes differ
between runs. Truncated Spike2 files are made at test time from the real data
instead (tests/test_robustness.py), since real recordings are not committed.
"""

from __future__ import annotations

import json
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import neo
import numpy as np
import quantities as pq

BAD = Path(__file__).resolve().parent / "bad"
MANIFEST = "EXPECTED.toml"
SESSION_START = datetime(2024, 1, 1, tzinfo=UTC)
GOOD_TABLE = "unit,time_s\n" + "".join(f"u1,{t:g}\n" for t in np.arange(0.5, 600.0, 4.0))
DOSE_HEADER = "time_s,drug,dose,unit\n"


@dataclass(frozen=True)
class Case:
    """One bad file: how to write it and the error loading it must raise."""

    file: str
    error: str
    fragment: str
    what: str
    write: Callable[[Path], None]
    names: str = ""  # file the message must name; default: the file itself


def _text(content: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content.encode(encoding))


def _bytes(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def _with_sidecar(doses: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(GOOD_TABLE)
        path.with_name(f"{path.stem}.doses.csv").write_text(DOSE_HEADER + doses)

    return write


def _png_bytes() -> bytes:
    """A genuine 1 x 1 grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _spike2_lookalike() -> bytes:
    """The first bytes of a 32-bit Spike2 file: system id 3 and CED's copyright string."""
    return struct.pack("<h", 3) + b"(C) CED 87" + bytes(500)


def _truncated_nix(path: Path) -> None:
    segment = neo.Segment()
    segment.spiketrains.append(
        neo.SpikeTrain(np.arange(1.0, 50.0, 0.5) * pq.s, t_stop=60 * pq.s, name="unit1")
    )
    block = neo.Block(name="cut")
    block.segments.append(segment)
    with neo.io.NixIO(str(path), mode="ow") as nix:
        nix.write_block(block)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_nwb(
    path: Path, spike_trains: list[list[float]], markers: list[tuple[float, str]]
) -> None:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import AnnotationSeries

    nwbfile = NWBFile(
        session_description="rapheunit bad-input corpus",
        identifier=path.stem,
        session_start_time=SESSION_START,
        file_create_date=SESSION_START,
    )
    for times in spike_trains:
        nwbfile.add_unit(spike_times=times)
    if markers:
        times, labels = zip(*markers, strict=True)
        nwbfile.add_acquisition(
            AnnotationSeries(
                name="Markers", data=list(labels), timestamps=list(times), description="markers"
            )
        )
    with NWBHDF5IO(str(path), "w") as nwb_io:
        nwb_io.write(nwbfile, cache_spec=False)


def _nwb(spike_trains: list[list[float]], markers: list[tuple[float, str]]) -> Callable:
    return lambda path: _write_nwb(path, spike_trains, markers)


def _truncated_nwb(path: Path) -> None:
    _write_nwb(path, [[0.5, 1.0, 1.5]], [])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


SPIKES = [float(t) for t in np.arange(1.0, 900.0, 4.0)]
CASES = (
    Case("empty_table.csv", "UnreadableFileError", "empty file (0 bytes)", "0 bytes", _bytes(b"")),
    Case("empty_file.nix", "UnreadableFileError", "empty file (0 bytes)", "0 bytes", _bytes(b"")),
    Case(
        "csv_renamed.smr",
        "UnreadableFileError",
        "not a Spike2 .smr file: its content is a text table; if it is a unit,time_s",
        "a spike table renamed .smr",
        _text(GOOD_TABLE),
    ),
    Case(
        "smr_renamed.csv",
        "UnreadableFileError",
        "not a text table: its content is a Spike2 .smr file; rename it to .smr",
        "the start of a Spike2 file renamed .csv",
        _bytes(_spike2_lookalike()),
    ),
    Case(
        "picture.nix",
        "UnreadableFileError",
        "not an HDF5 file (NIX or NWB): its content is a PNG image",
        "a PNG image named .nix",
        _bytes(_png_bytes()),
    ),
    Case(
        "garbage.smr",
        "UnreadableFileError",
        "lacks that format's signature",
        "random bytes named .smr",
        _bytes(bytes(np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8))),
    ),
    Case(
        "binary.csv",
        "UnreadableFileError",
        "not a text table: it holds binary data",
        "binary data named .csv",
        _bytes(b"\x00\x01\x02\x03" * 64),
    ),
    Case(
        "truncated_nix.nix",
        "UnreadableFileError",
        "truncated file: the HDF5 header says",
        "a NIX file written by neo, cut in half",
        _truncated_nix,
    ),
    Case(
        "truncated_nwb.nwb",
        "UnreadableFileError",
        "truncated file: the HDF5 header says",
        "an NWB file written by pynwb, cut in half",
        _truncated_nwb,
    ),
    Case(
        "truncated_table.csv",
        "UnreadableFileError",
        "line 5 has an empty cell",
        "a spike table cut in the middle of a line",
        _text("unit,time_s\nu1,0.5\nu1,1.25\nu1,2.0\nu1,"),
    ),
    Case(
        "pickle.nix",
        "UnsupportedFormatError",
        "the content is a Python pickle, which is refused",
        "a pickle named .nix",
        _bytes(pickle.dumps({"spikes": [1.0, 2.0]}, protocol=4)),
    ),
    Case(
        "recording.pkl",
        "UnsupportedFormatError",
        "pickle files are refused",
        "a .pkl file",
        _bytes(pickle.dumps([1.0, 2.0], protocol=4)),
    ),
    Case(
        "notes.docx",
        "UnsupportedFormatError",
        "unknown extension '.docx'",
        "a file of an unknown type",
        _bytes(b"PK\x03\x04" + bytes(60)),
    ),
    Case(
        "no_time_column.csv",
        "UnreadableFileError",
        "missing time_s (found unit, time_ms)",
        "a spike table in milliseconds under another name",
        _text("unit,time_ms\nu1,500\n"),
    ),
    Case(
        "typed_time.csv",
        "UnreadableFileError",
        "line 3 has '1,5'",
        "a decimal comma typed by hand",
        _text('unit,time_s\nu1,0.5\nu1,"1,5"\n'),
    ),
    Case(
        "nan_time.csv",
        "UnreadableFileError",
        "line 2 has 'NaN'",
        "a NaN spike time",
        _text("unit,time_s\nu1,NaN\nu1,1.0\n"),
    ),
    Case(
        "negative_time.csv",
        "UnreadableFileError",
        "line 3 has '-0.25'",
        "a negative spike time",
        _text("unit,time_s\nu1,0.5\nu1,-0.25\n"),
    ),
    Case(
        "no_unit_name.csv",
        "UnreadableFileError",
        "line 3 has none",
        "a row without a unit name",
        _text("unit,time_s\nu1,0.5\n,0.75\n"),
    ),
    Case(
        "latin1.csv",
        "UnreadableFileError",
        "not UTF-8 text (byte 0xb5",
        "a Latin-1 export",
        _text("unit,time_s\nµ1,0.5\n", "latin-1"),
    ),
    Case(
        "utf16.csv",
        "UnreadableFileError",
        "its content is UTF-16 text (save it as UTF-8)",
        "a UTF-16 'Unicode text' export",
        _text("unit,time_s\nu1,0.5\n", "utf-16"),
    ),
    Case(
        "no_units.nwb",
        "NoUnitsError",
        "no spike trains found",
        "an NWB file with markers and no units",
        _nwb([], [(10.0, "ipsapirone 5 ug/kg")]),
    ),
    Case(
        "empty_units.nwb",
        "NoUnitsError",
        "all 2 spike train(s) are empty",
        "an NWB file whose units have no spikes",
        _nwb([[], []], []),
    ),
    Case(
        "unreadable_dose_marker.nwb",
        "BadDoseTableError",
        "marker 'ipsa 10 mgkg' at 480.0 s looks like a dose of ipsapirone",
        "a hand-typed dose with an unknown unit among valid ones",
        _nwb(
            [SPIKES], [(300.0, "ipsa 5 ug/kg"), (480.0, "ipsa 10 mgkg"), (660.0, "ipsa 20 ug/kg")]
        ),
    ),
    Case(
        "same_time_markers.nwb",
        "BadDoseTableError",
        "two injections at t = 300.0 s",
        "two injection markers at one time",
        _nwb([SPIKES], [(300.0, "ipsa 5 ug/kg"), (300.0, "WAY-100635 100 ug/kg")]),
    ),
    Case(
        "zero_dose.csv",
        "BadDoseTableError",
        "row 2: dose 0 ug/kg of ipsapirone must be > 0",
        "a zero dose in a sidecar",
        _with_sidecar("300,ipsapirone,5,ug/kg\n480,ipsapirone,0,ug/kg\n"),
        names="zero_dose.doses.csv",
    ),
    Case(
        "negative_dose.csv",
        "BadDoseTableError",
        "row 1: dose -5 ug/kg of ipsapirone must be > 0",
        "a negative dose in a sidecar",
        _with_sidecar("300,ipsapirone,-5,ug/kg\n"),
        names="negative_dose.doses.csv",
    ),
    Case(
        "unknown_dose_unit.csv",
        "BadDoseTableError",
        "row 1: unknown dose unit 'mg' (known:",
        "a dose unit without /kg",
        _with_sidecar("300,ipsapirone,0.01,mg\n"),
        names="unknown_dose_unit.doses.csv",
    ),
    Case(
        "mixed_dose_units.csv",
        "BadDoseTableError",
        "ipsapirone is given in ug/kg (row 1) and in uM (row 2)",
        "one drug in two unit systems",
        _with_sidecar("300,ipsapirone,5,ug/kg\n480,ipsapirone,1,uM\n"),
        names="mixed_dose_units.doses.csv",
    ),
    Case(
        "same_time_doses.csv",
        "BadDoseTableError",
        "two injections at t = 300.0 s",
        "two injections at one time in a sidecar",
        _with_sidecar("300,ipsapirone,5,ug/kg\n300,WAY,100,ug/kg\n"),
        names="same_time_doses.doses.csv",
    ),
)


def _toml_case(case: Case) -> str:
    """One ``[[case]]`` table; JSON string escapes are valid TOML basic strings."""
    fields = {
        "file": case.file,
        "error": case.error,
        "fragment": case.fragment,
        "names": case.names or case.file,
        "what": case.what,
    }
    return "[[case]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in fields.items())


def write_corpus(folder: Path = BAD) -> Path:
    """Write every case into ``folder`` (its old files are removed first) and the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    for case in CASES:
        case.write(folder / case.file)
    manifest = folder / MANIFEST
    manifest.write_text("\n".join(_toml_case(case) for case in CASES), encoding="utf-8")
    return manifest


if __name__ == "__main__":
    written = write_corpus()
    total = sum(path.stat().st_size for path in written.parent.iterdir())
    print(f"{len(CASES)} bad files and {written.name} in {written.parent} ({total:,} bytes)")
