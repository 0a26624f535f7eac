"""Warnings grouped by kind, so a repeated one is said once with its count.

A file with 26 keyboard markers that are not doses gives 26 warnings that
differ only in the label and the time; they are one kind of warning. The
kind of a warning is its text with quoted labels and numbers masked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_QUOTED_OR_NUMBER = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def warning_kind(text: str) -> str:
    """The warning with its quoted labels and numbers masked.

    Examples
    --------
    >>> warning_kind("marker '00001' at 12.5 s kept as an annotation")
    'marker … at … s kept as an annotation'
    """
    return _QUOTED_OR_NUMBER.sub("…", text)


def warning_kinds(warnings: Sequence[str]) -> list[tuple[str, int]]:
    """Each kind of warning once, as (its first warning, how many of that kind), in order.

    Examples
    --------
    >>> warning_kinds(["marker '1' at 1 s kept", "marker '2' at 5 s kept", "short baseline"])
    [("marker '1' at 1 s kept", 2), ('short baseline', 1)]
    """
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for text in warnings:
        kind = warning_kind(text)
        first.setdefault(kind, text)
        counts[kind] = counts.get(kind, 0) + 1
    return [(first[kind], counts[kind]) for kind in first]


def condensed(warnings: Sequence[str]) -> list[str]:
    """One line per kind: the first warning, and how many more of its kind there were.

    Examples
    --------
    >>> condensed(["marker '1' at 1 s kept", "marker '2' at 5 s kept", "short baseline"])
    ["marker '1' at 1 s kept (and 1 more like it)", 'short baseline']
    """
    return [
        text if count == 1 else f"{text} (and {count - 1} more like it)"
        for text, count in warning_kinds(warnings)
    ]
