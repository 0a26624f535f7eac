"""Moved to :mod:`rapheunit.viz.plot`; this name keeps old imports working.

>>> from rapheunit.plot import rate_histogram
>>> rate_histogram.__module__
'rapheunit.viz.plot'
"""

from importlib import import_module
from typing import Any


def __getattr__(name: str) -> Any:
    return getattr(import_module("rapheunit.viz.plot"), name)
