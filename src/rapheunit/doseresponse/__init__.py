"""Dose-response: the Hill model and its fitter, population statistics and group comparisons.

The fitting API is re-exported here (``rapheunit.doseresponse.fit_hill``).
"""

from rapheunit.doseresponse.fits import (
    FitParams,
    HillFit,
    dose_responses,
    fit_hill,
    fit_hill_batch,
    hill_response,
    unit_dose_response,
)

__all__ = [
    "FitParams",
    "HillFit",
    "dose_responses",
    "fit_hill",
    "fit_hill_batch",
    "hill_response",
    "unit_dose_response",
]
