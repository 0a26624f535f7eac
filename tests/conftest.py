"""Shared fixtures: real-data location and in-memory neo builders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import neo
import numpy as np
import pytest
import quantities as pq

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"

requires_realdata = pytest.mark.skipif(
    not REALDATA.exists(), reason=f"real recordings not present at {REALDATA}"
)


def make_segment(
    trains: dict[str, Sequence[float]],
    *,
    t_start: float = 0.0,
    t_stop: float = 100.0,
    markers: Sequence[tuple[float, str]] = (),
    ids: dict[str, str] | None = None,
) -> neo.Segment:
    """A neo Segment with named spike trains and a marker Event."""
    segment = neo.Segment()
    for index, (name, times) in enumerate(trains.items()):
        label = name.split("|")[0]  # "Spikes|a" lets a test reuse one name
        train = neo.SpikeTrain(
            np.asarray(times) * pq.s, t_start=t_start * pq.s, t_stop=t_stop * pq.s, name=label
        )
        train.annotate(id=(ids or {}).get(name, f"ch0#{index}"))
        segment.spiketrains.append(train)
    if markers:
        times, labels = zip(*markers, strict=True)
        segment.events.append(
            neo.Event(np.asarray(times) * pq.s, labels=np.asarray(labels), name="Markers")
        )
    return segment


def make_block(*segments: neo.Segment) -> neo.Block:
    block = neo.Block()
    for segment in segments:
        block.segments.append(segment)
    return block


def write_nix(block: neo.Block, path: Path) -> Path:
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    return path
