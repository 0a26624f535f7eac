"""What a file holds, checked before any reader opens it.

A reader given the wrong bytes fails with a message about its own internals,
or reads garbage. So the first bytes are matched against the signature of the
format the extension names, and a mismatch is refused naming what the content
really is (:func:`sniff_format`); pickles are refused whatever their name,
since loading one can execute code; HDF5 (NIX, NWB) and Spike2 files whose
header points past the end of the file are refused as truncated. Plexon files
are checked after reading instead, against the spike counts in their header.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from rapheunit.core.errors import UnreadableFileError, UnsupportedFormatError
from rapheunit.core.model import Unit

TRUNCATED_ADVICE = "the copy or the acquisition did not finish: copy or export it again"


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


def is_hdf5(path: Path) -> bool:
    """True for a file (not a folder) that starts with the HDF5 signature."""
    return not path.is_dir() and HDF5.matches(_head(path))


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


def check_plexon_counts(path: Path, units: Sequence[Unit]) -> None:
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
