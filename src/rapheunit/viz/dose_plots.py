"""Dose-response figures: one unit's % of baseline with its Hill fit, and the population."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from rapheunit.core.markers import ANTAGONIST, drug_role
from rapheunit.doseresponse.fits import (
    BASELINE_PCT,
    NON_DOSE_RESPONSE_ROLES,
    HillFit,
    hill_response,
)
from rapheunit.viz.style import (
    DOSE_AXIS_TOP_PCT,
    DOSE_POINTS_GID,
    PALETTE,
    add_legend,
    axes_or_new,
    drug_colour,
    log_x_axis,
)


def _fit_field(fit: HillFit | Mapping[str, Any] | pd.Series, name: str) -> Any:
    row = fit.as_row() if isinstance(fit, HillFit) else fit
    return row.get(name, np.nan)


def _fit_is_drawable(fit: HillFit | Mapping[str, Any] | pd.Series | None) -> bool:
    if fit is None or _fit_field(fit, "fit_status") != "ok":
        return False
    values = [_fit_field(fit, name) for name in ("ed50", "hill_slope", "bottom_pct")]
    return all(isinstance(v, int | float) and np.isfinite(v) for v in values)


def _draw_fit(
    ax: Axes,
    fit: HillFit | Mapping[str, Any] | pd.Series | None,
    dose_range: tuple[float, float],
    colour: str,
) -> None:
    """Fitted curve and ED50 [CI], or a note on why there is none (doses in axis units)."""
    if fit is not None and bool(_fit_field(fit, "ed50_is_lower_bound")):
        ed50 = float(_fit_field(fit, "ed50"))
        ax.errorbar([ed50], [50.0], xerr=[[0.0], [ed50]], xuplims=False, xlolims=True,
                    fmt="D", color=colour, markersize=5, gid="ed50", label=f"ED50 > {ed50:.3g}")
        return
    if not _fit_is_drawable(fit):
        status = "no fit" if fit is None else f"no fit: {_fit_field(fit, 'fit_status')}"
        ax.plot([], [], linestyle="none", label=status)  # a legend line without a symbol
        return
    ed50 = float(_fit_field(fit, "ed50"))
    slope, bottom = float(_fit_field(fit, "hill_slope")), float(_fit_field(fit, "bottom_pct"))
    top = float(_fit_field(fit, "top_pct")) if np.isfinite(_fit_field(fit, "top_pct")) else (
        BASELINE_PCT
    )
    low, high = min(dose_range[0], ed50) / 2.0, max(dose_range[1], ed50) * 2.0
    grid = np.geomspace(low, high, 200)
    ax.plot(grid, hill_response(np.log10(grid), np.log10(ed50), slope, bottom, top),
            color=colour, linewidth=1.2, label=f"Hill fit, slope {slope:.2g}")
    ci_low, ci_high = float(_fit_field(fit, "ed50_ci_low")), float(_fit_field(fit, "ed50_ci_high"))
    # Open CI limits (0 or inf) are drawn to the edge of the plotted dose range.
    shown_low = ci_low if np.isfinite(ci_low) and ci_low > 0 else low
    shown_high = ci_high if np.isfinite(ci_high) else high
    ci_text = f"[{ci_low:.3g}, {ci_high:.3g}]" if np.isfinite(ci_low) else "(no CI)"
    ax.errorbar([ed50], [(top + bottom) / 2.0],
                xerr=[[max(ed50 - shown_low, 0.0)], [max(shown_high - ed50, 0.0)]],
                fmt="D", color=colour, markersize=5, capsize=3, gid="ed50",
                label=f"ED50 {ed50:.3g} {ci_text}")
    ax.set_xlim(low, high)


def _agonist_rows(doses: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows that belong on the dose axis, and the antagonist rows."""
    if doses.empty:
        empty = pd.DataFrame(columns=["drug", "dose_unit", "cumulative_dose", "pct_baseline"])
        return empty, empty
    roles = doses["drug"].map(drug_role)
    on_axis = ~roles.isin(NON_DOSE_RESPONSE_ROLES) & (doses["cumulative_dose"] > 0)
    return doses[on_axis], doses[roles == ANTAGONIST]


def _dose_axes(ax: Axes, points: pd.DataFrame) -> None:
    """Log dose axis named after the drug (when there is one) with its unit; 100 % line."""
    log_x_axis(ax)
    ax.axhline(BASELINE_PCT, color=PALETTE["measure"], linestyle=":", linewidth=0.8)
    drugs = points["drug"].unique()
    what = f"Cumulative {drugs[0]}" if len(drugs) == 1 else "Cumulative dose"
    unit = f" ({points['dose_unit'].iloc[0]})" if len(points) else ""
    ax.set_xlabel(what + unit)
    ax.set_ylabel("Firing (% of baseline)")
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, -5.0), max(high, DOSE_AXIS_TOP_PCT))


# The antagonist is not on the agonist's dose axis: its point sits this factor past the
# highest agonist dose, in a shaded strip, labelled with its own drug and dose.
_ANTAGONIST_X_FACTOR = 4.0


def _draw_antagonist(ax: Axes, antagonist: pd.DataFrame, points: pd.DataFrame,
                     value: str, sem: str | None = None) -> None:
    """Draw each antagonist row as a labelled point right of the dose axis."""
    if antagonist.empty or not len(points):
        return
    highest = float(points["cumulative_dose"].max())
    x = highest * _ANTAGONIST_X_FACTOR
    low, high = ax.get_xlim()
    # Above the fit curve's tail (zorder 2), below the antagonist point and its label.
    # The strip spans a factor 4 (log-centred on the point): room for its label.
    ax.axvspan(x / 2.0, x * 2.0, color="0.93", zorder=2.1)
    for _, row in antagonist.iterrows():
        colour = drug_colour(str(row["drug"]))
        error = float(row[sem]) if sem is not None and np.isfinite(row[sem]) else 0.0
        ax.errorbar([x], [row[value]], yerr=[error], fmt="s", color=colour, markersize=5,
                    capsize=3, gid="antagonist", label="_nolegend_", zorder=3)
        # Labelled at the foot of its strip, clear of the 100 % line and the points.
        ax.annotate(f"+ {row['drug']}\n{row['cumulative_dose']:g} {row['dose_unit']}\n"
                    f"{row[value]:.0f} %", (x, 0.03), xycoords=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=6, color=colour)
    ax.set_xlim(low, max(high, x * 2.0))


def dose_response_plot(
    doses: pd.DataFrame,
    fit: HillFit | Mapping[str, Any] | pd.Series | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One unit's responses against cumulative dose, the Hill fit and the ED50 with its CI.

    Parameters
    ----------
    doses : pandas.DataFrame
        The unit's rows of ``doses.csv`` (``drug``, ``cumulative_dose``,
        ``dose_unit``, ``pct_baseline``). Agonist rows are the points; the
        firing after an antagonist is written in the corner.
    fit : HillFit, mapping or pandas.Series, optional
        The unit's fit (:class:`~rapheunit.doseresponse.HillFit` or a row with
        its columns); the curve and ED50 are drawn when ``fit_status == "ok"``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from rapheunit.doseresponse.fits import fit_hill
    >>> doses = pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": [10.0, 20, 40, 80], "pct_baseline": [85.0, 60, 30, 12]})
    >>> ax = dose_response_plot(doses, fit_hill(doses["cumulative_dose"], doses["pct_baseline"]))
    >>> ax.get_xscale(), [c.get_label()[:4] for c in ax.containers]
    ('log', ['ED50'])
    """
    ax = axes_or_new(ax, (4.0, 3.0))
    points, antagonist = _agonist_rows(doses)
    several_drugs = points["drug"].nunique() > 1  # one drug is named on the axis instead
    for drug, rows in points.groupby("drug", sort=False):
        ax.plot(rows["cumulative_dose"], rows["pct_baseline"], linestyle="none", marker="o",
                color=drug_colour(str(drug)), markersize=5, gid=DOSE_POINTS_GID,
                label=str(drug) if several_drugs else "_nolegend_")
    if len(points):
        dose_range = (float(points["cumulative_dose"].min()),
                      float(points["cumulative_dose"].max()))
        _draw_fit(ax, fit, dose_range, PALETTE["fit"])
    else:
        ax.text(0.5, 0.5, "no agonist doses", transform=ax.transAxes, ha="center")
        ax.set_xlim(1.0, 10.0)
    _dose_axes(ax, points)
    _draw_antagonist(ax, antagonist.tail(1), points, "pct_baseline")
    add_legend(ax, "best")  # curves fall anywhere: let matplotlib find the emptiest corner
    return ax


def _pooled_row(pooled_fit: Any, drug: str) -> Mapping[str, Any] | pd.Series | HillFit | None:
    if isinstance(pooled_fit, pd.DataFrame):
        rows = pooled_fit[pooled_fit["drug"] == drug] if "drug" in pooled_fit else pooled_fit
        return rows.iloc[0] if len(rows) else None
    return pooled_fit


def population_dose_response_plot(
    population_df: pd.DataFrame,
    pooled_fit: pd.DataFrame | HillFit | Mapping[str, Any] | pd.Series | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean +/- SEM % of baseline per cumulative dose across units, with the pooled fit.

    Parameters
    ----------
    population_df : pandas.DataFrame
        As :func:`rapheunit.doseresponse.population.population_dose_response` returns
        (``drug``, ``dose_unit``, ``cumulative_dose``, ``n_units``,
        ``mean_pct_baseline``, ``sem_pct_baseline``).
    pooled_fit : pandas.DataFrame, HillFit or row, optional
        :func:`rapheunit.doseresponse.population.pooled_fit` (one row per drug) or one fit.
    ax : matplotlib.axes.Axes, optional

    Examples
    --------
    >>> table = pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg",
    ...     "cumulative_dose": [10.0, 20, 40], "n_units": 4,
    ...     "mean_pct_baseline": [80.0, 50, 20], "sem_pct_baseline": [5.0, 6, 4]})
    >>> ax = population_dose_response_plot(table)
    >>> len(ax.containers), ax.get_xscale()
    (1, 'log')
    """
    ax = axes_or_new(ax, (4.5, 3.2))
    points, antagonist = _agonist_rows(population_df)
    for drug, rows in points.groupby("drug", sort=False):
        colour = drug_colour(str(drug))
        n_units = int(rows["n_units"].max())
        ax.errorbar(rows["cumulative_dose"], rows["mean_pct_baseline"],
                    yerr=rows["sem_pct_baseline"].fillna(0.0), fmt="o", color=colour,
                    markersize=5, capsize=3, label=f"{drug}: mean ± SEM (n ≤ {n_units})")
        dose_range = (float(rows["cumulative_dose"].min()), float(rows["cumulative_dose"].max()))
        if pooled_fit is not None:
            _draw_fit(ax, _pooled_row(pooled_fit, str(drug)), dose_range, colour)
    if not len(points):
        ax.text(0.5, 0.5, "no agonist doses", transform=ax.transAxes, ha="center")
        ax.set_xlim(1.0, 10.0)
    _dose_axes(ax, points)
    _draw_antagonist(ax, antagonist, points, "mean_pct_baseline", "sem_pct_baseline")
    add_legend(ax, "best")
    return ax
