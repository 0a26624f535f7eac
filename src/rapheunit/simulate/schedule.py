"""The simulated drug protocol: ipsapirone in cumulative doubling doses, then WAY-100635."""

from __future__ import annotations

import numpy as np

from rapheunit.core.errors import BadParameterError, check_positive, validate_type
from rapheunit.core.model import Injection

AGONIST = "ipsapirone"
ANTAGONIST = "WAY-100635"
# WAY-100635 0.1 mg/kg i.v. fully reverses 5-HT1A agonist inhibition (Forster et al. 1995).
ANTAGONIST_DOSE_UG_KG = 100.0
DOSE_UNIT = "ug/kg"
# Recording continues this long after the last dose window (antagonist given at its start).
TAIL_S = 300.0


def dose_schedule(
    n_doses: int,
    first_dose_ug_kg: float,
    dose_interval_s: float,
    baseline_s: float,
    with_antagonist: bool,
) -> tuple[list[Injection], float]:
    """Injections (agonist doubling the cumulative dose, then antagonist) and t_stop.

    Examples
    --------
    >>> injections, t_stop = dose_schedule(3, 5.0, 180.0, 300.0, True)
    >>> [(i.time_s, i.dose, i.cumulative_dose) for i in injections]
    [(300.0, 5.0, 5.0), (480.0, 5.0, 10.0), (660.0, 10.0, 20.0), (840.0, 100.0, 100.0)]
    >>> t_stop
    1140.0
    """
    cumulative = first_dose_ug_kg * 2.0 ** np.arange(n_doses)
    increments = np.diff(cumulative, prepend=0.0)
    injections = [
        _injection(baseline_s + index * dose_interval_s, AGONIST, float(dose), float(total))
        for index, (dose, total) in enumerate(zip(increments, cumulative, strict=True))
    ]
    antagonist_time_s = baseline_s + n_doses * dose_interval_s
    if with_antagonist:
        injections.append(
            _injection(antagonist_time_s, ANTAGONIST, ANTAGONIST_DOSE_UG_KG, ANTAGONIST_DOSE_UG_KG)
        )
    return injections, antagonist_time_s + TAIL_S


def check_schedule(
    n_doses: int, first_dose_ug_kg: float, dose_interval_s: float, baseline_s: float
) -> None:
    """Refuse a dose protocol that cannot be simulated, with a one-line reason."""
    validate_type(n_doses, int, "n_doses")
    if n_doses < 1:
        raise BadParameterError(f"n_doses must be >= 1, got {n_doses}")
    check_positive(first_dose_ug_kg, "first_dose_ug_kg")
    check_positive(dose_interval_s, "dose_interval_s")
    check_positive(baseline_s, "baseline_s")


def _injection(
    time_s: float, drug: str, dose_ug_kg: float, cumulative_ug_kg: float
) -> Injection:
    return Injection(
        time_s=time_s,
        drug=drug,
        dose=dose_ug_kg,
        dose_unit=DOSE_UNIT,
        cumulative_dose=cumulative_ug_kg,
        label=_dose_label(drug, dose_ug_kg),
        source="simulator",
    )


def _dose_label(drug: str, dose_ug_kg: float) -> str:
    # Labels follow the rig's marker grammar; the antagonist is noted in mg/kg.
    if drug == ANTAGONIST:
        return f"{drug} {dose_ug_kg / 1000.0:g} mg/kg i.v."
    return f"{drug} {dose_ug_kg:g} {DOSE_UNIT} i.v."

