"""Metadata, joins and group comparisons (mixed models nested in animals, ED50 shift)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rapheunit.core.epochs import EpochParams, baseline_window, dose_rates
from rapheunit.core.errors import BadParameterError, RapheUnitError, UnreadableFileError
from rapheunit.doseresponse.ed50_shift import (
    bootstrap_log_ratios,
    fit_ed50_shifts,
    uniform_draws,
)
from rapheunit.doseresponse.groups import (
    GROUP_COLUMNS,
    GroupParams,
    ShiftFit,
    compare_groups,
    fit_ed50_shift,
    group_dose_points,
    group_units,
    join_metadata,
    read_metadata,
)
from rapheunit.measures.analysis import unit_table
from rapheunit.simulate import simulate_recording
from rapheunit.viz.plot_groups import group_dose_response_plot, group_points_plot

DOSE_COLUMNS = (
    "recording", "unit", "drug", "dose_unit", "cumulative_dose", "injection_time_s", "rate_hz",
    "pct_baseline",
)
NO_DOSES = pd.DataFrame(columns=list(DOSE_COLUMNS))


# --- metadata ---------------------------------------------------------------------------------


def test_metadata_file_is_read_with_recording_names_as_text(tmp_path: Path) -> None:
    path = tmp_path / "meta.csv"
    path.write_text("recording , animal,group,days\n001,7,SSRI,14\n002,,vehicle,14\n")
    table = read_metadata(path)
    assert table["recording"].tolist() == ["001", "002"]
    assert table["animal"].iloc[0] == "7" and pd.isna(table["animal"].iloc[1])
    assert table["days"].tolist() == [14, 14]


def test_tab_separated_metadata(tmp_path: Path) -> None:
    path = tmp_path / "meta.tsv"
    path.write_text("recording\tgroup\nr1\tA\n")
    assert read_metadata(path)["group"].tolist() == ["A"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,group\nr1,A\n", "needs a 'recording' column"),
        ("recording,group\nr1,A\nr1,B\n", "'r1' appears 2 times"),
        ("recording,group\nr1,A\n,B\n", "row 2 has no recording name"),
        ("recording,group\n", "no rows"),
    ],
)
def test_bad_metadata_names_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "meta.csv"
    path.write_text(text)
    with pytest.raises(BadParameterError, match=message) as caught:
        read_metadata(path)
    assert str(path) in str(caught.value)


def test_unreadable_metadata_is_a_rapheunit_error(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="not a readable table"):
        read_metadata(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RapheUnitError, match=str(empty)):
        read_metadata(empty)


def test_join_keeps_every_row_and_refuses_clashing_columns() -> None:
    doses = pd.DataFrame({"recording": ["r2", "r1", "r3"], "rate_hz": [1.0, 2.0, 3.0]})
    meta = pd.DataFrame({"recording": ["r1", "r2"], "group": ["A", "B"], "animal": ["x", "y"]})
    joined = join_metadata(doses, meta)
    assert joined["recording"].tolist() == ["r2", "r1", "r3"]
    assert joined["group"].tolist()[:2] == ["B", "A"] and pd.isna(joined["group"].iloc[2])
    with pytest.raises(BadParameterError, match="rate_hz already in the table"):
        join_metadata(doses, meta.assign(rate_hz=0.0))
    with pytest.raises(BadParameterError, match="no 'recording' column"):
        join_metadata(doses.drop(columns="recording"), meta)


def test_group_units_keeps_5ht_units_and_gives_each_unnamed_recording_its_own_animal() -> None:
    units = pd.DataFrame({
        "recording": ["r1", "r1", "r2", "r3", "r4"],
        "unit": ["a", "b", "a", "a", "a"],
        "classification": ["putative_5ht", "non_5ht", "putative_5ht", "putative_5ht",
                           "putative_5ht"],
        "group": "stale value from an earlier join",
    })
    meta = pd.DataFrame({"recording": ["r1", "r2", "r3"], "animal": ["rat1", None, "rat1"],
                         "days": [14.0, 14.0, np.nan]})
    grouped = group_units(units, meta, group_by="days")
    assert grouped[["recording", "unit", "animal", "days"]].to_numpy().tolist() == [
        ["r1", "a", "rat1", "14"],
        ["r2", "a", "r2", "14"],
    ]
    assert "stale value from an earlier join" in grouped["group"].tolist()
    with pytest.raises(BadParameterError, match="not a metadata column"):
        group_units(units, meta, group_by="treatment")


# --- mixed models: cells nested in animals ----------------------------------------------------


def nested_units(
    rng: np.random.Generator,
    n_animals: int,
    cells_per_animal: int,
    animal_sd: float,
    cell_sd: float,
    effect: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline rates of cells in animals (one recording per cell) and the metadata."""
    units, meta = [], []
    for group, shift in (("A", 0.0), ("B", effect)):
        for animal in range(n_animals):
            animal_rate = 1.5 + shift + rng.normal(0.0, animal_sd)
            for cell in range(cells_per_animal):
                name = f"{group}{animal}c{cell}"
                rate = animal_rate + rng.normal(0.0, cell_sd)
                cv_isi = 0.2 + 0.1 * shift + rng.normal(0.0, 0.03)
                units.append({"recording": name, "unit": "u", "baseline_rate_hz": rate,
                              "cv_isi": cv_isi})
                meta.append({"recording": name, "animal": f"rat{group}{animal}", "group": group})
    return pd.DataFrame(units), pd.DataFrame(meta)


def test_ten_cells_of_one_rat_do_not_count_as_ten_rats() -> None:
    rng = np.random.default_rng(5)
    units, meta = nested_units(rng, n_animals=3, cells_per_animal=10, animal_sd=0.4, cell_sd=0.05)
    row = compare_groups(units, NO_DOSES, meta).set_index("measure").loc["baseline_rate_hz"]
    assert row["test"] == "mixedlm_t"
    assert (row["n_units_a"], row["n_animals_a"], row["n_animals_b"]) == (30, 3, 3)
    assert row["df"] == 4.0  # 6 animals - 2, not 60 cells - 2
    naive = stats.ttest_ind(*(g["baseline_rate_hz"] for _, g in units.groupby(meta["group"])))
    naive_se = abs(row["contrast_estimate"] / naive.statistic)
    mixed_se = (row["ci_high"] - row["ci_low"]) / (2 * stats.t.ppf(0.975, 4))
    # the animal-to-animal spread, not the tiny cell-to-cell one, sets the uncertainty
    assert mixed_se > 2.5 * naive_se
    assert row["p"] > naive.pvalue


def test_one_cell_per_animal_is_the_two_sample_t_test() -> None:
    rng = np.random.default_rng(11)
    units, meta = nested_units(rng, n_animals=6, cells_per_animal=1, animal_sd=0.3, cell_sd=0.1,
                               effect=0.5)
    row = compare_groups(units, NO_DOSES, meta).set_index("measure").loc["baseline_rate_hz"]
    by_group = [g["baseline_rate_hz"] for _, g in units.groupby(meta["group"])]
    expected = stats.ttest_ind(by_group[1], by_group[0])
    assert row["test"] == "ols_t"
    assert row["statistic"] == pytest.approx(expected.statistic)
    assert row["p"] == pytest.approx(expected.pvalue)
    assert row["estimate_b"] - row["estimate_a"] == pytest.approx(
        by_group[1].mean() - by_group[0].mean()
    )


def test_missing_animal_column_makes_each_recording_an_animal() -> None:
    rng = np.random.default_rng(2)
    units, _ = nested_units(rng, n_animals=4, cells_per_animal=3, animal_sd=0.2, cell_sd=0.2,
                            effect=0.6)
    # three cells per recording, no animal column
    units["recording"] = units["recording"].str.replace(r"c\d$", "", regex=True)
    units["unit"] = [f"u{k % 3}" for k in range(len(units))]
    meta = pd.DataFrame({"recording": units["recording"].unique()})
    meta["group"] = meta["recording"].str[0]
    result = compare_groups(units, NO_DOSES, meta).set_index("measure")
    for measure in ("baseline_rate_hz", "cv_isi"):
        row = result.loc[measure]
        assert row["test"] == "mixedlm_t"
        assert (row["n_animals_a"], row["n_animals_b"], row["n_units_b"]) == (4, 4, 12)
        assert row["df"] == 6.0
        assert row["ci_low"] < row["contrast_estimate"] < row["ci_high"]
    # the true differences (0.6 Hz, 0.06) are inside the intervals
    for measure, true_difference in (("baseline_rate_hz", 0.6), ("cv_isi", 0.06)):
        row = result.loc[measure]
        assert row["ci_low"] < true_difference < row["ci_high"]


def test_too_few_animals_gives_nan_and_a_reason() -> None:
    units = pd.DataFrame({"recording": ["r1", "r2"], "unit": "u", "baseline_rate_hz": [1.0, 2.0]})
    meta = pd.DataFrame({"recording": ["r1", "r2"], "group": ["A", "B"]})
    row = compare_groups(units, NO_DOSES, meta).iloc[0]
    assert np.isnan(row["p"]) and "too few animals" in row["note"]


def test_reference_group_and_columns() -> None:
    rng = np.random.default_rng(4)
    units, meta = nested_units(rng, n_animals=3, cells_per_animal=2, animal_sd=0.1, cell_sd=0.1)
    meta.loc[meta["animal"].isin(["ratA0", "ratB0"]), "group"] = "C"
    result = compare_groups(units, NO_DOSES, meta, params=GroupParams(reference="C"))
    assert list(result.columns) == list(GROUP_COLUMNS)
    assert set(zip(result["group_a"], result["group_b"], strict=True)) == {("C", "A"), ("C", "B")}
    with pytest.raises(BadParameterError, match="reference group 'D'"):
        compare_groups(units, NO_DOSES, meta, params=GroupParams(reference="D"))


# --- ED50 shift -------------------------------------------------------------------------------

TRUE_RATIO = 3.0
ED50_A = 30.0  # ug/kg, median of group A (within the simulator's 15-150 range)
HILL = 1.5


def simulated_groups(ratio: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four rats per group, three 5-HT cells each; ED50s vary between rats and between cells."""
    rng = np.random.default_rng(seed)
    units, doses, meta = [], [], []
    for group, median in (("vehicle", ED50_A), ("chronic", ED50_A * ratio)):
        for animal in range(4):
            name = f"{group}{animal}"
            log_ed50 = np.log10(median) + rng.normal(0.0, 0.1) + rng.normal(0.0, 0.1, 3)
            rec, _ = simulate_recording(
                name, ["5ht_clock"] * 3, seed=int(rng.integers(1_000_000)), n_doses=8,
                with_waveforms=False, ed50_ug_kg=list(10.0**log_ed50), hill_slope=[HILL] * 3,
            )
            baseline = baseline_window(rec)
            units.append(
                unit_table(rec, baseline, EpochParams()).assign(classification="putative_5ht")
            )
            doses.append(dose_rates(rec))
            meta.append({"recording": name, "animal": f"rat_{name}", "group": group})
    return pd.concat(units), pd.concat(doses), pd.DataFrame(meta)


@pytest.fixture(scope="module")
def shifted() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return simulated_groups(TRUE_RATIO, seed=7)


def test_known_threefold_ed50_shift_is_recovered_with_a_ci(
    shifted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    units, doses, meta = shifted
    params = GroupParams(reference="vehicle", n_bootstrap=199)
    result = compare_groups(units, doses, meta, params=params).set_index("measure")
    row = result.loc["ed50"]
    assert (row["group_a"], row["group_b"], row["drug"]) == ("vehicle", "chronic", "ipsapirone")
    assert (row["n_animals_a"], row["n_units_b"]) == (4, 12)
    assert row["contrast_estimate"] == pytest.approx(row["estimate_b"] / row["estimate_a"])
    assert row["ci_low"] < TRUE_RATIO < row["ci_high"]
    assert row["ci_low"] > 1.0
    assert row["p"] < 0.05 and row["df"] == 6.0
    assert row["measure_unit"] == "ug/kg"
    # both groups are nearly silenced at their top doses
    assert result.loc["max_inhibition_pct", "estimate_a"] > 85.0


def test_no_shift_gives_a_ci_around_one() -> None:
    # constructed per-cell curves (no spikes) for speed: equal ED50 medians in both groups
    rng = np.random.default_rng(1)
    doses = 5.0 * 2.0 ** np.arange(8)
    rows, meta = [], []
    for group in ("A", "B"):
        for animal in range(5):
            recording = f"{group}{animal}"
            animal_shift = rng.normal(0.0, 0.1)
            for cell in range(3):
                log_ed50 = np.log10(ED50_A) + animal_shift + rng.normal(0.0, 0.1)
                truth = ShiftFit(log_ed50, 0.0, HILL, 5.0)
                pct = truth.pct_baseline(doses, np.zeros(8, bool)) + rng.normal(0.0, 5.0, 8)
                rows.append(pd.DataFrame({
                    "recording": recording, "unit": f"u{cell}", "drug": "ipsapirone",
                    "dose_unit": "ug/kg", "cumulative_dose": doses,
                    "injection_time_s": 300.0 + 180.0 * np.arange(8), "rate_hz": pct / 100.0,
                    "pct_baseline": pct,
                }))
            meta.append({"recording": recording, "group": group})
    doses_table = pd.concat(rows, ignore_index=True)
    units = doses_table[["recording", "unit"]].drop_duplicates().assign(baseline_rate_hz=1.0)
    result = compare_groups(units, doses_table, pd.DataFrame(meta),
                            params=GroupParams(n_bootstrap=199)).set_index("measure")
    row = result.loc["ed50"]
    assert row["ci_low"] < 1.0 < row["ci_high"]
    assert row["p"] > 0.05
    assert row["ci_high"] / row["ci_low"] < 3.0  # a real, finite interval


def test_shift_fit_recovers_exact_parameters_from_noiseless_curves() -> None:
    doses = np.tile(5.0 * 2.0 ** np.arange(8), 2)
    in_b = np.repeat([False, True], 8)
    truth = ShiftFit(np.log10(25.0), np.log10(4.0), 1.2, 8.0)
    fitted = fit_ed50_shift(doses, truth.pct_baseline(doses, in_b), in_b)
    assert fitted.ed50_a == pytest.approx(25.0, rel=1e-4)
    assert fitted.ratio == pytest.approx(4.0, rel=1e-4)
    assert fitted.hill_slope == pytest.approx(1.2, rel=1e-4)
    assert fitted.bottom_pct == pytest.approx(8.0, abs=1e-3)


def test_too_few_doses_gives_nan_ratio_and_a_reason() -> None:
    doses = pd.DataFrame({
        "recording": ["r1", "r1", "r2", "r2"], "unit": "u", "drug": "ipsapirone",
        "dose_unit": "ug/kg", "cumulative_dose": [10.0, 20.0, 10.0, 20.0],
        "injection_time_s": [0.0, 180.0, 0.0, 180.0], "rate_hz": 1.0,
        "pct_baseline": [80.0, 40.0, 90.0, 70.0],
    })
    units = pd.DataFrame({"recording": ["r1", "r2"], "unit": "u", "baseline_rate_hz": 1.0})
    meta = pd.DataFrame({"recording": ["r1", "r2"], "group": ["A", "B"]})
    row = compare_groups(units, doses, meta).set_index("measure").loc["ed50"]
    assert np.isnan(row["contrast_estimate"]) and "distinct doses" in row["note"]


# --- figures ----------------------------------------------------------------------------------


def test_group_figures_show_groups_and_animals(
    shifted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    units, doses, meta = shifted
    grouped = group_units(units, meta)
    points = group_dose_points(doses, grouped, "group")
    ax = group_dose_response_plot(points, "group", "ipsapirone")
    assert len(ax.containers) == 2  # mean +/- SEM per group
    assert sum(1 for line in ax.lines if line.get_marker() == "D") == 2  # one ED50 per group
    ax = group_points_plot(grouped, "group")
    point_columns = {line.get_xdata()[0] for line in ax.lines if line.get_marker() == "o"}
    assert len(point_columns) == 8  # one column per rat
    assert [label.get_text() for label in ax.get_xticklabels()] == ["chronic", "vehicle"]


# --- the cluster bootstrap, against one scipy fit per replicate --------------------------------


def _hill_pct(
    log_dose: np.ndarray, log_ed50: np.ndarray | float, slope: float, bottom: float
) -> np.ndarray:
    """% of baseline, top 100: the textbook four-parameter logistic in log dose."""
    return bottom + (100.0 - bottom) / (1.0 + 10.0 ** (slope * (log_dose - log_ed50)))


def _refit_one_by_one(
    log_dose: np.ndarray, pct: np.ndarray, in_b: np.ndarray, animals: np.ndarray,
    start: np.ndarray, n_bootstrap: int, seed: int,
) -> np.ndarray:
    """Log ratios the slow way: draw n - 1 animals per group, stack their rows, refit."""
    from scipy.optimize import least_squares

    lowest, highest = log_dose.min(), log_dose.max()
    widest = highest - lowest + 2.0 * 2.0  # search decades of the default FitParams
    low = np.array([lowest - 2.0, -widest, 0.3, 0.0])
    high = np.array([highest + 2.0, widest, 5.0, 100.0])
    clusters = [
        [np.flatnonzero(members & (animals == a)) for a in np.unique(animals[members])]
        for members in (~in_b, in_b)
    ]
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(n_bootstrap):
        rows = np.concatenate([
            group[index] for group in clusters
            for index in rng.integers(len(group), size=len(group) - 1)
        ])
        shift = in_b[rows].astype(float)

        def residuals(theta: np.ndarray, rows: np.ndarray = rows, shift: np.ndarray = shift):
            curve = _hill_pct(log_dose[rows], theta[0] + theta[1] * shift, theta[2], theta[3])
            return curve - pct[rows]

        solution = least_squares(
            residuals, start, bounds=(low, high), xtol=1e-15, ftol=1e-15, gtol=1e-15
        )
        ratios.append(solution.x[1])
    return np.array(ratios)


@pytest.mark.parametrize("animals_per_group", [(2, 2), (3, 5)])
def test_bootstrap_replicates_are_the_refits_of_the_drawn_animals(
    animals_per_group: tuple[int, int],
) -> None:
    rng = np.random.default_rng(11)
    doses = 5.0 * 2.0 ** np.arange(6)
    rows = []
    for group, n_animals in enumerate(animals_per_group):
        for animal in range(n_animals):
            for _ in range(2):
                log_ed50 = np.log10(30.0 * 3.0**group) + rng.normal(0.0, 0.2)
                pct = _hill_pct(np.log10(doses), log_ed50, 1.3, 10.0) + rng.normal(0.0, 6.0, 6)
                name = f"{group}-{animal}"
                rows += [(name, group == 1, d, p) for d, p in zip(doses, pct, strict=True)]
    animals, in_b, dose, pct = (np.array(column) for column in zip(*rows, strict=True))
    start = ShiftFit(np.log10(30.0), np.log10(3.0), 1.3, 10.0)
    ratios = bootstrap_log_ratios(dose, pct, in_b, animals, start, 99, seed=4)
    expected = _refit_one_by_one(
        np.log10(dose), pct, in_b, animals,
        np.array([np.log10(30.0), np.log10(3.0), 1.3, 10.0]), 99, seed=4,
    )
    np.testing.assert_allclose(ratios, expected, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_shift_estimates_are_the_least_squares_minimum(seed: int) -> None:
    # noisy, partly flat data of two groups, fitted together with pairs of other sizes; the
    # truth is scipy's least_squares run to machine precision from the textbook curve
    from scipy.optimize import least_squares

    rng = np.random.default_rng(seed)
    problems = []
    for n_cells in (3, 5, 8):
        doses = np.tile(5.0 * 2.0 ** np.arange(int(rng.integers(4, 8))), 2 * n_cells)
        in_b = np.repeat([False, True], doses.size // 2)
        log_ed50 = np.log10(rng.uniform(10.0, 200.0)) + np.log10(rng.uniform(1.0, 4.0)) * in_b
        pct = _hill_pct(np.log10(doses), log_ed50, rng.uniform(0.8, 2.5), rng.uniform(0, 30))
        problems.append((doses, np.clip(pct + rng.normal(0.0, 8.0, doses.size), 0, None), in_b))
    fitted = fit_ed50_shifts([(*problem, None) for problem in problems])
    for (doses, pct, in_b), estimate in zip(problems, fitted, strict=True):
        log_dose = np.log10(doses)
        widest = np.ptp(log_dose) + 2.0 * 2.0  # search decades of the default FitParams
        low = [log_dose.min() - 2.0, -widest, 0.3, 0.0]
        high = [log_dose.max() + 2.0, widest, 5.0, 100.0]

        def residuals(theta: np.ndarray, log_dose=log_dose, pct=pct, in_b=in_b) -> np.ndarray:
            return _hill_pct(log_dose, theta[0] + theta[1] * in_b, theta[2], theta[3]) - pct

        start = np.array([estimate.log_ed50_a, estimate.log_ratio, estimate.hill_slope,
                          estimate.bottom_pct])
        truth = least_squares(residuals, np.clip(start, np.add(low, 1e-6), np.subtract(
            high, 1e-6)), bounds=(low, high), xtol=1e-15, ftol=1e-15, gtol=1e-15)
        assert np.sum(residuals(start) ** 2) <= 2.0 * truth.cost * (1.0 + 1e-10)
        assert estimate.ratio == pytest.approx(10.0 ** truth.x[1], rel=1e-5)
        assert estimate.ed50_a == pytest.approx(10.0 ** truth.x[0], rel=1e-5)


def test_pairs_compared_together_equal_each_pair_alone(
    shifted: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    # a third group makes three pairs, fitted in one batch; each must be its own comparison
    units, doses, meta = shifted
    third = meta.assign(group=np.where(np.arange(len(meta)) % 3 == 0, "third", meta["group"]))
    params = GroupParams(n_bootstrap=99)
    together = compare_groups(units, doses, third, params=params)
    for (group_a, group_b), rows in together.groupby(["group_a", "group_b"]):
        pair = third[third["group"].isin([group_a, group_b])]
        alone = compare_groups(units, doses, pair, params=params)
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), alone, rtol=1e-6)


@pytest.mark.parametrize("sizes", [[2, 2], [3, 7], [5, 1, 4]])
def test_all_draws_at_once_are_the_draws_one_call_at_a_time(sizes: list[int]) -> None:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        one_by_one = [rng.integers(n, size=n - 1) for _ in range(50) for n in sizes]
        np.testing.assert_array_equal(
            uniform_draws(sizes, 50, seed), np.concatenate(one_by_one).astype(np.intp)
        )


def test_forty_groups_compare_every_pair() -> None:
    rng = np.random.default_rng(3)
    names = [f"r{i}" for i in range(80)]
    meta = pd.DataFrame({"recording": names, "group": [f"G{i // 2:02d}" for i in range(80)],
                         "animal": [f"a{i}" for i in range(80)]})
    units = pd.DataFrame({"recording": names, "unit": "u", "baseline_rate_hz": rng.normal(
        1.5, 0.3, 80), "cv_isi": rng.uniform(0.1, 0.4, 80)})
    result = compare_groups(units, NO_DOSES, meta)
    assert len(result) == 2 * 40 * 39 // 2
    pairs = set(zip(result["group_a"], result["group_b"], strict=True))
    assert len(pairs) == 780 and all(a < b for a, b in pairs)
