"""Tests of the per-unit Hill fit, ED50 confidence intervals, statuses and reversal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from rapheunit.core.epochs import dose_rates
from rapheunit.core.errors import BadDoseTableError, BadParameterError
from rapheunit.doseresponse.fits import (
    FIT_STATUSES,
    FitParams,
    HillFit,
    dose_responses,
    fit_hill,
    fit_hill_batch,
    hill_response,
    unit_dose_response,
)
from rapheunit.simulate import simulate_recording

DOUBLING_DOSES = 10.0 * 2.0 ** np.arange(6)  # 10 ... 320 ug/kg cumulative
REQUIRED_OUTPUT = (
    "drug",
    "ed50",
    "ed50_unit",
    "ed50_ci_low",
    "ed50_ci_high",
    "ed50_is_lower_bound",
    "hill_slope",
    "max_inhibition_pct",
    "fit_status",
    "fit_r2",
    "n_doses",
    "reversal_pct",
)


def dose_table(
    series: dict[tuple[str, str], list[float]],
    *,
    drug: str = "ipsapirone",
    cumulative: np.ndarray = DOUBLING_DOSES,
    antagonist_pct: dict[tuple[str, str], float] | None = None,
) -> pd.DataFrame:
    """A per-injection table in the epochs format: one agonist series per unit, then WAY."""
    rows = []
    for (recording, unit), pct in series.items():
        times = 300.0 + 180.0 * np.arange(len(pct))
        increments = np.diff(cumulative[: len(pct)], prepend=0.0)
        for time_s, dose, total, value in zip(times, increments, cumulative, pct, strict=False):
            rows.append(_row(recording, unit, drug, dose, total, time_s, value))
        if antagonist_pct and (recording, unit) in antagonist_pct:
            after = antagonist_pct[(recording, unit)]
            rows.append(_row(recording, unit, "WAY-100635", 100.0, 100.0, times[-1] + 180, after))
    return pd.DataFrame(rows)


def _row(
    recording: str, unit: str, drug: str, dose: float, total: float, time_s: float, pct: float
) -> dict[str, object]:
    baseline_rate_hz = 1.5
    return {
        "recording": recording,
        "unit": unit,
        "drug": drug,
        "dose": dose,
        "dose_unit": "ug/kg",
        "cumulative_dose": total,
        "injection_time_s": time_s,
        "window_start_s": time_s + 120.0,
        "window_stop_s": time_s + 180.0,
        "rate_hz": baseline_rate_hz * pct / 100.0,
        "pct_baseline": pct,
        "baseline_rate_hz": baseline_rate_hz,
    }


def hill_values(doses: np.ndarray, ed50: float, slope: float, bottom: float) -> np.ndarray:
    return hill_response(np.log10(doses), np.log10(ed50), slope, bottom)


# --- the model and exact recovery ------------------------------------------------------


def test_hill_response_is_the_documented_logistic() -> None:
    log_dose = np.linspace(0.0, 3.0, 7)
    expected = 100.0 - (100.0 - 20.0) / (1.0 + 10.0 ** ((1.5 - log_dose) * 1.3))
    np.testing.assert_allclose(hill_response(log_dose, 1.5, 1.3, 20.0), expected, rtol=1e-12)
    assert float(hill_response(1.5, 1.5, 1.3, 20.0)) == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("ed50", "slope", "bottom"), [(20.0, 1.0, 0.0), (60.0, 1.7, 12.0), (150.0, 2.5, 30.0)]
)
def test_noise_free_curves_are_recovered(ed50: float, slope: float, bottom: float) -> None:
    fit = fit_hill(DOUBLING_DOSES, hill_values(DOUBLING_DOSES, ed50, slope, bottom))
    assert fit.fit_status == "ok"
    assert fit.ed50 == pytest.approx(ed50, rel=1e-6)
    assert fit.hill_slope == pytest.approx(slope, rel=1e-6)
    assert fit.bottom_pct == pytest.approx(bottom, abs=1e-5)
    assert fit.max_inhibition_pct == pytest.approx(100.0 - bottom, abs=1e-5)
    assert fit.fit_r2 == pytest.approx(1.0)
    assert fit.ed50_ci_low <= fit.ed50 <= fit.ed50_ci_high


# Textbook-shaped inhibition data (doses in half-log steps, as in a classic agonist
# concentration-response table) with realistic scatter.
TEXTBOOK_DOSES = np.array([1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0])
TEXTBOOK_RESPONSES = np.array([97.0, 93.5, 78.0, 52.0, 31.0, 17.5, 14.0])


def _hill_equation_linear_dose(dose: np.ndarray, ed50: float, slope: float, bottom: float):
    """Same model written as the Hill equation in linear dose (independent of the package)."""
    occupancy = dose**slope / (dose**slope + ed50**slope)
    return 100.0 - (100.0 - bottom) * occupancy


def test_fit_agrees_with_independent_curve_fit_to_four_significant_figures() -> None:
    fit = fit_hill(TEXTBOOK_DOSES, TEXTBOOK_RESPONSES)
    reference, _ = optimize.curve_fit(
        _hill_equation_linear_dose,
        TEXTBOOK_DOSES,
        TEXTBOOK_RESPONSES,
        p0=(20.0, 1.0, 10.0),
        xtol=1e-14,
        ftol=1e-14,
        gtol=1e-14,
        maxfev=100_000,
    )
    assert fit.fit_status == "ok"
    for value, expected in zip((fit.ed50, fit.hill_slope, fit.bottom_pct), reference, strict=True):
        assert value == pytest.approx(expected, rel=5e-5)


def test_fit_agrees_with_dense_grid_plus_nelder_mead() -> None:
    rng = np.random.default_rng(7)
    responses = hill_values(DOUBLING_DOSES, 45.0, 1.4, 8.0) + rng.normal(0.0, 6.0, 6)

    def sse(theta: np.ndarray) -> float:
        ed50, slope, bottom = theta
        residual = _hill_equation_linear_dose(DOUBLING_DOSES, ed50, slope, bottom) - responses
        return float(residual @ residual)

    ed50, slope, bottom = np.meshgrid(
        np.geomspace(5.0, 500.0, 60), np.linspace(0.4, 4.5, 30), np.linspace(1.0, 60.0, 30)
    )
    grid_curves = _hill_equation_linear_dose(
        DOUBLING_DOSES, ed50[..., None], slope[..., None], bottom[..., None]
    )
    best = np.unravel_index(((grid_curves - responses) ** 2).sum(axis=-1).argmin(), ed50.shape)
    start = (ed50[best], slope[best], bottom[best])
    reference = optimize.minimize(
        sse,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20_000},
    ).x
    fit = fit_hill(DOUBLING_DOSES, responses)
    assert 0.0 < reference[2] < 100.0, "the test needs an interior optimum"
    for value, expected in zip((fit.ed50, fit.hill_slope, fit.bottom_pct), reference, strict=True):
        assert value == pytest.approx(expected, rel=5e-5)


def test_profile_ci_limits_sit_where_the_profile_crosses_the_f_threshold() -> None:
    fit = fit_hill(TEXTBOOK_DOSES, TEXTBOOK_RESPONSES)
    log_dose = np.log10(TEXTBOOK_DOSES)

    # the documented slope window of the fit (docs/defaults.md), bottom within 0-100 %
    slope_range = (0.3, 5.0)

    def profile(ed50: float) -> float:
        def sse(theta: np.ndarray) -> float:
            residual = hill_response(log_dose, np.log10(ed50), *theta) - TEXTBOOK_RESPONSES
            return float(residual @ residual)

        starts = [(0.5, 5.0), (1.0, 30.0), (2.0, 5.0), (4.0, 30.0)]
        return min(
            optimize.minimize(sse, start, bounds=[slope_range, (0.0, 100.0)]).fun
            for start in starts
        )

    df = TEXTBOOK_DOSES.size - 3
    sse_min = profile(fit.ed50)
    threshold = sse_min * (1.0 + stats.f.ppf(0.95, 1, df) / df)
    assert fit.ed50_ci_method == "profile_likelihood"
    assert fit.ed50_ci_low < fit.ed50 < fit.ed50_ci_high
    for limit in (fit.ed50_ci_low, fit.ed50_ci_high):
        assert profile(limit) == pytest.approx(threshold, rel=2e-3)
    assert profile(fit.ed50_ci_low * 0.97) > threshold
    assert profile(fit.ed50_ci_high * 1.03) > threshold


def test_batch_rows_equal_single_fits_whatever_the_padding() -> None:
    rng = np.random.default_rng(3)
    doses = np.full((4, 8), np.nan)
    responses = np.full((4, 8), np.nan)
    singles = []
    for row, (n_doses, ed50) in enumerate([(6, 30.0), (4, 25.0), (5, 80.0), (3, 15.0)]):
        columns = np.sort(rng.choice(8, n_doses, replace=False))
        unit_doses = DOUBLING_DOSES[:n_doses]
        unit_responses = hill_values(unit_doses, ed50, 1.5, 5.0) + rng.normal(0, 4, n_doses)
        doses[row, columns] = unit_doses
        responses[row, columns] = unit_responses
        singles.append(fit_hill(unit_doses, unit_responses).as_row())
    batch = fit_hill_batch(doses, responses)
    pd.testing.assert_frame_equal(batch, pd.DataFrame(singles), rtol=1e-9)


# --- statuses and bounds ---------------------------------------------------------------


def test_too_few_doses() -> None:
    fit = fit_hill(DOUBLING_DOSES[:2], np.array([70.0, 30.0]))
    assert fit.fit_status == "too_few_doses"
    assert fit.n_doses == 2
    assert np.isnan(fit.ed50) and np.isnan(fit.hill_slope) and np.isnan(fit.ed50_ci_low)


def test_repeated_doses_count_once() -> None:
    fit = fit_hill(np.array([10.0, 10.0, 20.0, 20.0]), np.array([80.0, 75.0, 40.0, 45.0]))
    assert (fit.fit_status, fit.n_doses, fit.n_points) == ("too_few_doses", 2, 4)


def test_flat_response_is_no_response() -> None:
    rng = np.random.default_rng(0)
    fit = fit_hill(DOUBLING_DOSES, 100.0 + rng.normal(0.0, 4.0, 6))
    assert fit.fit_status == "no_response"
    assert np.isnan(fit.ed50)
    assert fit.observed_max_inhibition_pct < FitParams().min_inhibition_pct


def test_exhausted_iterations_give_did_not_converge() -> None:
    rng = np.random.default_rng(2)
    responses = hill_values(DOUBLING_DOSES, 60.0, 1.2, 10.0) + rng.normal(0.0, 5.0, 6)
    fit = fit_hill(DOUBLING_DOSES, responses, FitParams(max_iterations=1))
    assert fit.fit_status == "did_not_converge"
    assert np.isnan(fit.ed50) and np.isnan(fit.fit_r2)
    assert fit_hill(DOUBLING_DOSES, responses).fit_status == "ok"


def test_silence_without_recovery_is_unit_lost() -> None:
    responses = np.array([90.0, 60.0, 25.0, 5.0, 0.0, 0.0])
    assert fit_hill(DOUBLING_DOSES, responses, recovered=False).fit_status == "unit_lost"
    assert fit_hill(DOUBLING_DOSES, responses, recovered=True).fit_status == "ok"
    firing_at_top = np.array([90.0, 60.0, 25.0, 10.0, 6.0, 4.0])
    assert fit_hill(DOUBLING_DOSES, firing_at_top, recovered=False).fit_status == "ok"


def test_every_status_is_a_documented_one() -> None:
    table = dose_table(
        {
            ("r", "ok"): [90.0, 70.0, 40.0, 20.0, 10.0, 5.0],
            ("r", "few"): [70.0, 40.0],
            ("r", "flat"): [101.0, 97.0, 99.0, 103.0, 98.0, 100.0],
            ("r", "lost"): [80.0, 50.0, 20.0, 0.0, 0.0, 0.0],
        },
        antagonist_pct={("r", "ok"): 95.0, ("r", "lost"): 0.0},
    )
    result = unit_dose_response(table).set_index("unit")
    assert result["fit_status"].to_dict() == {
        "few": "too_few_doses",
        "flat": "no_response",
        "lost": "unit_lost",
        "ok": "ok",
    }
    assert set(result["fit_status"]) <= set(FIT_STATUSES)
    assert result.loc[["few", "flat", "lost"], "ed50"].isna().all()


def test_ed50_beyond_highest_dose_is_a_lower_bound() -> None:
    doses = DOUBLING_DOSES[:4]  # 10 ... 80 ug/kg: 29 % inhibition at the top dose
    fit = fit_hill(doses, hill_values(doses, 200.0, 1.0, 0.0))
    assert fit.fit_status == "ok"
    assert fit.ed50_is_lower_bound and not fit.ed50_is_upper_bound
    assert fit.ed50 == pytest.approx(80.0)
    assert np.isnan(fit.ed50_ci_low) and np.isnan(fit.ed50_ci_high)
    assert np.isnan(fit.hill_slope) and np.isnan(fit.max_inhibition_pct)


def test_ed50_below_lowest_dose_is_an_upper_bound() -> None:
    fit = fit_hill(DOUBLING_DOSES, hill_values(DOUBLING_DOSES, 1.0, 1.0, 0.0))
    assert fit.fit_status == "ok"
    assert fit.ed50_is_upper_bound and not fit.ed50_is_lower_bound
    assert fit.ed50 == pytest.approx(DOUBLING_DOSES[0])
    assert np.isnan(fit.ed50_ci_low) and np.isnan(fit.ed50_ci_high)


def test_unit_that_stops_firing_fits_with_bottom_zero() -> None:
    responses = np.array([88.0, 55.0, 18.0, 0.0, 0.0, 0.0])
    fit = fit_hill(DOUBLING_DOSES, responses)
    assert fit.fit_status == "ok"
    assert fit.bottom_pct == 0.0
    assert fit.max_inhibition_pct == 100.0
    assert DOUBLING_DOSES[0] < fit.ed50 < DOUBLING_DOSES[2]
    assert fit.ed50_ci_low < fit.ed50 < fit.ed50_ci_high


def test_open_ci_side_is_reported_as_unbounded() -> None:
    # Weak, noisy inhibition at the last doses only: large ED50s cannot be excluded.
    responses = np.array([100.0, 90.0, 104.0, 95.0, 85.0, 70.0])
    fit = fit_hill(DOUBLING_DOSES, responses)
    assert fit.fit_status == "ok" and not fit.ed50_is_lower_bound
    assert np.isinf(fit.ed50_ci_high)
    assert 0.0 < fit.ed50_ci_low < fit.ed50


def test_no_residual_degrees_of_freedom_leaves_ci_nan() -> None:
    fit = fit_hill(DOUBLING_DOSES[:3], np.array([85.0, 50.0, 20.0]))
    assert fit.fit_status == "ok"
    assert np.isfinite(fit.ed50)
    assert np.isnan(fit.ed50_ci_low) and np.isnan(fit.ed50_ci_high) and np.isnan(fit.residual_sd)


def test_nan_responses_are_ignored() -> None:
    responses = hill_values(DOUBLING_DOSES, 40.0, 1.5, 5.0)
    with_gap = responses.copy()
    with_gap[2] = np.nan
    fit = fit_hill(DOUBLING_DOSES, with_gap)
    assert fit.n_doses == 5
    assert fit.ed50 == pytest.approx(40.0, rel=1e-6)


# --- the unit table -------------------------------------------------------------------


def test_output_columns_and_one_row_per_unit_and_agonist() -> None:
    ipsapirone = dose_table({("r", "u1"): [90.0, 70.0, 40.0, 20.0, 10.0, 5.0]})
    dpat = dose_table(
        {("r", "u1"): [80.0, 50.0, 20.0, 8.0]},
        drug="8-OH-DPAT",
        cumulative=np.array([0.25, 0.5, 1.0, 2.0]),
    )
    dpat["injection_time_s"] += 5000.0
    result = unit_dose_response(pd.concat([ipsapirone, dpat], ignore_index=True))
    assert set(REQUIRED_OUTPUT) <= set(result.columns)
    assert sorted(result["drug"]) == ["8-OH-DPAT", "ipsapirone"]
    assert (result["ed50_unit"] == "ug/kg").all()
    dpat_row = result.set_index("drug").loc["8-OH-DPAT"]
    assert 0.25 < dpat_row["ed50"] < 1.0


def test_non_5ht1a_drug_gets_a_fit_but_no_reversal_and_vehicle_no_row() -> None:
    bicuculline = dose_table({("r", "u1"): [120.0, 80.0, 50.0, 30.0]}, drug="bicuculline")
    saline = dose_table({("r", "u1"): [100.0, 99.0]}, drug="saline")
    bicuculline = pd.concat([bicuculline, _antagonist_rows(bicuculline, 80.0)], ignore_index=True)
    result = unit_dose_response(pd.concat([bicuculline, saline], ignore_index=True))
    assert result["drug"].tolist() == ["bicuculline"]
    assert result["fit_status"].iloc[0] == "ok"
    assert np.isnan(result["reversal_pct"].iloc[0])


def _antagonist_rows(table: pd.DataFrame, pct: float) -> pd.DataFrame:
    last = table.iloc[[-1]].copy()
    last["drug"] = "WAY-100635"
    last["injection_time_s"] += 180.0
    last["pct_baseline"] = pct
    return last


def test_reversal_formula() -> None:
    table = dose_table(
        {("r", "u1"): [90.0, 70.0, 45.0, 25.0, 20.0]}, antagonist_pct={("r", "u1"): 84.0}
    )
    row = unit_dose_response(table).iloc[0]
    assert row["reversal_pct_baseline"] == 84.0
    assert row["reversal_pct"] == pytest.approx(100.0 * (84.0 - 20.0) / (100.0 - 20.0))


def test_reversal_share_needs_inhibition_to_undo() -> None:
    table = dose_table({("r", "u1"): [98.0, 99.0, 97.0, 95.0]}, antagonist_pct={("r", "u1"): 100.0})
    row = unit_dose_response(table).iloc[0]
    assert row["reversal_pct_baseline"] == 100.0
    assert np.isnan(row["reversal_pct"])


def test_no_antagonist_means_no_reversal() -> None:
    row = unit_dose_response(dose_table({("r", "u1"): [90.0, 70.0, 45.0, 25.0]})).iloc[0]
    assert np.isnan(row["reversal_pct"]) and np.isnan(row["reversal_pct_baseline"])


def test_antagonist_belongs_to_the_series_that_ended_before_it() -> None:
    first = dose_table({("r", "u1"): [90.0, 60.0, 30.0, 20.0]}, antagonist_pct={("r", "u1"): 60.0})
    second = dose_table(
        {("r", "u1"): [85.0, 55.0, 25.0, 10.0]},
        drug="8-OH-DPAT",
        cumulative=np.array([0.5, 1.0, 2.0, 4.0]),
        antagonist_pct={("r", "u1"): 100.0},
    )
    second["injection_time_s"] += 4000.0
    result = unit_dose_response(pd.concat([first, second], ignore_index=True)).set_index("drug")
    assert result.loc["ipsapirone", "reversal_pct"] == pytest.approx(50.0)
    assert result.loc["8-OH-DPAT", "reversal_pct"] == pytest.approx(100.0)


def test_labels_carrying_cumulative_totals_fit_the_same() -> None:
    pct = [88.0, 66.0, 41.0, 22.0, 12.0, 8.0]
    incremental = dose_table({("r", "u1"): pct})
    totals = incremental.assign(dose=incremental["cumulative_dose"])  # "ipsa 40 ug/kg total"
    assert not incremental["dose"].equals(totals["dose"])
    pd.testing.assert_frame_equal(unit_dose_response(incremental), unit_dose_response(totals))


def test_dose_responses_adds_role_and_inhibition() -> None:
    table = dose_table({("r", "u1"): [80.0, 30.0]}, antagonist_pct={("r", "u1"): 90.0})
    result = dose_responses(table.iloc[::-1])
    assert result["role"].tolist() == ["5ht1a_agonist", "5ht1a_agonist", "5ht1a_antagonist"]
    np.testing.assert_allclose(result["inhibition_pct"], [20.0, 70.0, 10.0])


def test_empty_table_gives_empty_result_with_columns() -> None:
    result = unit_dose_response(dose_table({}).reindex(columns=_row("r", "u", "d", 1, 1, 0, 1)))
    assert result.empty
    assert set(REQUIRED_OUTPUT) <= set(result.columns)


# --- bad input -------------------------------------------------------------------------


def test_missing_column_is_a_bad_dose_table() -> None:
    table = dose_table({("r", "u1"): [80.0, 30.0, 10.0]}).drop(columns="pct_baseline")
    with pytest.raises(BadDoseTableError, match="pct_baseline"):
        unit_dose_response(table)


def test_mixed_dose_units_in_one_series_are_rejected() -> None:
    table = dose_table({("r", "u1"): [80.0, 30.0, 10.0]})
    table.loc[2, "dose_unit"] = "uM"
    with pytest.raises(BadDoseTableError, match="dose units"):
        unit_dose_response(table)


def test_non_positive_dose_is_rejected() -> None:
    with pytest.raises(BadParameterError, match="> 0"):
        fit_hill(np.array([0.0, 10.0, 20.0]), np.array([100.0, 50.0, 20.0]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"top_pct": 0.0},
        {"bottom_bounds_pct": (50.0, 10.0)},
        {"bottom_bounds_pct": (0.0, 150.0)},
        {"slope_bounds": (0.0, 5.0)},
        {"slope_bounds": (1.0,)},
        {"min_doses": 2},
        {"min_doses": 3.0},
        {"min_inhibition_pct": 100.0},
        {"confidence": 0.0},
        {"ed50_search_decades": -1.0},
        {"log_ed50_grid_step": 0.0},
        {"n_slope_grid": 2},
        {"max_iterations": 0},
    ],
)
def test_bad_fit_params_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(BadParameterError):
        FitParams(**kwargs)


def test_hill_fit_as_row_has_every_field() -> None:
    fit = fit_hill(DOUBLING_DOSES, hill_values(DOUBLING_DOSES, 40.0, 1.5, 5.0))
    assert isinstance(fit, HillFit)
    assert list(fit.as_row()) == [name for name in HillFit.__dataclass_fields__]


# --- simulated recordings with known ED50 -----------------------------------------------


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, dict[tuple[str, str], dict[str, float]]]:
    """60 clock-like 5-HT units, 10 recordings of 6, 5-7 doubling doses from 10 ug/kg."""
    frames, truths = [], {}
    for seed in range(10):
        recording, truth = simulate_recording(
            f"sim{seed}",
            ["5ht_clock"] * 6,
            seed=seed,
            n_doses=5 + seed % 3,
            first_dose_ug_kg=10.0,
            with_waveforms=False,
        )
        frames.append(dose_rates(recording))
        for unit, values in truth["units"].items():
            truths[(recording.name, unit)] = values
    return pd.concat(frames, ignore_index=True), truths


def test_simulated_ed50s_are_recovered_and_covered(simulated) -> None:
    doses, truths = simulated
    result = unit_dose_response(doses)
    keys = list(zip(result["recording"], result["unit"], strict=True))
    # Ipsapirone is fitted with its bottom at 0 %, so the fitted ED50 is the dose that halves
    # firing. For the simulated curve 1 - m * D^h / (D^h + E^h) that dose solves
    # m * D^h / (D^h + E^h) = 1/2: D = E * (0.5 / (m - 0.5)) ** (1 / h).
    true_ed50 = np.array(
        [
            truths[key]["ed50_ug_kg"]
            * (0.5 / (truths[key]["max_inhibition"] - 0.5)) ** (1.0 / truths[key]["hill_slope"])
            for key in keys
        ]
    )
    assert len(result) == 60
    assert (result["fit_status"] == "ok").all()
    assert result["bottom_fixed"].all()
    assert np.allclose(result["ed50_absolute"], result["ed50"])
    point = ~result["ed50_is_lower_bound"]
    within = np.abs(np.log(result["ed50"] / true_ed50)) < np.log(1.5)
    # a lower bound is right when the truth lies beyond the highest dose it reports
    right_bound = result["ed50_is_lower_bound"] & (true_ed50 >= result["ed50"])
    covered = (result["ed50_ci_low"] <= true_ed50) & (true_ed50 <= result["ed50_ci_high"])
    assert (within & point | right_bound).mean() >= 0.90
    assert covered[point].mean() >= 0.80


def test_simulated_reversal_matches_recovery(simulated) -> None:
    doses, truths = simulated
    result = unit_dose_response(doses)
    recovery_pct = np.array(
        [
            100.0 * truths[key]["recovery_fraction"]
            for key in zip(result["recording"], result["unit"], strict=True)
        ]
    )
    assert np.all(np.abs(result["reversal_pct_baseline"] - recovery_pct) < 20.0)
    assert np.median(result["reversal_pct"]) > 75.0
