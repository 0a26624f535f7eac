"""Dose-response: the Hill model and its fitter, population statistics and group comparisons.

The fitting API is re-exported here (``rapheunit.doseresponse.fit_hill``), as
:mod:`rapheunit.doseresponse.fits` declares it.
"""

from rapheunit.doseresponse.fits import *  # noqa: F403
from rapheunit.doseresponse.fits import __all__  # noqa: F401
