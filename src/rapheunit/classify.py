"""Moved to :mod:`rapheunit.measures.classify`; this name keeps old imports working.

>>> from rapheunit.classify import classify_recording
>>> classify_recording.__module__
'rapheunit.measures.classify'
"""

from importlib import import_module
from typing import Any


def __getattr__(name: str) -> Any:
    return getattr(import_module("rapheunit.measures.classify"), name)
