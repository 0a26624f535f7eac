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
from rapheunit.doseresponse.ed50_shift import bootstrap_log_ratios as bootstrap_log_ratios
from rapheunit.doseresponse.ed50_shift import (
    bootstrap_log_ratios_many,
    extrapolation_note,
    fit_ed50_shifts,
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
from rapheunit.doseresponse.mixed_model import LinearFit, linear_models, t_inference
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
        _DrugData(str(drug), drug_points, group_by, _separate_fits(drug_points, group_by, fit))
        for drug, drug_points in (points.groupby("drug", sort=True) if pairs else ())
    ]
    # the rows of each measure's groups, found once for all pairs
    tables = {measure: _GroupedRows(grouped, measure, group_by)
              for measure, _ in UNIT_MEASURES if measure in grouped.columns}
    batch = _Batch(params, fit)
    rows = []
    for group_a, group_b in pairs:
        pair = {"group_by": group_by, "group_a": group_a, "group_b": group_b}
        for measure, measure_unit in UNIT_MEASURES:
            if measure not in tables:
                missing = {"measure": measure, "drug": "", "note": f"units table has no {measure}"}
                rows.append(pair | missing)
                continue
            row = {**pair, "measure": measure, "drug": "", "measure_unit": measure_unit}
            rows.append(batch.difference(row, tables[measure], group_a, group_b))
        for drug in drugs:
            inhibition = {**pair, "measure": MAX_INHIBITION, "drug": drug.drug,
                          "measure_unit": "%"}
            rows.append(batch.difference(inhibition, drug.per_unit, group_a, group_b))
            shift = {**pair, "measure": ED50, "drug": drug.drug, "measure_unit": drug.dose_unit}
            rows.append(batch.shift(shift, drug, group_a, group_b))
    batch.run()
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


class _GroupedRows:
    """A table's rows with a finite ``column``, by group, with each group's counts.

    A pair of groups takes its two groups' rows in table order, as a selection of the
    whole table would.
    """

    def __init__(self, table: pd.DataFrame, column: str, group_by: str) -> None:
        values = table[column].to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        labels = table[group_by].to_numpy()[finite]
        self.values = values[finite]
        # animals as integer codes in the order of their names: sorting and matching them is
        # what every pair's model and bootstrap do
        self.animals = pd.factorize(table[ANIMAL].astype(str), sort=True)[0][finite]
        # the doses of dose points (their rows' values are % of baseline)
        self.doses = (table["cumulative_dose"].to_numpy(dtype=np.float64)[finite]
                      if "cumulative_dose" in table.columns else np.full(finite.sum(), np.nan))
        units = list(zip(table[RECORDING].to_numpy()[finite], table["unit"].to_numpy()[finite],
                         strict=True))
        self.rows: dict[object, np.ndarray] = {}
        self.counts: dict[object, tuple[int, int]] = {}
        for label in dict.fromkeys(labels):
            members = np.flatnonzero(labels == label)
            self.rows[label] = members
            self.counts[label] = (len({units[row] for row in members}),
                                  len(set(self.animals[members])))

    def pair(self, group_a: str, group_b: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the pair in table order, and which of them are in group b."""
        empty = np.empty(0, dtype=np.intp)
        in_a, in_b = self.rows.get(group_a, empty), self.rows.get(group_b, empty)
        rows = np.concatenate([in_a, in_b])
        order = np.argsort(rows, kind="stable")
        return rows[order], (np.arange(rows.size) >= in_a.size)[order]

    def pair_counts(self, group_a: str, group_b: str) -> dict[str, int]:
        (units_a, animals_a), (units_b, animals_b) = (
            self.counts.get(label, (0, 0)) for label in (group_a, group_b)
        )
        return {"n_units_a": units_a, "n_units_b": units_b, "n_animals_a": animals_a,
                "n_animals_b": animals_b}


class _DrugData:
    """One drug's dose points and units by group, its dose unit and each group's own fit."""

    def __init__(self, drug: str, points: pd.DataFrame, group_by: str,
                 separate: dict[str, np.ndarray]) -> None:
        if points["dose_unit"].nunique() > 1:
            raise BadDoseTableError(
                f"{drug}: units use different dose units; cannot compare groups"
            )
        self.drug = drug
        self.points = _GroupedRows(points, "pct_baseline", group_by)
        self.per_unit = _GroupedRows(points.drop_duplicates(subset=list(UNIT_KEY)),
                                     MAX_INHIBITION, group_by)
        self.dose_unit = str(points["dose_unit"].iloc[0])
        self.separate = separate


class _Batch:
    """Rows whose models are fitted together once every pair has been gathered.

    :meth:`difference` and :meth:`shift` return the row at once (counts, or the note
    that it cannot be fitted) and keep what is to be fitted; :meth:`run` fits every
    kept problem in a few batched calls and completes those rows in place.
    """

    def __init__(self, params: GroupParams, fit: FitParams) -> None:
        self.params, self.fit = params, fit
        # (row, problem, between-animal degrees of freedom) of each row still to fit
        self.differences: list[tuple[dict[str, object], tuple[np.ndarray, ...], int]] = []
        self.shifts: list[tuple[dict[str, object], tuple[np.ndarray, ...], int]] = []

    def difference(self, row: dict[str, object], table: _GroupedRows, group_a: str,
                   group_b: str) -> dict[str, object]:
        """Mixed-model (animal random intercept) difference of a per-unit measure, b - a."""
        counts = table.pair_counts(group_a, group_b)
        row |= {**counts, "contrast": DIFFERENCE}
        df = _between_animal_df(counts)
        if min(counts["n_animals_a"], counts["n_animals_b"]) < 1 or df < 1:
            row["note"] = "too few animals: need one per group and three in all"
            return row
        members, in_b = table.pair(group_a, group_b)
        design = np.column_stack([np.ones(in_b.size), in_b.astype(np.float64)])
        problem = (table.values[members], design, table.animals[members])
        self.differences.append((row, problem, df))
        return row

    def shift(self, row: dict[str, object], drug: _DrugData, group_a: str,
              group_b: str) -> dict[str, object]:
        """ED50 per group, their ratio and its cluster-bootstrap CI and test."""
        counts = drug.points.pair_counts(group_a, group_b)
        row |= {**counts, "contrast": RATIO}
        members, in_b = drug.points.pair(group_a, group_b)
        dose = drug.points.doses[members]
        n_doses = [np.unique(dose[group]).size for group in (~in_b, in_b)]
        if min(n_doses) < self.fit.min_doses:
            row["note"] = f"each group needs {self.fit.min_doses} distinct doses"
            return row
        own_fits = np.vstack([drug.separate[group_a], drug.separate[group_b]])
        problem = (dose, drug.points.values[members], in_b, own_fits, drug.points.animals[members])
        self.shifts.append((row, problem, _between_animal_df(counts)))
        return row

    def run(self) -> None:
        fits = linear_models([problem for _, problem, _ in self.differences])
        for (row, _, df), fitted in zip(self.differences, fits, strict=True):
            row |= self._difference_result(fitted, df)
        estimates = fit_ed50_shifts([problem[:4] for _, problem, _ in self.shifts], self.fit)
        # a CI needs n - 1 >= 1 animals of each group to draw
        with_ci = [index for index, (row, _, _) in enumerate(self.shifts)
                   if min(row["n_animals_a"], row["n_animals_b"]) >= MIN_ANIMALS_PER_GROUP]
        log_ratios = bootstrap_log_ratios_many(
            [(*self.shifts[index][1][:3], self.shifts[index][1][4], estimates[index])
             for index in with_ci],
            self.params.n_bootstrap, self.params.seed, self.fit,
        )
        ratios_of = dict(zip(with_ci, log_ratios, strict=True))
        for index, ((row, problem, df), estimate) in enumerate(
            zip(self.shifts, estimates, strict=True)
        ):
            row |= self._shift_result(problem, estimate, ratios_of.get(index), df)

    def _difference_result(self, fitted: LinearFit | None, df: int) -> dict[str, object]:
        if fitted is None:
            return {"note": "linear model failed"}
        intercept, effect = (float(value) for value in fitted.coefficients[:2])
        inference = t_inference(effect, fitted.standard_error, df, self.params.confidence)
        return {
            "estimate_a": intercept,
            "estimate_b": intercept + effect,
            "contrast_estimate": effect,
            "test": fitted.test,
            **inference,
            "note": _joined(fitted.note, str(inference.get("note", ""))),
        }

    def _shift_result(self, problem: tuple[np.ndarray, ...], estimate: ShiftFit,
                      log_ratios: np.ndarray | None, df: int) -> dict[str, object]:
        dose, _, in_b = problem[:3]
        note = extrapolation_note(estimate, dose, in_b)
        result: dict[str, object] = {
            "estimate_a": estimate.ed50_a,
            "estimate_b": estimate.ed50_b,
            "contrast_estimate": estimate.ratio,
        }
        if log_ratios is None:
            no_ci = f"no CI: needs {MIN_ANIMALS_PER_GROUP} animals per group"
            return result | {"note": _joined(note, no_ci)}
        inference = t_inference(estimate.log_ratio, float(np.std(log_ratios, ddof=1)), df,
                                self.params.confidence)
        for limit in ("ci_low", "ci_high"):
            if limit in inference:
                inference[limit] = float(10.0 ** inference[limit])
        note = _joined(note, str(inference.pop("note", "")))
        return result | {"test": BOOTSTRAP_TEST, **inference, "note": note}


def _between_animal_df(counts: dict[str, int]) -> int:
    return counts["n_animals_a"] + counts["n_animals_b"] - N_GROUP_PARAMETERS


def _joined(*notes: str) -> str:
    return "; ".join(note for note in notes if note)
