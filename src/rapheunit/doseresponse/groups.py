"""Comparisons between groups of animals.

The metadata that defines the groups is read and joined by
:mod:`rapheunit.doseresponse.metadata`; the mixed models are in
:mod:`rapheunit.doseresponse.mixed_model` and the ED50-shift fit and its
bootstrap in :mod:`rapheunit.doseresponse.ed50_shift` (names re-exported here).

Comparisons (:func:`compare_groups`)
------------------------------------
Units are those of class ``cell_class`` (putative 5-HT by default) when the
unit table has a ``classification`` column. Units of recordings that have no
group in the metadata are left out. Group labels are compared as text. With
two groups there is one comparison per measure (``group_b`` against
``group_a``, sorted, or against ``reference``); with more, every pair.

Cells are nested in animals: ten cells from one rat are not ten rats. A
recording without an ``animal`` (no column, or an empty cell) is its own
animal.

- ``baseline_rate_hz``, ``cv_isi`` (per unit) and ``max_inhibition_pct``
  (per unit and drug: 100 - the lowest % of baseline over the doses given,
  so it reflects potency as well as efficacy when the doses stop short of
  the plateau): difference ``b - a`` from a linear mixed model ``value ~
  group`` with a random intercept per animal (REML, :mod:`~rapheunit.doseresponse.mixed_model`).
  The group effect varies between animals, so its t test and CI use the
  between-animal degrees of freedom, ``n_animals - 2`` (the containment
  rule), not the number of cells. When every animal gave one cell the model
  is ordinary least squares (the same t test). Estimates per group are the
  model's group means.
- ``ed50`` (per dose-response drug): the ratio ``ED50_b / ED50_a`` of a Hill
  curve with a shared slope and bottom shifted in log dose, with a cluster
  bootstrap (``n - 1`` of a group's ``n`` animals per replicate) for its
  standard error; the CI is ``log ratio +/- t * SE`` back transformed and the
  test a t test of ``log ratio = 0``, both on ``n_animals - 2`` degrees of
  freedom as above. Method and its coverage: :mod:`rapheunit.doseresponse.ed50_shift`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rapheunit.core.errors import (
    BadDoseTableError,
    BadParameterError,
    check_positive,
    validate_type,
)
from rapheunit.core.params import param
from rapheunit.doseresponse.ed50_shift import ShiftFit as ShiftFit
from rapheunit.doseresponse.ed50_shift import (
    bootstrap_log_ratios,
    extrapolation_note,
    separate_fits,
)
from rapheunit.doseresponse.ed50_shift import fit_ed50_shift as fit_ed50_shift
from rapheunit.doseresponse.fits import (
    DEFAULT_FIT_PARAMS,
    UNIT_KEY,
    FitParams,
)
from rapheunit.doseresponse.metadata import ANIMAL, MAX_INHIBITION, RECORDING
from rapheunit.doseresponse.metadata import group_dose_points as group_dose_points
from rapheunit.doseresponse.metadata import group_pairs as group_pairs
from rapheunit.doseresponse.metadata import group_units as group_units
from rapheunit.doseresponse.metadata import join_metadata as join_metadata
from rapheunit.doseresponse.metadata import read_metadata as read_metadata
from rapheunit.doseresponse.mixed_model import MIXED_MODEL_TEST as MIXED_MODEL_TEST
from rapheunit.doseresponse.mixed_model import OLS_TEST as OLS_TEST
from rapheunit.doseresponse.mixed_model import linear_model, t_inference
from rapheunit.measures.classify import PUTATIVE_5HT

# Unit-table measures compared between groups, with their unit.
UNIT_MEASURES = (("baseline_rate_hz", "Hz"), ("cv_isi", ""))
ED50 = "ed50"
DIFFERENCE = "difference b-a"
RATIO = "ratio b/a"
BOOTSTRAP_TEST = "cluster_bootstrap_t"
# Group intercept and group effect use two between-animal degrees of freedom.
N_GROUP_PARAMETERS = 2
# The SD of B replicates is off by about 1 / sqrt(2 B): at least 99 keeps that near 7 %.
MIN_BOOTSTRAP = 99
# Drawing n - 1 animals per group needs two of them to vary at all.
MIN_ANIMALS_PER_GROUP = 2
GROUP_COLUMNS = (
    "measure",
    "drug",
    "group_by",
    "group_a",
    "group_b",
    "n_units_a",
    "n_units_b",
    "n_animals_a",
    "n_animals_b",
    "estimate_a",
    "estimate_b",
    "measure_unit",
    "contrast",
    "contrast_estimate",
    "ci_low",
    "ci_high",
    "confidence",
    "test",
    "statistic",
    "df",
    "p",
    "note",
)


@dataclass(frozen=True)
class GroupParams:
    """Choices of the group comparisons.

    Parameters
    ----------
    confidence : float
        Level of every confidence interval.
    n_bootstrap : int
        Cluster-bootstrap replicates of the ED50 shift (at least :data:`MIN_BOOTSTRAP`).
    seed : int
        Seed of the bootstrap; the same data and seed give the same CI.
    reference : str, optional
        Group every other group is compared with (as ``group_a``); None: every pair.
    cell_class : str, optional
        Units of this ``classification`` are compared; None: all units.

    Examples
    --------
    >>> GroupParams(n_bootstrap=199).n_bootstrap
    199
    >>> GroupParams(confidence=95)
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: confidence must be in (0, 1), got 95
    """

    confidence: float = param(
        0.95,
        'confidence level of the group comparisons',
        name="group_confidence",
        metavar="LEVEL",
    )
    n_bootstrap: int = param(499, 'cluster-bootstrap resamples of the ED50 shift', metavar="N")
    seed: int = param(0, 'random seed of the bootstrap', name="bootstrap_seed", metavar="N")
    reference: str | None = param(
        None,
        'group every other group is compared with (default: every pair)',
        name="group_reference",
        metavar="GROUP",
    )
    cell_class: str | None = param(
        PUTATIVE_5HT,
        'classification of the units compared (empty: all units)',
        name="group_cell_class",
        metavar="CLASS",
    )

    def __post_init__(self) -> None:
        if not 0 < check_positive(self.confidence, "confidence") < 1:
            raise BadParameterError(f"confidence must be in (0, 1), got {self.confidence}")
        validate_type(self.n_bootstrap, int, "n_bootstrap")
        if self.n_bootstrap < MIN_BOOTSTRAP:
            raise BadParameterError(
                f"n_bootstrap must be >= {MIN_BOOTSTRAP}, got {self.n_bootstrap}"
            )
        validate_type(self.seed, int, "seed")
        if self.reference is not None:
            validate_type(self.reference, str, "reference")
        if self.cell_class is not None:
            validate_type(self.cell_class, str, "cell_class")


def compare_groups(
    units: pd.DataFrame,
    doses: pd.DataFrame,
    metadata: pd.DataFrame | str | Path,
    group_by: str = "group",
    params: GroupParams | None = None,
    fit: FitParams = DEFAULT_FIT_PARAMS,
) -> pd.DataFrame:
    """Compare groups: baseline firing, regularity, maximal inhibition and ED50 shift.

    Parameters
    ----------
    units : pandas.DataFrame
        One row per unit (``recording, unit, baseline_rate_hz``; ``cv_isi``
        and ``classification`` when available).
    doses : pandas.DataFrame
        Per unit and injection, as in ``doses.csv``.
    metadata : pandas.DataFrame or path
        See :func:`read_metadata`; must have the ``group_by`` column.
    group_by : str
        Metadata column that defines the groups.
    params : GroupParams, optional
        Confidence, bootstrap, reference group and cell class.
    fit : FitParams
        Bounds of the shared Hill fit (slope, bottom, ED50 search range).

    Returns
    -------
    pandas.DataFrame
        One row per measure (and drug) and pair of groups with
        :data:`GROUP_COLUMNS` (the rows of ``groups.csv``); the method of each
        row is in the module docstring. Too little data gives NaN and a ``note``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> meta = pd.DataFrame({"recording": [f"r{i}" for i in range(8)], "group": ["A", "B"] * 4})
    >>> units = pd.DataFrame({"recording": np.repeat(meta["recording"], 2), "unit": ["a", "b"] * 8,
    ...     "baseline_rate_hz": rng.normal(1.5, 0.2, 16) + np.tile([0, 0, 0.5, 0.5], 4)})
    >>> result = compare_groups(units, pd.DataFrame(columns=["recording", "unit", "drug",
    ...     "dose_unit", "cumulative_dose", "injection_time_s", "rate_hz", "pct_baseline"]), meta)
    >>> row = result.iloc[0]
    >>> row["measure"], row["test"], float(row["df"]), bool(row["ci_low"] < 0.5 < row["ci_high"])
    ('baseline_rate_hz', 'mixedlm_t', 6.0, True)
    """
    params = params or GroupParams()
    metadata = read_metadata(metadata)
    grouped = group_units(units, metadata, group_by, params.cell_class)
    points = group_dose_points(doses, grouped, group_by)
    pairs = group_pairs(grouped[group_by].tolist(), params.reference)
    # each group's own Hill fit starts the shift fit of every pair it is in: fitted once
    drugs = [
        _DrugData(str(drug), drug_points, _separate_fits(drug_points, group_by, fit))
        for drug, drug_points in (points.groupby("drug", sort=True) if pairs else ())
    ]
    # the columns each measure's model reads, taken once for all pairs
    tables = {measure: grouped[[*UNIT_KEY, group_by, ANIMAL, measure]]
              for measure, _ in UNIT_MEASURES if measure in grouped.columns}
    rows = []
    for group_a, group_b in pairs:
        pair = {"group_by": group_by, "group_a": group_a, "group_b": group_b}
        for measure, measure_unit in UNIT_MEASURES:
            if measure not in tables:
                missing = {"measure": measure, "drug": "", "note": f"units table has no {measure}"}
                rows.append(pair | missing)
                continue
            rows.append(
                {**pair, "measure": measure, "drug": "", "measure_unit": measure_unit}
                | _difference_row(tables[measure], measure, pair, params)
            )
        for drug in drugs:
            rows.extend(_drug_rows(drug, pair, params, fit))
    result = pd.DataFrame(rows, columns=list(GROUP_COLUMNS))
    result["confidence"] = params.confidence
    counts = ["n_units_a", "n_units_b", "n_animals_a", "n_animals_b"]
    result[counts] = result[counts].astype("Int64")
    return result


def _separate_fits(
    points: pd.DataFrame, group_by: str, fit: FitParams
) -> dict[str, np.ndarray]:
    """Group label -> its own Hill fit (log10 ED50, slope, bottom), see ``separate_fits``."""
    labels = sorted(points[group_by].unique())
    members = [points[points[group_by] == label] for label in labels]
    groups = [
        (np.log10(rows["cumulative_dose"].to_numpy(dtype=np.float64)),
         rows["pct_baseline"].to_numpy(dtype=np.float64))
        for rows in members
    ]
    return dict(zip(labels, separate_fits(groups, fit), strict=True)) if labels else {}


class _DrugData:
    """One drug's dose points, one row per unit, its dose unit and each group's own fit."""

    def __init__(self, drug: str, points: pd.DataFrame, separate: dict[str, np.ndarray]) -> None:
        if points["dose_unit"].nunique() > 1:
            raise BadDoseTableError(
                f"{drug}: units use different dose units; cannot compare groups"
            )
        self.drug = drug
        self.points = points
        self.per_unit = points.drop_duplicates(subset=list(UNIT_KEY))
        self.dose_unit = str(points["dose_unit"].iloc[0])
        self.separate = separate


def _drug_rows(
    data: _DrugData, pair: dict[str, str], params: GroupParams, fit: FitParams
) -> list[dict[str, object]]:
    inhibition = {**pair, "measure": MAX_INHIBITION, "drug": data.drug, "measure_unit": "%"}
    inhibition |= _difference_row(data.per_unit, MAX_INHIBITION, pair, params)
    shift = {**pair, "measure": ED50, "drug": data.drug, "measure_unit": data.dose_unit}
    shift |= _shift_row(data.points, pair, params, fit, data.separate)
    return [inhibition, shift]


def _counts(table: pd.DataFrame, in_b: np.ndarray) -> dict[str, int]:
    """Distinct units and animals of groups a and b (sets: a few dozen rows per pair)."""
    recordings, units, animals = (table[c].to_numpy() for c in (RECORDING, "unit", ANIMAL))
    counts = {}
    for name, members in (("a", ~in_b), ("b", in_b)):
        counts[f"n_units_{name}"] = len(set(zip(recordings[members], units[members], strict=True)))
        counts[f"n_animals_{name}"] = len(set(animals[members]))
    return {key: counts[key] for key in ("n_units_a", "n_units_b", "n_animals_a", "n_animals_b")}


def _pair_rows(
    table: pd.DataFrame, column: str, pair: dict[str, str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of the pair's two groups with a finite ``column``, and which are in group b."""
    labels = table[pair["group_by"]]
    values = table[column].to_numpy(dtype=np.float64)
    rows = table[labels.isin([pair["group_a"], pair["group_b"]]) & np.isfinite(values)]
    return rows, (rows[pair["group_by"]] == pair["group_b"]).to_numpy()


def _difference_row(
    table: pd.DataFrame, measure: str, pair: dict[str, str], params: GroupParams
) -> dict[str, object]:
    """Mixed-model (animal random intercept) difference of a per-unit measure, b - a."""
    rows, in_b = _pair_rows(table, measure, pair)
    counts = _counts(rows, in_b)
    row: dict[str, object] = {**counts, "contrast": DIFFERENCE}
    df = counts["n_animals_a"] + counts["n_animals_b"] - N_GROUP_PARAMETERS
    if min(counts["n_animals_a"], counts["n_animals_b"]) < 1 or df < 1:
        return row | {"note": "too few animals: need one per group and three in all"}
    values = rows[measure].to_numpy(dtype=np.float64)
    design = np.column_stack([np.ones(in_b.size), in_b.astype(np.float64)])
    animals = rows[ANIMAL].to_numpy()
    fitted = linear_model(values, design, animals)
    if fitted is None:
        return row | {"note": "linear model failed"}
    intercept, effect = (float(value) for value in fitted.coefficients[:2])
    inference = t_inference(effect, fitted.standard_error, df, params.confidence)
    return row | {
        "estimate_a": intercept,
        "estimate_b": intercept + effect,
        "contrast_estimate": effect,
        "test": fitted.test,
        **inference,
        "note": _joined(fitted.note, str(inference.get("note", ""))),
    }


def _joined(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _shift_row(
    points: pd.DataFrame,
    pair: dict[str, str],
    params: GroupParams,
    fit: FitParams,
    separate: dict[str, np.ndarray],
) -> dict[str, object]:
    """ED50 per group, their ratio and its cluster-bootstrap CI and test."""
    rows, in_b = _pair_rows(points, "pct_baseline", pair)
    counts = _counts(rows, in_b)
    row: dict[str, object] = {**counts, "contrast": RATIO}
    n_doses = [rows.loc[members, "cumulative_dose"].nunique() for members in (~in_b, in_b)]
    if min(n_doses) < fit.min_doses:
        return row | {"note": f"each group needs {fit.min_doses} distinct doses"}
    dose = rows["cumulative_dose"].to_numpy(dtype=np.float64)
    response = rows["pct_baseline"].to_numpy(dtype=np.float64)
    own_fits = np.vstack([separate[pair["group_a"]], separate[pair["group_b"]]])
    estimate = fit_ed50_shift(dose, response, in_b, fit, own_fits)
    note = extrapolation_note(estimate, dose, in_b)
    row |= {
        "estimate_a": estimate.ed50_a,
        "estimate_b": estimate.ed50_b,
        "contrast_estimate": estimate.ratio,
    }
    if min(counts["n_animals_a"], counts["n_animals_b"]) < MIN_ANIMALS_PER_GROUP:
        no_ci = f"no CI: needs {MIN_ANIMALS_PER_GROUP} animals per group"
        return row | {"note": _joined(note, no_ci)}
    log_ratios = bootstrap_log_ratios(
        dose, response, in_b, rows[ANIMAL].to_numpy(), estimate, params.n_bootstrap, params.seed,
        fit,
    )
    df = counts["n_animals_a"] + counts["n_animals_b"] - N_GROUP_PARAMETERS
    inference = t_inference(
        estimate.log_ratio, float(np.std(log_ratios, ddof=1)), df, params.confidence
    )
    for limit in ("ci_low", "ci_high"):
        if limit in inference:
            inference[limit] = float(10.0 ** inference[limit])
    note = _joined(note, str(inference.pop("note", "")))
    return row | {"test": BOOTSTRAP_TEST, **inference, "note": note}
