"""rapheunit: serotonergic unit identification and 5-HT1A dose-response for dorsal raphe recordings.

The public API mirrors the command line:

>>> import rapheunit
>>> callable(rapheunit.load) and callable(rapheunit.analyze)
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from rapheunit.errors import (
    BadDoseTableError,
    BadParameterError,
    NoUnitsError,
    RapheUnitError,
    RecordingTooLargeError,
    UnreadableFileError,
    UnsupportedFormatError,
)
from rapheunit.load import load
from rapheunit.model import Annotation, Injection, Recording, Unit
from rapheunit.options import AnalysisOptions
from rapheunit.pipeline import analyze

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
