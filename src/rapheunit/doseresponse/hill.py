"""The Hill model of inhibition and every choice its fit makes.

Firing in each post-injection window is expressed as % of the pre-drug
baseline and described, against log10 of the cumulative dose, by

    response = top - (top - bottom) / (1 + 10 ** ((log_ed50 - log_dose) * slope))

``top`` is fixed (the baseline is 100 % by construction); ``bottom`` and
``slope`` are bounded. ``ed50`` is the midpoint of the curve: the dose giving
half of the fitted maximal inhibition (``100 - bottom``). For a drug that the
drug table marks as a full agonist at the DRN autoreceptor (ipsapirone,
8-OH-DPAT) the bottom is fixed at 0 %: such a drug silences 5-HT cells at
saturating doses (Sprouse & Aghajanian 1987), and with the top doses of a
raphe experiment near the ED50 a free bottom would trade off against the
slope and bias the ED50. ``ed50_absolute``, the dose that brings firing to
50 % of baseline, is the figure the literature quotes; it equals ``ed50``
when the bottom is 0. An ED50 beyond the highest dose is only a lower bound,
and a parameter that ends on its bound is flagged. The fitter is in
:mod:`rapheunit.doseresponse.fitter`, its profile-likelihood CIs in
:mod:`rapheunit.doseresponse.profile`, the per-unit tables in
:mod:`rapheunit.doseresponse.fits`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from rapheunit.core.errors import BadParameterError, check_positive, validate_type
from rapheunit.core.params import param

BASELINE_PCT = 100.0
# Hill slopes of 5-HT1A agonist inhibition of raphe firing are near 1-2; 0.3-5
# is a deliberately wide physiological window that only stops degenerate
# step-function (slope -> inf) or flat (slope -> 0) solutions.
HILL_SLOPE_RANGE = (0.3, 5.0)
# Three free parameters (log ED50, slope, bottom) need at least three doses.
N_FREE_PARAMETERS = 3
# A design choice, not a literature value: well above the window-to-window
# variation of a regular 5-HT unit's rate over 60 s (a few %), and about 1.5 SD
# of a Poisson unit at 1 Hz (~13 %), so only a real inhibition is fitted.
MIN_INHIBITION_PCT = 20.0
CI_METHOD = "profile_likelihood"
LN10 = float(np.log(10.0))
# One-sided level of the test that firing at the highest dose is below baseline
# by more than its own noise (rapheunit.doseresponse.gates): strict, because a
# non-responder that passes it would be given an ED50.
RESPONSE_ALPHA = 0.01
FIT_STATUSES = (
    "ok",
    "too_few_doses",
    "no_response",
    "no_significant_response",
    "did_not_converge",
    "unit_lost",
)
# Firing at 50 % of baseline defines the absolute ED50, the figure the
# literature quotes for i.v. 5-HT1A agonists (e.g. Sprouse & Aghajanian 1987).
HALF_BASELINE_PCT = BASELINE_PCT / 2.0
# A fitted parameter within this relative distance of a bound is "at the bound".
AT_BOUND_RELATIVE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class FitParams:
    """Every choice the Hill fit makes.

    Parameters
    ----------
    top_pct : float
        Fixed top of the curve, in % of baseline.
    bottom_bounds_pct : tuple of float
        Bounds of the fitted bottom (residual firing at saturating dose), in %.
    slope_bounds : tuple of float
        Bounds of the Hill slope (:data:`HILL_SLOPE_RANGE`).
    min_doses : int
        Fewer distinct doses than this gives ``fit_status="too_few_doses"``.
    min_inhibition_pct : float
        When no dose inhibits firing by at least this much (100 - % baseline)
        the response is flat: ``fit_status="no_response"``.
    confidence : float
        Level of the ED50 confidence interval.
    ed50_search_decades : float
        The ED50 is searched from this many decades below the lowest dose to
        this many above the highest; profile CIs that do not close inside that
        range are open (``ci_low=0`` or ``ci_high=inf``).
    log_ed50_grid_step : float
        Spacing of the coarse log10 ED50 grid that starts the fit and brackets
        the CI limits.
    n_slope_grid : int
        Number of log-spaced slopes in the coarse grid.
    max_iterations : int
        Levenberg-Marquardt iterations before ``fit_status="did_not_converge"``.
    response_alpha : float
        One-sided level of the test that firing at the highest dose is below
        baseline by more than its noise; above it ``fit_status =
        "no_significant_response"`` (:mod:`rapheunit.doseresponse.gates`).
    free_bottom : bool
        Fit the bottom for every drug. By default it is fixed at the lower
        bottom bound (0 %) for drugs that the drug table marks as full
        agonists at the DRN autoreceptor (ipsapirone, 8-OH-DPAT), which silence
        5-HT cells completely at saturating doses.

    Examples
    --------
    >>> FitParams(slope_bounds=(0.5, 3.0)).slope_bounds
    (0.5, 3.0)
    >>> FitParams(confidence=1.5)
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: confidence must be in (0, 1), got 1.5
    """

    top_pct: float = param(BASELINE_PCT, 'Hill fit top (% of baseline), fixed', metavar="PCT")
    bottom_bounds_pct: tuple[float, float] = param(
        (0.0, BASELINE_PCT),
        'bounds of the Hill fit bottom (% of baseline)',
        metavar=("LOW", "HIGH"),
    )
    slope_bounds: tuple[float, float] = param(
        HILL_SLOPE_RANGE,
        'bounds of the Hill slope',
        metavar=("LOW", "HIGH"),
    )
    min_doses: int = param(N_FREE_PARAMETERS, 'fewest distinct doses a fit needs', metavar="N")
    min_inhibition_pct: float = param(
        MIN_INHIBITION_PCT,
        'a unit never inhibited this much has no dose-response',
        metavar="PCT",
    )
    confidence: float = param(
        0.95,
        'confidence level of the ED50 interval',
        name="fit_confidence",
        metavar="LEVEL",
    )
    ed50_search_decades: float = param(
        2.0,
        'ED50s searched this many decades beyond the doses given',
        metavar="DECADES",
    )
    log_ed50_grid_step: float = param(
        0.1,
        'grid step of log10 ED50 in the first search',
        metavar="STEP",
    )
    n_slope_grid: int = param(16, 'Hill slopes tried in the first search', metavar="N")
    max_iterations: int = param(200, 'most Levenberg-Marquardt iterations', metavar="N")
    response_alpha: float = param(
        RESPONSE_ALPHA,
        'level of the test that firing at the highest dose is below baseline',
        metavar="ALPHA",
    )
    free_bottom: bool = param(
        False, 'fit the bottom for full agonists too (default: fixed at zero)'
    )

    def __post_init__(self) -> None:
        check_positive(self.top_pct, "top_pct")
        _check_bounds(self.bottom_bounds_pct, "bottom_bounds_pct", allow_zero=True)
        if self.bottom_bounds_pct[1] > self.top_pct:
            raise BadParameterError(
                f"bottom_bounds_pct upper bound must not exceed top_pct ({self.top_pct}), "
                f"got {self.bottom_bounds_pct[1]}"
            )
        _check_bounds(self.slope_bounds, "slope_bounds", allow_zero=False)
        _check_int_at_least(self.min_doses, "min_doses", N_FREE_PARAMETERS)
        _check_int_at_least(self.n_slope_grid, "n_slope_grid", 3)
        _check_int_at_least(self.max_iterations, "max_iterations", 1)
        if not 0 < validate_type(self.response_alpha, (int, float), "response_alpha") < 1:
            raise BadParameterError(f"response_alpha must be in (0, 1), got {self.response_alpha}")
        validate_type(self.free_bottom, bool, "free_bottom")
        check_positive(self.min_inhibition_pct, "min_inhibition_pct", allow_zero=True)
        if self.min_inhibition_pct >= BASELINE_PCT:
            raise BadParameterError(
                f"min_inhibition_pct must be below {BASELINE_PCT}, got {self.min_inhibition_pct}"
            )
        if not 0 < validate_type(self.confidence, (int, float), "confidence") < 1:
            raise BadParameterError(f"confidence must be in (0, 1), got {self.confidence}")
        check_positive(self.ed50_search_decades, "ed50_search_decades")
        check_positive(self.log_ed50_grid_step, "log_ed50_grid_step")


def _check_bounds(bounds: tuple[float, float], name: str, *, allow_zero: bool) -> None:
    validate_type(bounds, tuple, name)
    if len(bounds) != 2:
        raise BadParameterError(f"{name} must be a (low, high) pair, got {bounds!r}")
    low = check_positive(bounds[0], name, allow_zero=allow_zero)
    high = check_positive(bounds[1], name, allow_zero=allow_zero)
    if not low < high:
        raise BadParameterError(f"{name} must have low < high, got {bounds!r}")


def _check_int_at_least(value: int, name: str, minimum: int) -> None:
    validate_type(value, int, name)
    if value < minimum:
        raise BadParameterError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class HillFit:
    """Result of one Hill fit; fit fields are NaN unless ``fit_status == "ok"``.

    ``ed50_is_lower_bound`` (ED50 above the highest dose) reports
    ``ed50 = highest dose``; ``ed50_is_upper_bound`` (below the lowest dose)
    reports ``ed50 = lowest dose``. Both leave CI, slope, bottom and maximal
    inhibition NaN: the data do not determine them.

    Attributes
    ----------
    ed50, ed50_ci_low, ed50_ci_high : float
        Midpoint dose (in the dose unit) and its profile-likelihood CI; an
        open side is 0 or inf, and the CI is NaN without residual degrees of
        freedom (three doses).
    ed50_ci_method : str
        :data:`CI_METHOD`.
    ed50_ci_level : float
        Confidence level of the CI (:class:`FitParams` ``confidence``).
    hill_slope, bottom_pct : float
        Fitted slope and residual firing (% of baseline) at saturation.
    max_inhibition_pct : float
        ``100 - bottom_pct``.
    observed_max_inhibition_pct : float
        ``100 - lowest % baseline`` in the data (known for every status).
    fit_status : str
        One of :data:`FIT_STATUSES`.
    fit_r2, residual_sd : float
        Coefficient of determination and ``sqrt(SSE / residual df)`` (points
        minus free parameters).
    n_doses, n_points : int
        Distinct doses and points with a finite response.
    bottom_fixed : bool
        The bottom was fixed (a full agonist, :class:`FitParams` ``free_bottom``).
    hill_slope_at_bound, bottom_pct_at_bound : bool
        The fitted slope, or the free bottom, ended on one of its bounds: the
        data did not determine it, and the ED50 depends on the bound.
    ed50_absolute : float
        The dose that brings firing to 50 % of baseline on the fitted curve,
        the figure the literature quotes. Beyond the highest dose (or never
        reached: bottom at or above 50 %) it is reported as the highest dose
        with ``ed50_absolute_is_lower_bound``; below the lowest dose as the
        lowest dose with ``ed50_absolute_is_upper_bound``.
    response_z, response_p : float
        The response test at the highest dose (:mod:`rapheunit.doseresponse.gates`);
        NaN where the noise of the responses is unknown.
    """

    ed50: float
    ed50_ci_low: float
    ed50_ci_high: float
    ed50_is_lower_bound: bool
    ed50_is_upper_bound: bool
    ed50_ci_method: str
    ed50_ci_level: float
    hill_slope: float
    bottom_pct: float
    max_inhibition_pct: float
    observed_max_inhibition_pct: float
    fit_status: str
    fit_r2: float
    residual_sd: float
    n_doses: int
    n_points: int
    bottom_fixed: bool
    hill_slope_at_bound: bool
    bottom_pct_at_bound: bool
    ed50_absolute: float
    ed50_absolute_is_lower_bound: bool
    ed50_absolute_is_upper_bound: bool
    response_z: float
    response_p: float

    def as_row(self) -> dict[str, float | bool | str | int]:
        """The fields as a flat dict, one table row.

        Examples
        --------
        >>> from rapheunit.doseresponse.fitter import fit_hill
        >>> fit = fit_hill(np.array([10.0, 20, 40, 80]), np.array([80.0, 60, 35, 20]))
        >>> fit.as_row()["fit_status"]
        'ok'
        """
        return asdict(self)


HILL_FIT_COLUMNS = tuple(field.name for field in fields(HillFit))
DEFAULT_FIT_PARAMS = FitParams()


def hill_response(
    log_dose: np.ndarray | float,
    log_ed50: np.ndarray | float,
    slope: np.ndarray | float,
    bottom: np.ndarray | float,
    top: np.ndarray | float = BASELINE_PCT,
) -> np.ndarray:
    """Four-parameter logistic in log10 dose (inhibition: falls from top to bottom).

    Examples
    --------
    >>> float(hill_response(2.0, 2.0, 1.0, 0.0))
    50.0
    >>> hill_response(np.array([0.0, 4.0]), 2.0, 1.0, 20.0).round(1).tolist()
    [99.2, 20.8]
    """
    return top - (top - bottom) * effect_fraction(log_dose, log_ed50, slope)


def effect_fraction(
    log_dose: np.ndarray | float, log_ed50: np.ndarray | float, slope: np.ndarray | float
) -> np.ndarray:
    """1 / (1 + 10**((log_ed50 - log_dose) * slope)), computed without overflow."""
    from scipy.special import expit  # imported when first used, not at start-up

    return expit(LN10 * np.multiply(slope, np.subtract(log_dose, log_ed50)))
