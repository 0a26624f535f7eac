"""What every reader hands back to the loader.

:class:`RawContent` is the common result of the spike-table, neo and pynwb
readers: units and raw marker events on one time axis, before the loader
checks them and builds the dose schedule. :func:`one_line` words the error of
a library a reader wraps for a one-line :class:`~rapheunit.core.errors.RapheUnitError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapheunit.core.model import Unit

# Longest library message quoted in an error (neo and pynwb can print whole structures).
ONE_LINE_MAX_CHARS = 200


@dataclass
class RawContent:
    """What a reader found, before the dose schedule is built."""

    units: list[Unit]
    marker_events: list[tuple[float, str]]
    t_start: float
    t_stop: float | None
    reader: str
    warnings: list[str] = field(default_factory=list)
    # DetectionResult objects when units were found in continuous signals.
    detections: list[Any] = field(default_factory=list)


def one_line(error: BaseException) -> str:
    """An exception's message on one line, shortened to :data:`ONE_LINE_MAX_CHARS`.

    Examples
    --------
    >>> one_line(ValueError("bad\\n   header"))
    'bad header'
    >>> one_line(KeyError())
    'KeyError'
    """
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) <= ONE_LINE_MAX_CHARS:
        return text
    return text[: ONE_LINE_MAX_CHARS - 3] + "..."
