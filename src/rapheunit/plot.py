"""Moved to :mod:`rapheunit.viz.plot`; this name keeps old imports working.

>>> from rapheunit.plot import rate_histogram
>>> from rapheunit.viz import plot
>>> rate_histogram is plot.rate_histogram
True
"""

from importlib import import_module
from typing import Any


def __getattr__(name: str) -> Any:
    return getattr(import_module("rapheunit.viz.plot"), name)
