"""rapheunit: serotonergic unit identification and 5-HT1A dose-response for dorsal raphe recordings.

The public API mirrors the command line:

>>> import rapheunit
>>> callable(rapheunit.load) and callable(rapheunit.analyze)
True
"""

from __future__ import annotations

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
from rapheunit.io.load import load
from rapheunit.run.options import AnalysisOptions
from rapheunit.run.pipeline import analyze

__version__ = VERSION

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
