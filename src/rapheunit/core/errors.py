"""Exceptions and boundary validation helpers.

Every error a user can trigger with bad input is a :class:`RapheUnitError`
whose message fits on one line and names the file (when there is one), what
was expected, what was found and what to do about it. The CLI prints
``str(error)`` and nothing else unless ``--debug`` is given.

Hierarchy::

    RapheUnitError
    ├── UnreadableFileError      empty, truncated, corrupt or mislabelled file
    ├── UnsupportedFormatError   unknown extension, refused reader (pickles)
    ├── BadDoseTableError        dose table, sidecar or marker labels inconsistent
    ├── BadParameterError        a user parameter out of range (also a ValueError)
    ├── NoUnitsError             nothing to analyse
    └── RecordingTooLargeError   over a resource limit of :mod:`rapheunit.io.load`
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


class RapheUnitError(Exception):
    """Base class of every error rapheunit raises on purpose.

    The message is always one line, prefixed by the file when there is one.

    Examples
    --------
    >>> str(UnreadableFileError("empty file\\n(0 bytes)", "cell.smr"))
    'cell.smr: empty file (0 bytes)'
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        # One line, whatever the message quotes (a file name or a reader's error may hold newlines).
        self.reason = _one_line(message)
        text = f"{self.path}: {self.reason}" if self.path is not None else self.reason
        super().__init__(_one_line(text))


class UnreadableFileError(RapheUnitError):
    """The file exists in a known format but cannot be read (truncated, corrupt, empty)."""


class UnsupportedFormatError(RapheUnitError):
    """No reader handles this file, or the reader is refused (e.g. pickles)."""


class BadDoseTableError(RapheUnitError):
    """A dose table, sidecar or marker mapping is malformed or inconsistent."""


class BadParameterError(RapheUnitError, ValueError):
    """A parameter given by the user is out of range or of the wrong type."""


class NoUnitsError(RapheUnitError):
    """The recording holds no spike train to analyse."""


class RecordingTooLargeError(RapheUnitError):
    """The recording exceeds a resource limit (spikes, waveform or signal bytes) of the loader."""


def validate_type(value: Any, types: type | tuple[type, ...], name: str) -> Any:
    """Return ``value`` if it is an instance of ``types``, else raise :class:`BadParameterError`.

    Examples
    --------
    >>> validate_type(3.0, (int, float), "baseline_s")
    3.0
    """
    if isinstance(value, bool) and bool not in _as_tuple(types):
        raise BadParameterError(f"{name} must be {_type_names(types)}, got bool {value!r}")
    if not isinstance(value, types):
        raise BadParameterError(
            f"{name} must be {_type_names(types)}, got {type(value).__name__} {value!r}"
        )
    return value


def check_option(value: Any, allowed: Iterable[Any], name: str) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`BadParameterError`.

    Examples
    --------
    >>> check_option("both", ("positive", "negative", "both"), "polarity")
    'both'
    """
    allowed = tuple(allowed)
    if value not in allowed:
        choices = ", ".join(repr(option) for option in allowed)
        raise BadParameterError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is finite and > 0 (>= 0 with ``allow_zero``)."""
    validate_type(value, (int, float), name)
    number = float(value)
    too_small = number < 0 if allow_zero else number <= 0
    if number != number or number in (float("inf"), float("-inf")) or too_small:
        bound = ">= 0" if allow_zero else "> 0"
        raise BadParameterError(f"{name} must be a finite number {bound}, got {value!r}")
    return number


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))
