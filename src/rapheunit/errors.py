"""Exceptions and boundary validation helpers.

Every error a user can trigger with bad input is a :class:`RapheUnitError`
whose message fits on one line and names the file (when there is one), what
was expected and what was found. The CLI prints ``str(error)`` and nothing
else unless ``--debug`` is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


class RapheUnitError(Exception):
    """Base class of every error rapheunit raises on purpose."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


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


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))
