"""Pharmacological confirmation of a putative 5-HT unit: agonist inhibition, antagonist reversal.

Reported beside the classification verdict (``pharmacological_confirmation`` in
``units.csv``), never mixed into it: the verdict rests on baseline firing and the
waveform alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapheunit.core.epochs import RECOVERY_PCT_BASELINE
from rapheunit.core.errors import BadParameterError, validate_type
from rapheunit.core.markers import AGONIST, ANTAGONIST, drug_role
from rapheunit.measures.rules import NA

# A 5-HT1A agonist silences DRN 5-HT neurons almost completely (Sprouse &
# Aghajanian 1987, Synapse 1:3); >= 80% inhibition counts as a response.
MIN_AGONIST_INHIBITION_PCT = 80.0
CONFIRMED, NOT_CONFIRMED = "confirmed", "not_confirmed"
DOSE_ROW_COLUMNS = ("drug", "cumulative_dose", "pct_baseline", "injection_time_s")


def pharmacological_confirmation(
    dose_rows: pd.DataFrame, recovery_pct: float = RECOVERY_PCT_BASELINE
) -> str:
    """Whether a 5-HT1A agonist inhibited the unit and WAY-100635 reversed it.

    Parameters
    ----------
    dose_rows : pandas.DataFrame
        One unit's per-injection rows with at least columns ``drug``,
        ``cumulative_dose``, ``pct_baseline`` (firing in the dose window as %
        of baseline) and ``injection_time_s``.
    recovery_pct : float
        Firing (% of baseline) after the antagonist that counts as recovered
        (:data:`rapheunit.core.epochs.RECOVERY_PCT_BASELINE`).

    Returns
    -------
    str
        ``"confirmed"``: some agonist dose inhibited firing by >=
        :data:`MIN_AGONIST_INHIBITION_PCT` % and a later antagonist dose
        brought it back to >= ``recovery_pct`` % of baseline;
        ``"not_confirmed"``: the agonist inhibited less than that (whether or
        not an antagonist followed), or the antagonist did not restore firing;
        ``"na"``: no agonist row with a finite %-of-baseline, or an inhibiting
        agonist never followed by the antagonist (nothing to confirm with).

    Examples
    --------
    >>> rows = pd.DataFrame({"drug": ["ipsapirone", "ipsapirone", "WAY-100635"],
    ...                      "cumulative_dose": [10.0, 20.0, 100.0],
    ...                      "pct_baseline": [40.0, 5.0, 90.0],
    ...                      "injection_time_s": [300.0, 480.0, 660.0]})
    >>> pharmacological_confirmation(rows)
    'confirmed'
    >>> pharmacological_confirmation(rows.iloc[:2])
    'na'
    """
    validate_type(dose_rows, pd.DataFrame, "dose_rows")
    missing = [column for column in DOSE_ROW_COLUMNS if column not in dose_rows.columns]
    if missing:
        raise BadParameterError(f"dose_rows lacks column(s) {', '.join(missing)}")
    roles = dose_rows["drug"].astype(str).map(drug_role)
    pct = pd.to_numeric(dose_rows["pct_baseline"], errors="coerce")
    times = pd.to_numeric(dose_rows["injection_time_s"], errors="coerce")
    agonist = (roles == AGONIST) & np.isfinite(pct)
    if not agonist.any():
        return NA
    if 100.0 - pct[agonist].min() < MIN_AGONIST_INHIBITION_PCT:
        return NOT_CONFIRMED
    antagonist = (roles == ANTAGONIST) & np.isfinite(pct) & (times > times[agonist].min())
    if not antagonist.any():
        return NA
    recovered = pct[antagonist].max() >= recovery_pct
    return CONFIRMED if recovered else NOT_CONFIRMED
