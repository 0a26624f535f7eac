"""Experimental metadata and comparisons between groups of animals.

Metadata
--------
An optional table with one row per recording and free columns, e.g.
``recording, animal, group, treatment, days``. ``recording`` must match the
recording names of the output tables (the file stem) and be unique.
:func:`join_metadata` adds its columns to any table with a ``recording``
column.

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
  group`` with a random intercept per animal (statsmodels ``MixedLM``, REML).
  The group effect varies between animals, so its t test and CI use the
  between-animal degrees of freedom, ``n_animals - 2`` (the containment
  rule), not the number of cells. When every animal gave one cell the model
  is ordinary least squares (the same t test). Estimates per group are the
  model's group means.
- ``ed50`` (per dose-response drug): a Hill curve with a shared slope and
  bottom is fitted to every unit's points of both groups, with a shift
  parameter ``log10(ED50_b / ED50_a)`` (a parallel shift of the curve).
  Its standard error comes from a cluster bootstrap over animals: each
  replicate draws ``n - 1`` of a group's ``n`` animals with replacement and
  refits, which makes the bootstrap variance match the usual unbiased one
  (McCarthy & Snowden 1985, stratified bootstrap of size ``n_h - 1``); a
  plain size-``n`` bootstrap is too narrow by ``(n - 1) / n`` with the
  few animals of a typical study. The CI is ``log ratio +/- t * SE``, back
  transformed, and the test a t test of ``log ratio = 0``, both on the
  between-animal ``n_animals - 2`` degrees of freedom, as above. On 80
  simulated studies (4 rats x 3 cells per group, true ratio 3) this CI
  covered the truth 95 % of the time; a plain percentile bootstrap, 83 %.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.optimize import least_squares
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from rapheunit.core.errors import (
    BadDoseTableError,
    BadParameterError,
    UnreadableFileError,
    check_positive,
    validate_type,
)
from rapheunit.core.params import param
from rapheunit.doseresponse.fits import (
    BASELINE_PCT,
    DEFAULT_FIT_PARAMS,
    NON_DOSE_RESPONSE_ROLES,
    UNIT_KEY,
    FitParams,
    dose_responses,
    fit_hill_batch,
    hill_response,
)
from rapheunit.measures.classify import PUTATIVE_5HT

RECORDING = "recording"
ANIMAL = "animal"
TAB_SEPARATED_SUFFIXES = (".tsv", ".tab")
# Unit-table measures compared between groups, with their unit.
UNIT_MEASURES = (("baseline_rate_hz", "Hz"), ("cv_isi", ""))
MAX_INHIBITION = "max_inhibition_pct"
ED50 = "ed50"
DIFFERENCE = "difference b-a"
RATIO = "ratio b/a"
MIXED_MODEL_TEST = "mixedlm_t"
# Powell (derivative-free) converges when the animal variance is at its 0 bound, where
# gradient optimizers stall or hit a singular matrix; L-BFGS is the fallback.
MIXED_MODEL_OPTIMIZERS = ["powell", "lbfgs"]
OLS_TEST = "ols_t"
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


def read_metadata(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Read and validate a metadata table (CSV, or TSV for ``.tsv``/``.tab``).

    Parameters
    ----------
    source : path or pandas.DataFrame
        A file, or a table given in Python.

    Returns
    -------
    pandas.DataFrame
        A copy with stripped column names and ``recording`` (and ``animal``)
        as text.

    Raises
    ------
    UnreadableFileError
        The file cannot be read as a table.
    BadParameterError
        No ``recording`` column, an empty or a repeated recording name.

    Examples
    --------
    >>> table = read_metadata(pd.DataFrame({"recording": ["r1", "r2"], "group": ["A", "B"]}))
    >>> table["group"].tolist()
    ['A', 'B']
    >>> read_metadata(pd.DataFrame({"recording": ["r1", "r1"]}))
    Traceback (most recent call last):
    ...
    rapheunit.core.errors.BadParameterError: recording 'r1' appears 2 times in the metadata
    """
    if isinstance(source, pd.DataFrame):
        return _validated(source.copy(), None)
    validate_type(source, (str, Path), "metadata")
    path = Path(source)
    separator = "\t" if path.suffix.lower() in TAB_SEPARATED_SUFFIXES else ","
    try:
        header = pd.read_csv(path, sep=separator, nrows=0).columns
        # names stay text ("001" is not 1) whatever spaces surround the column name
        text = {column: str for column in header if str(column).strip() in (RECORDING, ANIMAL)}
        table = pd.read_csv(path, sep=separator, dtype=text)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        reason = " ".join(str(error).split())
        raise UnreadableFileError(f"metadata is not a readable table ({reason})", path) from error
    return _validated(table, path)


def _validated(table: pd.DataFrame, path: Path | None) -> pd.DataFrame:
    table.columns = [str(column).strip() for column in table.columns]
    if RECORDING not in table.columns:
        found = ", ".join(table.columns) or "none"
        raise BadParameterError(f"metadata needs a 'recording' column (found: {found})", path)
    if table.empty:
        raise BadParameterError("metadata has no rows", path)
    names = table[RECORDING].astype("string").str.strip()
    empty = names.isna() | (names == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0]) + 1
        raise BadParameterError(f"metadata row {row} has no recording name", path)
    counts = names.value_counts(sort=False)
    repeated = counts[counts > 1]
    if len(repeated):
        name, count = repeated.index[0], int(repeated.iloc[0])
        raise BadParameterError(f"recording {name!r} appears {count} times in the metadata", path)
    table[RECORDING] = names.astype(object)
    if ANIMAL in table.columns:
        animals = table[ANIMAL].astype("string").str.strip()
        table[ANIMAL] = animals.where(animals != "").astype(object)
    return table


def join_metadata(table: pd.DataFrame, metadata: pd.DataFrame | str | Path) -> pd.DataFrame:
    """``table`` with the metadata columns of its recording added (left join on ``recording``).

    Rows of recordings not in the metadata get missing values. A metadata
    column that the table already has is an error rather than a silent rename.

    Examples
    --------
    >>> units = pd.DataFrame({"recording": ["r1", "r1", "r2"], "unit": ["a", "b", "a"]})
    >>> meta = pd.DataFrame({"recording": ["r1"], "group": ["SSRI"]})
    >>> join_metadata(units, meta)["group"].tolist()
    ['SSRI', 'SSRI', nan]
    """
    validate_type(table, pd.DataFrame, "table")
    metadata = read_metadata(metadata)
    if RECORDING not in table.columns:
        raise BadParameterError("table has no 'recording' column to join metadata on")
    overlap = [c for c in metadata.columns if c != RECORDING and c in table.columns]
    if overlap:
        raise BadParameterError(
            f"metadata column(s) {', '.join(overlap)} already in the table; rename them"
        )
    keyed = table.assign(**{RECORDING: table[RECORDING].astype(str).astype(object)})
    return keyed.merge(metadata, on=RECORDING, how="left", validate="many_to_one")


def group_units(
    units: pd.DataFrame,
    metadata: pd.DataFrame | str | Path,
    group_by: str = "group",
    cell_class: str | None = PUTATIVE_5HT,
) -> pd.DataFrame:
    """The units to compare, with their group (as text) and ``animal``.

    Metadata columns already in ``units`` (joined earlier) are replaced by
    those of ``metadata``. Units whose recording has no group are dropped.

    Examples
    --------
    >>> units = pd.DataFrame({"recording": ["r1", "r2", "r3"], "unit": "a",
    ...     "classification": ["putative_5ht", "putative_5ht", "non_5ht"]})
    >>> meta = pd.DataFrame({"recording": ["r1", "r2", "r3"], "group": ["A", "B", "B"]})
    >>> group_units(units, meta)[["recording", "group", "animal"]].to_numpy().tolist()
    [['r1', 'A', 'r1'], ['r2', 'B', 'r2']]
    """
    validate_type(units, pd.DataFrame, "units")
    validate_type(group_by, str, "group_by")
    metadata = read_metadata(metadata)
    if group_by not in metadata.columns or group_by == RECORDING:
        raise BadParameterError(f"group_by {group_by!r} is not a metadata column")
    selected = units
    if cell_class is not None and "classification" in units.columns:
        selected = units[units["classification"] == cell_class]
    earlier = [c for c in metadata.columns if c != RECORDING and c in selected.columns]
    joined = join_metadata(selected.drop(columns=earlier), metadata)
    recordings = joined[RECORDING]
    animals = joined[ANIMAL] if ANIMAL in joined.columns else recordings
    joined[ANIMAL] = animals.where(animals.notna(), recordings).astype(str)
    joined = joined[joined[group_by].notna()].reset_index(drop=True)
    joined[group_by] = [_group_label(value) for value in joined[group_by]]
    return joined


def _group_label(value: object) -> str:
    """Text label of a group value; 14.0 read from a column with gaps becomes '14'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return f"{value:g}"
    return str(value)


def group_dose_points(
    doses: pd.DataFrame, grouped_units: pd.DataFrame, group_by: str
) -> pd.DataFrame:
    """Dose-response points of the grouped units, with ``max_inhibition_pct`` per unit and drug.

    Points are the rows of dose-response drugs (not antagonists or vehicles)
    with a positive cumulative dose and a finite % of baseline.

    Examples
    --------
    >>> doses = pd.DataFrame({"recording": "r1", "unit": "a", "drug": "ipsapirone",
    ...     "dose_unit": "ug/kg", "cumulative_dose": [10.0, 20.0], "injection_time_s": [0.0, 60],
    ...     "rate_hz": 1.0, "pct_baseline": [70.0, 30.0]})
    >>> units = pd.DataFrame({"recording": ["r1"], "unit": ["a"], "group": ["A"], "animal": "r1"})
    >>> group_dose_points(doses, units, "group")["max_inhibition_pct"].tolist()
    [70.0, 70.0]
    """
    table = dose_responses(doses)
    pct = table["pct_baseline"].to_numpy(dtype=np.float64)
    dose = table["cumulative_dose"].to_numpy(dtype=np.float64)
    usable = ~table["role"].isin(NON_DOSE_RESPONSE_ROLES) & np.isfinite(pct) & (dose > 0)
    labels = grouped_units[[*UNIT_KEY, group_by, ANIMAL]].drop_duplicates(subset=list(UNIT_KEY))
    points = table[usable].merge(labels, on=list(UNIT_KEY), how="inner")
    lowest = points.groupby([*UNIT_KEY, "drug"])["pct_baseline"].transform("min")
    points[MAX_INHIBITION] = BASELINE_PCT - lowest
    return points


def group_pairs(labels: Sequence[str], reference: str | None = None) -> list[tuple[str, str]]:
    """(group_a, group_b) pairs: every sorted pair, or each group against ``reference``.

    Examples
    --------
    >>> group_pairs(["vehicle", "SSRI", "vehicle", "ipsapirone"], reference="vehicle")
    [('vehicle', 'SSRI'), ('vehicle', 'ipsapirone')]
    >>> group_pairs(["B", "A"])
    [('A', 'B')]
    """
    groups = sorted(set(labels))
    if reference is None:
        return list(itertools.combinations(groups, 2))
    if reference not in groups:
        raise BadParameterError(f"reference group {reference!r} is not among {groups}")
    return [(reference, group) for group in groups if group != reference]


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
    rows = []
    for group_a, group_b in group_pairs(grouped[group_by].tolist(), params.reference):
        pair = {"group_by": group_by, "group_a": group_a, "group_b": group_b}
        for measure, measure_unit in UNIT_MEASURES:
            if measure not in grouped.columns:
                missing = {"measure": measure, "drug": "", "note": f"units table has no {measure}"}
                rows.append(pair | missing)
                continue
            values = grouped[[*UNIT_KEY, group_by, ANIMAL, measure]]
            rows.append(
                {**pair, "measure": measure, "drug": "", "measure_unit": measure_unit}
                | _difference_row(values, measure, pair, params)
            )
        for drug, drug_points in points.groupby("drug", sort=True):
            rows.extend(_drug_rows(str(drug), drug_points, pair, params, fit))
    result = pd.DataFrame(rows, columns=list(GROUP_COLUMNS))
    result["confidence"] = params.confidence
    counts = ["n_units_a", "n_units_b", "n_animals_a", "n_animals_b"]
    result[counts] = result[counts].astype("Int64")
    return result


def _drug_rows(
    drug: str, points: pd.DataFrame, pair: dict[str, str], params: GroupParams, fit: FitParams
) -> list[dict[str, object]]:
    if points["dose_unit"].nunique() > 1:
        raise BadDoseTableError(f"{drug}: units use different dose units; cannot compare groups")
    dose_unit = str(points["dose_unit"].iloc[0])
    per_unit = points.drop_duplicates(subset=list(UNIT_KEY))
    inhibition = {**pair, "measure": MAX_INHIBITION, "drug": drug, "measure_unit": "%"}
    inhibition |= _difference_row(per_unit, MAX_INHIBITION, pair, params)
    shift = {**pair, "measure": ED50, "drug": drug, "measure_unit": dose_unit}
    shift |= _shift_row(points, pair, params, fit)
    return [inhibition, shift]


def _counts(table: pd.DataFrame, in_b: np.ndarray) -> dict[str, int]:
    unit_ids = table[RECORDING].astype(str) + "/" + table["unit"].astype(str)
    return {
        "n_units_a": int(unit_ids[~in_b].nunique()),
        "n_units_b": int(unit_ids[in_b].nunique()),
        "n_animals_a": int(table.loc[~in_b, ANIMAL].nunique()),
        "n_animals_b": int(table.loc[in_b, ANIMAL].nunique()),
    }


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
    fitted = _linear_model(values, design, animals)
    if fitted is None:
        return row | {"note": "linear model failed"}
    test, coefficients, standard_error, note = fitted
    inference = _t_inference(float(coefficients[1]), standard_error, df, params.confidence)
    return row | {
        "estimate_a": float(coefficients[0]),
        "estimate_b": float(coefficients[0] + coefficients[1]),
        "contrast_estimate": float(coefficients[1]),
        "test": test,
        **inference,
        "note": _joined(note, inference.get("note", "")),
    }


def _t_inference(
    estimate: float, standard_error: float, df: int, confidence: float
) -> dict[str, object]:
    """CI, t statistic and two-sided p of ``estimate`` on ``df`` degrees of freedom."""
    if not (np.isfinite(standard_error) and standard_error > 0):
        return {"note": "no CI: the values do not vary"}
    half_width = stats.t.ppf(0.5 + confidence / 2.0, df) * standard_error
    statistic = estimate / standard_error
    return {
        "ci_low": estimate - half_width,
        "ci_high": estimate + half_width,
        "statistic": statistic,
        "df": float(df),
        "p": float(2.0 * stats.t.sf(abs(statistic), df)),
    }


def _joined(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _linear_model(
    values: np.ndarray, design: np.ndarray, animals: np.ndarray
) -> tuple[str, np.ndarray, float, str] | None:
    """(test, coefficients, SE of the group effect, note); None when the fit fails.

    A random intercept per animal when some animal gave several values;
    ordinary least squares when each gave one (then the two coincide).
    """
    _, cells_per_animal = np.unique(animals, return_counts=True)
    try:
        if cells_per_animal.max() == 1:
            result = sm.OLS(values, design).fit()
            return OLS_TEST, np.asarray(result.params), float(result.bse[1]), ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", RuntimeWarning)
            result = sm.MixedLM(values, design, groups=animals).fit(
                reml=True, method=MIXED_MODEL_OPTIMIZERS
            )
    except (np.linalg.LinAlgError, ValueError):
        return None
    on_boundary = any("boundary" in str(warning.message) for warning in caught)
    note = (
        "mixed model did not converge"
        if not result.converged
        else "between-animal variance estimated at 0" if on_boundary else ""
    )
    coefficients = np.asarray(result.fe_params)
    return MIXED_MODEL_TEST, coefficients, float(np.asarray(result.bse_fe)[1]), note


@dataclass(frozen=True)
class ShiftFit:
    """Hill curves of two groups with a shared slope and bottom, shifted in log dose.

    Examples
    --------
    >>> fit = ShiftFit(log_ed50_a=1.0, log_ratio=np.log10(3.0), hill_slope=1.0, bottom_pct=0.0)
    >>> round(fit.ratio, 6), round(fit.ed50_b, 6)
    (3.0, 30.0)
    >>> fit.pct_baseline(np.array([10.0, 30.0]), np.array([False, True])).tolist()
    [50.0, 50.0]
    """

    log_ed50_a: float
    log_ratio: float
    hill_slope: float
    bottom_pct: float
    top_pct: float = BASELINE_PCT

    @property
    def ed50_a(self) -> float:
        """ED50 of group a."""
        return float(10.0**self.log_ed50_a)

    @property
    def ed50_b(self) -> float:
        """ED50 of group b."""
        return float(10.0 ** (self.log_ed50_a + self.log_ratio))

    @property
    def ratio(self) -> float:
        """ED50 of group b over ED50 of group a."""
        return float(10.0**self.log_ratio)

    def pct_baseline(self, cumulative_dose: np.ndarray, in_b: np.ndarray) -> np.ndarray:
        """Fitted % of baseline at each dose, for points of group b where ``in_b``."""
        log_ed50 = self.log_ed50_a + self.log_ratio * np.asarray(in_b, dtype=np.float64)
        log_dose = np.log10(np.asarray(cumulative_dose, dtype=np.float64))
        return hill_response(log_dose, log_ed50, self.hill_slope, self.bottom_pct, self.top_pct)


def fit_ed50_shift(
    cumulative_dose: np.ndarray,
    pct_baseline: np.ndarray,
    in_b: np.ndarray,
    fit: FitParams = DEFAULT_FIT_PARAMS,
) -> ShiftFit:
    """Least-squares fit of the shared-slope, shared-bottom Hill model with an ED50 shift.

    The start comes from separate fits of each group
    (:func:`rapheunit.doseresponse.fit_hill_batch`); bounds are those of
    ``fit`` (slope, bottom, ED50 search decades around the doses).

    Examples
    --------
    >>> doses = np.tile(10.0 * 2.0 ** np.arange(6), 2)
    >>> in_b = np.repeat([False, True], 6)
    >>> truth = ShiftFit(np.log10(40.0), np.log10(3.0), 1.5, 5.0)
    >>> fitted = fit_ed50_shift(doses, truth.pct_baseline(doses, in_b), in_b)
    >>> round(fitted.ratio, 4), round(fitted.ed50_a, 3)
    (3.0, 40.0)
    """
    log_dose = np.log10(np.asarray(cumulative_dose, dtype=np.float64))
    response = np.asarray(pct_baseline, dtype=np.float64)
    in_b = np.asarray(in_b, dtype=bool)
    if not (log_dose.shape == response.shape == in_b.shape) or not np.isfinite(log_dose).all():
        raise BadParameterError("doses, responses and groups must be equal-length, doses > 0")
    low, high = _shift_bounds(log_dose, fit)
    start = _shift_start(log_dose, response, in_b, fit)
    return _least_squares_shift(log_dose, response, in_b, start, (low, high), fit.top_pct)


def _shift_bounds(log_dose: np.ndarray, fit: FitParams) -> tuple[np.ndarray, np.ndarray]:
    lowest, highest = float(log_dose.min()), float(log_dose.max())
    widest_shift = highest - lowest + 2.0 * fit.ed50_search_decades
    low = [lowest - fit.ed50_search_decades, -widest_shift, fit.slope_bounds[0],
           fit.bottom_bounds_pct[0]]
    high = [highest + fit.ed50_search_decades, widest_shift, fit.slope_bounds[1],
            fit.bottom_bounds_pct[1]]
    return np.array(low), np.array(high)


def _shift_start(
    log_dose: np.ndarray, response: np.ndarray, in_b: np.ndarray, fit: FitParams
) -> np.ndarray:
    """Start from a separate Hill fit per group (ED50s, mean slope and bottom)."""
    width = int(max((~in_b).sum(), in_b.sum()))
    dose = np.full((2, width), np.nan)
    pct = np.full((2, width), np.nan)
    for row, members in enumerate((~in_b, in_b)):
        dose[row, : members.sum()] = 10.0 ** log_dose[members]
        pct[row, : members.sum()] = response[members]
    separate = fit_hill_batch(dose, pct, fit)
    log_ed50 = np.log10(separate["ed50"].to_numpy(dtype=np.float64))
    log_ed50 = np.where(np.isfinite(log_ed50), log_ed50, np.median(log_dose))
    slopes = separate["hill_slope"].to_numpy(dtype=np.float64)
    bottoms = separate["bottom_pct"].to_numpy(dtype=np.float64)
    slope = np.nanmean(slopes) if np.isfinite(slopes).any() else 1.0
    bottom = np.nanmean(bottoms) if np.isfinite(bottoms).any() else fit.bottom_bounds_pct[0]
    return np.array([log_ed50[0], log_ed50[1] - log_ed50[0], slope, bottom])


def _least_squares_shift(
    log_dose: np.ndarray,
    response: np.ndarray,
    in_b: np.ndarray,
    start: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    top_pct: float,
) -> ShiftFit:
    low, high = bounds
    # least_squares wants a start strictly inside the box
    margin = 1e-6 * (high - low)
    start = np.clip(start, low + margin, high - margin)
    shift = in_b.astype(np.float64)

    def residuals(theta: np.ndarray) -> np.ndarray:
        log_ed50_a, log_ratio, slope, bottom = theta
        curve = hill_response(log_dose, log_ed50_a + log_ratio * shift, slope, bottom, top_pct)
        return curve - response

    solution = least_squares(residuals, start, bounds=(low, high), method="trf")
    return ShiftFit(*(float(value) for value in solution.x), top_pct=top_pct)


def _shift_row(
    points: pd.DataFrame, pair: dict[str, str], params: GroupParams, fit: FitParams
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
    estimate = fit_ed50_shift(dose, response, in_b, fit)
    note = _extrapolation_note(estimate, dose, in_b)
    row |= {
        "estimate_a": estimate.ed50_a,
        "estimate_b": estimate.ed50_b,
        "contrast_estimate": estimate.ratio,
    }
    if min(counts["n_animals_a"], counts["n_animals_b"]) < MIN_ANIMALS_PER_GROUP:
        no_ci = f"no CI: needs {MIN_ANIMALS_PER_GROUP} animals per group"
        return row | {"note": _joined(note, no_ci)}
    log_ratios = _bootstrap_log_ratios(rows, in_b, estimate, params, fit)
    df = counts["n_animals_a"] + counts["n_animals_b"] - N_GROUP_PARAMETERS
    inference = _t_inference(
        estimate.log_ratio, float(np.std(log_ratios, ddof=1)), df, params.confidence
    )
    for limit in ("ci_low", "ci_high"):
        if limit in inference:
            inference[limit] = float(10.0 ** inference[limit])
    note = _joined(note, str(inference.pop("note", "")))
    return row | {"test": BOOTSTRAP_TEST, **inference, "note": note}


def _extrapolation_note(estimate: ShiftFit, dose: np.ndarray, in_b: np.ndarray) -> str:
    beyond = [
        name
        for name, ed50, members in (("a", estimate.ed50_a, ~in_b), ("b", estimate.ed50_b, in_b))
        if not dose[members].min() <= ed50 <= dose[members].max()
    ]
    return f"ED50 of group {' and '.join(beyond)} outside its doses" if beyond else ""


def _bootstrap_log_ratios(
    rows: pd.DataFrame, in_b: np.ndarray, estimate: ShiftFit, params: GroupParams, fit: FitParams
) -> np.ndarray:
    """Log ratios refitted on ``n - 1`` animals drawn with replacement within each group."""
    log_dose = np.log10(rows["cumulative_dose"].to_numpy(dtype=np.float64))
    response = rows["pct_baseline"].to_numpy(dtype=np.float64)
    bounds = _shift_bounds(log_dose, fit)
    start = np.array(
        [estimate.log_ed50_a, estimate.log_ratio, estimate.hill_slope, estimate.bottom_pct]
    )
    animals = rows[ANIMAL].to_numpy()
    clusters = [
        [np.flatnonzero(members & (animals == animal)) for animal in np.unique(animals[members])]
        for members in (~in_b, in_b)
    ]
    rng = np.random.default_rng(params.seed)
    log_ratios = np.empty(params.n_bootstrap)
    for replicate in range(params.n_bootstrap):
        chosen = np.concatenate(
            [
                group_clusters[index]
                for group_clusters in clusters
                for index in rng.integers(len(group_clusters), size=len(group_clusters) - 1)
            ]
        )
        refit = _least_squares_shift(
            log_dose[chosen], response[chosen], in_b[chosen], start, bounds, estimate.top_pct
        )
        log_ratios[replicate] = refit.log_ratio
    return log_ratios
