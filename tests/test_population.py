"""Tests of population means, pooled fits, ED50 spread, small-sample statistics and summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rapheunit.core.epochs import dose_rates
from rapheunit.core.errors import BadDoseTableError, BadParameterError
from rapheunit.doseresponse.fits import fit_hill, hill_response, unit_dose_response
from rapheunit.doseresponse.population import (
    OMNIBUS_TEST,
    POST_HOC_TEST,
    dose_statistics,
    ed50_distribution,
    pooled_fit,
    population_dose_response,
    select_units,
    summarize,
)
from rapheunit.simulate import simulate_recording

CUMULATIVE = np.array([10.0, 20.0, 40.0, 80.0])


def long_table(pct: dict[str, list[float]], *, drug: str = "ipsapirone") -> pd.DataFrame:
    """Per-injection rows; NaN in a unit's list means that dose is missing for the unit."""
    rows = []
    for unit, values in pct.items():
        for index, (total, value) in enumerate(zip(CUMULATIVE, values, strict=False)):
            if np.isnan(value):
                continue
            rows.append(
                {
                    "recording": "rec",
                    "unit": unit,
                    "drug": drug,
                    "dose": total,
                    "dose_unit": "ug/kg",
                    "cumulative_dose": total,
                    "injection_time_s": 300.0 + 180.0 * index,
                    "window_start_s": 420.0 + 180.0 * index,
                    "window_stop_s": 480.0 + 180.0 * index,
                    "rate_hz": 2.0 * value / 100.0,
                    "pct_baseline": value,
                    "baseline_rate_hz": 2.0,
                }
            )
    return pd.DataFrame(rows)


def curve_units(n_units: int, seed: int, *, missing: float = 0.0) -> pd.DataFrame:
    """Units on one Hill curve (ED50 30 ug/kg) with noise, some doses randomly missing."""
    rng = np.random.default_rng(seed)
    mean_curve = hill_response(np.log10(CUMULATIVE), np.log10(30.0), 1.5, 5.0)
    pct = {}
    for index in range(n_units):
        values = mean_curve + rng.normal(0.0, 6.0) + rng.normal(0.0, 4.0, CUMULATIVE.size)
        values[rng.random(CUMULATIVE.size) < missing] = np.nan
        pct[f"u{index}"] = list(values)
    return long_table(pct)


# --- selection and per-dose means ----------------------------------------------------------


def test_select_units_by_any_column() -> None:
    units = pd.DataFrame(
        {
            "recording": "rec",
            "unit": ["a", "b", "c"],
            "putative_5ht": [True, False, True],
            "rate_hz": [1.2, 9.0, 3.1],
        }
    )
    assert select_units(units, "putative_5ht")["unit"].tolist() == ["a", "c"]
    assert select_units(units, "putative_5ht and rate_hz < 2")["unit"].tolist() == ["a"]
    assert select_units(units).equals(units)
    with pytest.raises(BadParameterError, match="no_such_column"):
        select_units(units, "no_such_column > 1")


def test_mean_and_sem_by_hand() -> None:
    table = long_table(
        {
            "a": [80.0, 40.0, 10.0],
            "b": [90.0, 60.0, np.nan],
            "c": [70.0, 50.0, 30.0],
        }
    )
    result = population_dose_response(table).set_index("cumulative_dose")
    assert result["n_units"].tolist() == [3, 3, 2]
    assert result.loc[10.0, "mean_pct_baseline"] == pytest.approx(80.0)
    # SEM = SD / sqrt(n); SD of (80, 90, 70) is 10, of (10, 30) is sqrt(200)
    assert result.loc[10.0, "sem_pct_baseline"] == pytest.approx(10.0 / np.sqrt(3.0))
    assert result.loc[40.0, "sem_pct_baseline"] == pytest.approx(np.sqrt(200.0) / np.sqrt(2.0))
    assert result.loc[20.0, "mean_inhibition_pct"] == pytest.approx(50.0)
    assert result.loc[20.0, "mean_rate_hz"] == pytest.approx(2.0 * 0.5)


def test_single_unit_has_no_sem() -> None:
    result = population_dose_response(long_table({"a": [80.0, 40.0, 10.0]}))
    assert result["sem_pct_baseline"].isna().all()


def test_cumulative_totals_with_float_noise_meet_at_one_dose() -> None:
    table = long_table({"a": [80.0], "b": [60.0]})
    table.loc[table["unit"] == "b", "cumulative_dose"] = 0.1 + 0.2  # 0.30000000000000004
    table.loc[table["unit"] == "a", "cumulative_dose"] = 0.3
    result = population_dose_response(table)
    assert len(result) == 1
    assert result["n_units"].iloc[0] == 2


def test_unit_ids_restrict_the_population() -> None:
    table = long_table({"a": [80.0, 40.0], "b": [90.0, 60.0], "c": [10.0, 0.0]})
    chosen = pd.DataFrame({"recording": ["rec", "rec"], "unit": ["a", "b"]})
    result = population_dose_response(table, unit_ids=chosen).set_index("cumulative_dose")
    assert result.loc[10.0, "mean_pct_baseline"] == pytest.approx(85.0)
    with pytest.raises(BadParameterError, match="recording"):
        population_dose_response(table, unit_ids=chosen[["unit"]])


def test_fitted_curve_follows_the_pooled_fit() -> None:
    table = curve_units(12, seed=4)
    result = population_dose_response(table)
    fit = pooled_fit(table).iloc[0]
    expected = hill_response(
        np.log10(result["cumulative_dose"]),
        np.log10(fit["ed50"]),
        fit["hill_slope"],
        fit["bottom_pct"],
    )
    np.testing.assert_allclose(result["fitted_pct_baseline"], expected)
    np.testing.assert_allclose(result["fitted_pct_baseline"], result["mean_pct_baseline"], atol=8.0)


# --- pooled fit and ED50 distribution ---------------------------------------------------


def test_pooled_fit_of_one_unit_equals_its_own_fit() -> None:
    values = [85.0, 62.0, 33.0, 14.0]
    fit = pooled_fit(long_table({"a": values})).iloc[0]
    # ipsapirone is a full agonist: its unit fits, and so the pooled one, fix the bottom at 0
    single = fit_hill(CUMULATIVE, np.array(values), full_agonist=True)
    assert fit["bottom_fixed"] and fit["bottom_pct"] == 0.0
    assert fit["ed50"] == pytest.approx(single.ed50, rel=1e-9)
    assert fit["n_units"] == 1 and fit["n_points"] == 4


def test_pooled_fit_recovers_the_shared_curve() -> None:
    # a drug whose bottom is fitted (not a full agonist): the curve's 5 % bottom is free
    fit = pooled_fit(curve_units(20, seed=1).assign(drug="buspirone")).iloc[0]
    assert not fit["bottom_fixed"]
    assert fit["fit_status"] == "ok"
    assert fit["n_units"] == 20 and fit["n_doses"] == 4 and fit["n_points"] == 80
    assert fit["ed50_ci_low"] < 30.0 < fit["ed50_ci_high"]
    assert fit["ed50"] == pytest.approx(30.0, rel=0.2)


def test_pooled_fit_refuses_mixed_dose_units() -> None:
    table = long_table({"a": [85.0, 62.0, 33.0], "b": [80.0, 60.0, 30.0]})
    table.loc[table["unit"] == "b", "dose_unit"] = "uM"
    with pytest.raises(BadDoseTableError, match="dose units"):
        pooled_fit(table)


def test_ed50_distribution_by_hand() -> None:
    fits = pd.DataFrame(
        {
            "drug": "ipsapirone",
            "fit_status": ["ok", "ok", "ok", "no_response"],
            "ed50": [20.0, 40.0, 80.0, np.nan],
            "ed50_is_lower_bound": False,
            "ed50_is_upper_bound": False,
        }
    )
    result = ed50_distribution(fits)
    logs = np.log10([20.0, 40.0, 80.0])
    half_width = stats.t.ppf(0.975, 2) * logs.std(ddof=1) / np.sqrt(3)
    assert result["geometric_mean"] == pytest.approx(40.0)
    assert result["ci_low"] == pytest.approx(10 ** (logs.mean() - half_width))
    assert result["ci_high"] == pytest.approx(10 ** (logs.mean() + half_width))
    assert result["median"] == pytest.approx(40.0) and not result["median_is_lower_bound"]
    assert (result["n"], result["n_lower_bound"], result["n_upper_bound"]) == (3, 0, 0)


def test_censored_units_count_in_the_median_not_dropped() -> None:
    # ED50 > 320 (the top dose) for one unit: placed above the top dose, the median
    # of (20, 40, 80, >320) is the geometric midpoint of 40 and 80
    fits = pd.DataFrame(
        {
            "drug": "ipsapirone",
            "fit_status": "ok",
            "ed50": [20.0, 40.0, 80.0, 320.0],
            "ed50_is_lower_bound": [False, False, False, True],
            "ed50_is_upper_bound": False,
        }
    )
    result = ed50_distribution(fits)
    ranked = np.log10([20.0, 40.0, 80.0, np.inf])
    assert result["median"] == pytest.approx(10 ** np.median(ranked))
    assert not result["median_is_lower_bound"]
    # a mean cannot be made from a value known only as "> 320": none is given
    assert np.isnan(result["geometric_mean"]) and np.isnan(result["ci_low"])
    assert (result["n"], result["n_lower_bound"]) == (3, 1)


def test_median_with_units_censored_at_different_top_doses() -> None:
    # Product-limit by hand over 20, >40, 60, 80, >160: S(20) = 4/5; 40 censored;
    # S(60) = 4/5 * 2/3 = 0.533; S(80) = 0.533 * 1/2 = 0.267 <= 0.5, so the median is 80.
    # (Dropping the censored units would give 60.)
    fits = pd.DataFrame(
        {
            "drug": "ipsapirone",
            "fit_status": "ok",
            "ed50": [20.0, 40.0, 60.0, 80.0, 160.0],
            "ed50_is_lower_bound": [False, True, False, False, True],
        }
    )
    assert ed50_distribution(fits)["median"] == pytest.approx(80.0)


def test_median_is_a_lower_bound_when_half_the_units_lie_beyond_the_top_dose() -> None:
    fits = pd.DataFrame(
        {
            "drug": "ipsapirone",
            "fit_status": "ok",
            "ed50": [40.0, 80.0, 160.0, 160.0, 160.0],
            "ed50_is_lower_bound": [False, False, True, True, True],
        }
    )
    result = ed50_distribution(fits)
    assert result["median_is_lower_bound"] and result["median"] == pytest.approx(160.0)
    rng = np.random.default_rng(0)
    for _ in range(50):  # with one top dose: the median with censored units ranked on top
        ed50 = 10 ** rng.uniform(0.5, 2.5, rng.integers(1, 9))
        above = ed50 > 160.0
        reported = np.where(above, 160.0, ed50)
        fits = pd.DataFrame(
            {"drug": "x", "fit_status": "ok", "ed50": reported, "ed50_is_lower_bound": above}
        )
        result = ed50_distribution(fits)
        ranked = np.sort(np.where(above, np.inf, np.log10(ed50)))
        expected = np.median(ranked)
        if np.isfinite(expected):
            assert result["median"] == pytest.approx(10**expected)
            assert not result["median_is_lower_bound"]
        else:
            assert result["median_is_lower_bound"]
            assert result["median"] <= 160.0 + 1e-9


def test_median_resting_on_units_below_the_lowest_dose_is_an_upper_bound() -> None:
    fits = pd.DataFrame(
        {
            "drug": "ipsapirone",
            "fit_status": "ok",
            "ed50": [5.0, 5.0, 5.0, 40.0],
            "ed50_is_lower_bound": False,
            "ed50_is_upper_bound": [True, True, True, False],
        }
    )
    result = ed50_distribution(fits)
    assert result["median"] == pytest.approx(5.0) and result["median_is_upper_bound"]
    assert not result["median_is_lower_bound"] and np.isnan(result["geometric_mean"])


def test_ed50_distribution_with_too_few_estimates() -> None:
    one = ed50_distribution(pd.DataFrame({"drug": "x", "fit_status": ["ok"], "ed50": [50.0]}))
    assert one["geometric_mean"] == pytest.approx(50.0) and np.isnan(one["ci_low"])
    none = ed50_distribution(
        pd.DataFrame({"drug": "x", "fit_status": ["no_response"], "ed50": [np.nan]})
    )
    assert none["n"] == 0 and np.isnan(none["geometric_mean"])


def test_ed50_distribution_takes_one_drug() -> None:
    fits = pd.DataFrame({"drug": ["a", "b"], "fit_status": "ok", "ed50": [1.0, 2.0]})
    with pytest.raises(BadParameterError, match="one drug"):
        ed50_distribution(fits)


# --- statistics --------------------------------------------------------------------------


def _holm_by_hand(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (p.size - rank) * p[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def test_statistics_run_with_missing_doses() -> None:
    table = curve_units(10, seed=2, missing=0.25)
    assert table.groupby("unit").size().min() < CUMULATIVE.size, "the test needs missing doses"
    result = dose_statistics(table)
    omnibus = result[result["test"] == OMNIBUS_TEST].iloc[0]
    post_hoc = result[result["test"] == POST_HOC_TEST]
    assert OMNIBUS_TEST == "summary_measure_t" and POST_HOC_TEST == "paired_t"
    assert omnibus["df"] == 10 - 1
    assert omnibus["p"] < 1e-6 and omnibus["statistic"] < 0
    assert omnibus["n_observations"] == len(table) and omnibus["n_units"] == 10
    assert post_hoc["cumulative_dose"].tolist() == CUMULATIVE.tolist()
    units_at_dose = table.groupby("cumulative_dose")["unit"].nunique().to_numpy()
    np.testing.assert_array_equal(post_hoc["df"], units_at_dose - 1)
    np.testing.assert_array_equal(post_hoc["n_units"], units_at_dose)
    # the top dose inhibits by ~80 %: far from baseline after correction
    assert post_hoc["p_holm"].iloc[-1] < 1e-6
    assert post_hoc["estimate"].iloc[-1] == pytest.approx(-80.0, abs=10.0)


def test_holm_correction_is_monotone_and_correct() -> None:
    # a weak first dose keeps its p away from zero so the ordering is informative
    rng = np.random.default_rng(5)
    pct = {
        f"u{i}": list(np.array([97.0, 85.0, 60.0, 30.0]) + rng.normal(0, 8, 4)) for i in range(6)
    }
    post_hoc = dose_statistics(long_table(pct)).query("test == @POST_HOC_TEST")
    p = post_hoc["p"].to_numpy()
    p_holm = post_hoc["p_holm"].to_numpy()
    assert np.all(p_holm >= p)
    order = np.argsort(p)
    assert np.all(np.diff(p_holm[order]) >= 0)
    np.testing.assert_allclose(p_holm, _holm_by_hand(p))


def test_balanced_estimates_equal_mean_change_from_baseline() -> None:
    table = curve_units(8, seed=3)
    post_hoc = dose_statistics(table).query("test == @POST_HOC_TEST")
    mean_change = table.groupby("cumulative_dose")["pct_baseline"].mean() - 100.0
    np.testing.assert_allclose(post_hoc["estimate"], mean_change.to_numpy(), atol=1e-4)


def test_too_few_units_gives_nan_and_a_note() -> None:
    result = dose_statistics(long_table({"a": [80.0, 40.0, 10.0]}))
    assert result["p"].isna().all() and result["df"].isna().all()
    assert "too few" in result["note"].iloc[0]
    assert result["note"].iloc[1:].str.contains("fewer than two").all()


def test_units_identical_at_a_dose_give_an_infinite_t_with_a_note() -> None:
    result = dose_statistics(long_table({"a": [80.0, 0.0], "b": [70.0, 0.0], "c": [75.0, 0.0]}))
    top = result[(result["test"] == POST_HOC_TEST) & (result["cumulative_dose"] == 20.0)].iloc[0]
    assert top["statistic"] == -np.inf and top["p"] == 0.0
    assert "do not differ" in top["note"]


def test_statistics_skip_antagonist_and_vehicle() -> None:
    table = pd.concat(
        [
            curve_units(4, seed=6),
            long_table({"u0": [95.0], "u1": [90.0]}, drug="WAY-100635"),
            long_table({"u0": [99.0], "u1": [101.0]}, drug="saline"),
        ],
        ignore_index=True,
    )
    assert set(dose_statistics(table)["drug"]) == {"ipsapirone"}


# --- summaries ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three recordings, each with three clock 5-HT units and one fast non-responder."""
    frames, cell_types = [], {}
    for seed in range(3):
        recording, truth = simulate_recording(
            f"sim{seed}",
            ["5ht_clock", "5ht_clock", "5ht_clock", "fast_irregular"],
            seed=seed,
            first_dose_ug_kg=10.0,
            with_waveforms=False,
        )
        frames.append(dose_rates(recording))
        for unit, values in truth["units"].items():
            cell_types[(recording.name, unit)] = values["cell_type"]
    doses = pd.concat(frames, ignore_index=True)
    fits = unit_dose_response(doses)
    fits["cell_type"] = [
        cell_types[key] for key in zip(fits["recording"], fits["unit"], strict=True)
    ]
    return doses, fits


def test_summary_per_group_and_drug(simulated) -> None:
    doses, fits = simulated
    summary, population = summarize(doses, fits, group_col="cell_type")
    assert sorted(summary["cell_type"]) == ["5ht_clock", "fast_irregular"]
    assert set(summary["drug"]) == {"ipsapirone"}  # no row for the antagonist
    serotonergic = summary.set_index("cell_type").loc["5ht_clock"]
    fast = summary.set_index("cell_type").loc["fast_irregular"]
    expected = ed50_distribution(fits[fits["cell_type"] == "5ht_clock"])
    assert serotonergic["ed50_geometric_mean"] == pytest.approx(expected["geometric_mean"])
    assert serotonergic["n_units"] == 9 and fast["n_units"] == 3
    clock = fits.loc[fits["cell_type"] == "5ht_clock", ["recording", "unit"]].drop_duplicates()
    agonist = doses[doses["drug"] == "ipsapirone"].merge(clock, on=["recording", "unit"])
    per_dose = agonist.groupby(["recording", "unit", "cumulative_dose"])["pct_baseline"].mean()
    unit_means = per_dose.groupby(level=["recording", "unit"]).mean() - 100.0
    assert serotonergic["p"] == pytest.approx(stats.ttest_1samp(unit_means, 0.0).pvalue)
    assert serotonergic["p"] < 1e-4 and serotonergic["df"] == 9 - 1
    assert serotonergic["test"] == OMNIBUS_TEST
    assert fast["p"] > 0.01
    assert serotonergic["pooled_fit_status"] == "ok" and fast["pooled_fit_status"] == "no_response"
    assert serotonergic["mean_reversal_pct"] > 70.0
    assert {"test", "statistic", "df", "p_holm", "fitted_pct_baseline"} <= set(population.columns)
    agonist_rows = population[(population["drug"] == "ipsapirone")]
    assert len(agonist_rows) == 12  # 6 doses x 2 groups
    assert (population.loc[population["drug"] == "WAY-100635", "p"].isna()).all()


def test_summary_without_groups_is_one_group(simulated) -> None:
    doses, fits = simulated
    summary, population = summarize(doses, fits)
    assert summary["group"].tolist() == ["all"]
    assert summary["n_units"].iloc[0] == 12
    assert population["n_units"].max() == 12


def test_groups_summarised_together_equal_each_group_alone(simulated) -> None:
    # groups are summarised in one pass; each must get exactly what it gets alone, including
    # units of no group (a missing label)
    doses, fits = simulated
    label = {"sim0": "B", "sim1": "A", "sim2": None}
    fits = fits.assign(batch=fits["recording"].map(label), kind=fits["cell_type"])
    fits["batch"] = fits["batch"].where(fits["unit"] != "unit4", "C")  # a group across recordings
    together = summarize(doses, fits, group_col="batch", resamples=99)
    assert together[0]["batch"].isna().any() and len(together[0]) == 4
    for name, frame in zip(("summary", "population"), together, strict=True):
        for batch, rows in frame.groupby("batch", dropna=False, sort=False):
            members = fits["batch"].isna() if pd.isna(batch) else fits["batch"] == batch
            units = fits.loc[members, ["recording", "unit"]].drop_duplicates()
            alone = summarize(doses.merge(units), fits[members], group_col="batch", resamples=99)
            expected = alone[0] if name == "summary" else alone[1]
            # the label column's dtype follows its values (text, or missing), not its numbers
            pd.testing.assert_frame_equal(rows.reset_index(drop=True).astype({"batch": object}),
                                          expected.astype({"batch": object}), obj=name,
                                          check_exact=True)


def test_summary_with_unknown_group_column_is_rejected(simulated) -> None:
    doses, fits = simulated
    with pytest.raises(BadParameterError, match="treatment"):
        summarize(doses, fits, group_col="treatment")


# --- censoring and the pooled CI in summaries ----------------------------------------------


def test_pooled_ci_resamples_cells_not_points() -> None:
    # Recording every window twice doubles the points but not the cells: a CI that
    # resamples cells must not change, whereas one that counts points shrinks.
    table = curve_units(6, seed=8)
    twice = pd.concat([table, table.assign(injection_time_s=table["injection_time_s"] + 1.0)])
    once_fit = pooled_fit(table, resamples=200).iloc[0]
    twice_fit = pooled_fit(twice, resamples=200).iloc[0]
    assert once_fit["ed50_ci_method"] == "cluster_bootstrap_percentile"
    assert twice_fit["n_points"] == 2 * once_fit["n_points"]
    assert twice_fit["ed50"] == pytest.approx(once_fit["ed50"], rel=1e-6)
    assert twice_fit["ed50_ci_low"] == pytest.approx(once_fit["ed50_ci_low"], rel=1e-6)
    assert twice_fit["ed50_ci_high"] == pytest.approx(once_fit["ed50_ci_high"], rel=1e-6)
    assert once_fit["ed50_ci_low"] < once_fit["ed50"] < once_fit["ed50_ci_high"]
    # the summary's pooled CI is the cluster bootstrap
    summary, _ = summarize(twice, unit_dose_response(table), resamples=200)
    assert summary["pooled_ed50_ci_method"].iloc[0] == "cluster_bootstrap_percentile"
    assert summary["pooled_ed50_ci_low"].iloc[0] == pytest.approx(once_fit["ed50_ci_low"])


def test_pooled_ci_needs_three_cells() -> None:
    fit = pooled_fit(curve_units(2, seed=9), resamples=100).iloc[0]
    assert fit["fit_status"] == "ok" and np.isnan(fit["ed50_ci_low"])
    assert fit["ed50_ci_method"].startswith("none")


def test_summary_keeps_units_beyond_the_top_dose_in_the_median() -> None:
    # three units with ED50s of 20, 30 and 40 and three beyond the top dose (80)
    pct = {
        f"u{index}": list(hill_response(np.log10(CUMULATIVE), np.log10(ed50), 2.0, 0.0))
        for index, ed50 in enumerate([20.0, 30.0, 40.0, 100.0, 120.0, 150.0])
    }
    table = long_table(pct)
    fits = unit_dose_response(table)
    assert fits["fit_status"].eq("ok").all()
    assert fits["ed50_is_lower_bound"].tolist() == [False] * 3 + [True] * 3
    summary, _ = summarize(table, fits, resamples=0)
    row = summary.iloc[0]
    # ranked with the censored units above 80, the median lies between 40 and >80:
    # it is at least 40, and the geometric mean of the three estimates (28.8) is not given
    assert row["ed50_median"] == pytest.approx(40.0) and row["ed50_median_is_lower_bound"]
    assert np.isnan(row["ed50_geometric_mean"])
    assert (row["n_ed50"], row["n_lower_bound"]) == (3, 3)
    # a fit that gives no value for a lower-bound ED50 is censored at the unit's top dose
    hidden = fits.assign(ed50=np.where(fits["ed50_is_lower_bound"], np.nan, fits["ed50"]))
    summary_hidden, _ = summarize(table, hidden, resamples=0)
    assert summary_hidden["ed50_median"].iloc[0] == pytest.approx(row["ed50_median"])
    assert summary_hidden["n_lower_bound"].iloc[0] == row["n_lower_bound"]


def test_bootstrap_fits_each_distinct_draw_of_cells_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapheunit.doseresponse import ed50_summary

    fitted_rows: list[int] = []
    original = ed50_summary.fit_hill_batch

    def counted(dose: np.ndarray, *args: object, **kwargs: object) -> pd.DataFrame:
        fitted_rows.append(dose.shape[0])
        return original(dose, *args, **kwargs)

    monkeypatch.setattr(ed50_summary, "fit_hill_batch", counted)
    doses = np.tile([10.0, 20.0, 40.0, 80.0], (4, 1))
    pct = np.array([[90.0, 70, 40, 15], [80, 55, 30, 10], [95, 80, 55, 25], [85, 65, 35, 12]])
    low, high, _ = ed50_summary.cluster_bootstrap_ci(doses, pct, "ipsapirone", resamples=499)
    # 4 cells drawn 4 times with replacement: C(7, 4) = 35 distinct multisets at most
    assert fitted_rows and fitted_rows[0] <= 35
    assert 10.0 < low < high < 80.0
