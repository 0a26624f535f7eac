"""rapheunit: serotonergic unit identification and 5-HT1A dose-response for dorsal raphe recordings.

The public API mirrors the command line:

>>> import rapheunit
>>> callable(rapheunit.load) and callable(rapheunit.analyze)
True

Names are imported when first used, so ``import rapheunit`` (and the command
line's start-up) costs only what the task needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from rapheunit.core.errors import (
    BadDoseTableError,
    BadParameterError,
    NoUnitsError,
    RapheUnitError,
    RecordingTooLargeError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from rapheunit.core.model import Annotation, Injection, Recording, Unit
from rapheunit.core.version import VERSION

if TYPE_CHECKING:
    from rapheunit.io.load import load
    from rapheunit.run.options import AnalysisOptions
    from rapheunit.run.pipeline import analyze

__version__ = VERSION

# Public name -> the module that defines it, imported on first use.
_LAZY = {
    "load": "rapheunit.io.load",
    "AnalysisOptions": "rapheunit.run.options",
    "analyze": "rapheunit.run.pipeline",
}

# Subpackages and modules reachable as attributes (``rapheunit.doseresponse.fit_hill``).
_SUBMODULES = frozenset(
    {"classify", "cli", "core", "detection", "doseresponse", "io", "measures", "plot", "run",
     "simulate", "viz"}
)

__all__ = [
    "AnalysisOptions",
    "Annotation",
    "BadDoseTableError",
    "BadParameterError",
    "Injection",
    "NoUnitsError",
    "RapheUnitError",
    "Recording",
    "RecordingTooLargeError",
    "Unit",
    "UnreadableFileError",
    "UnsupportedFormatError",
    "__version__",
    "analyze",
    "load",
]


def __getattr__(name: str) -> Any:
    if name == "curation":  # the analyst's decisions: ``rapheunit.curation.add_decision``
        return import_module("rapheunit.core.curation")
    if name in _SUBMODULES:
        return import_module(f"rapheunit.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module 'rapheunit' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES | {"curation"})
