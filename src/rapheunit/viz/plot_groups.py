"""Figures of time courses and group comparisons.

Like :mod:`rapheunit.viz.plot`, every function takes data and an optional
``ax=`` and returns the Axes; without ``ax`` a new pyplot-free figure is made
(:func:`rapheunit.viz.plot.new_axes`). Colours come from
:data:`rapheunit.viz.plot.PALETTE`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from rapheunit.core.errors import BadParameterError, check_option
from rapheunit.core.markers import AGONIST, ANTAGONIST, VEHICLE
from rapheunit.doseresponse.fits import BASELINE_PCT, DEFAULT_FIT_PARAMS, FitParams
from rapheunit.doseresponse.groups import ANIMAL, fit_ed50_shift
from rapheunit.viz.plot import LABEL_FONT_SIZE, PALETTE, new_axes

# Distinct Okabe-Ito colours of the palette, one per plotted group or line.
GROUP_COLOURS = tuple(
    PALETTE[key] for key in ("rate", "response", "baseline", ANTAGONIST, VEHICLE, AGONIST)
)
SEM_BAND_ALPHA = 0.25
SECONDS_PER_MINUTE = 60.0
# Horizontal room of one group in the points plot; its animals share it.
GROUP_WIDTH = 0.7
TIMECOURSE_VALUES = ("pct_baseline", "rate_hz")
_VALUE_LABELS = {"pct_baseline": "Firing (% of baseline)", "rate_hz": "Firing rate (Hz)"}


def group_colour(index: int) -> str:
    """Colour of the ``index``-th group or line (cycling).

    Examples
    --------
    >>> group_colour(0) == PALETTE["rate"], group_colour(len(GROUP_COLOURS)) == group_colour(0)
    (True, True)
    """
    return GROUP_COLOURS[index % len(GROUP_COLOURS)]


def timecourse_plot(
    summary: pd.DataFrame,
    value: str = "pct_baseline",
    by: str | Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Mean firing +/- SEM per bin against time from the injection (at 0 min).

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`rapheunit.measures.timecourse.timecourse_summary` output.
    value : {"pct_baseline", "rate_hz"}
        What to draw.
    by : str or list of str, optional
        The extra grouping columns given to the summary; one line per drug,
        dose and group.
    ax : matplotlib.axes.Axes, optional

    Examples
    --------
    >>> summary = pd.DataFrame({"drug": "ipsapirone", "dose": 50.0, "dose_unit": "ug/kg",
    ...     "bin_start_s": [-60.0, 0.0, 60.0], "bin_stop_s": [0.0, 60.0, 120.0],
    ...     "n_units_pct": 4, "mean_pct_baseline": [100.0, 40.0, 20.0],
    ...     "sem_pct_baseline": [3.0, 5.0, 4.0]})
    >>> ax = timecourse_plot(summary)
    >>> ax.lines[0].get_xdata().tolist(), len(ax.collections)
    ([-0.5, 0.5, 1.5], 1)
    """
    check_option(value, TIMECOURSE_VALUES, "value")
    ax = new_axes((5.0, 3.0)) if ax is None else ax
    extra = [] if by is None else [by] if isinstance(by, str) else list(by)
    keys = [*extra, "drug", "dose", "dose_unit"]
    for index, (key, rows) in enumerate(summary.groupby(keys, sort=True, dropna=False)):
        rows = rows.sort_values("bin_start_s")
        minutes = (rows["bin_start_s"] + rows["bin_stop_s"]).to_numpy(float) / 2.0
        minutes /= SECONDS_PER_MINUTE
        mean = rows[f"mean_{value}"].to_numpy(float)
        sem = rows[f"sem_{value}"].fillna(0.0).to_numpy(float)
        colour = group_colour(index)
        ax.plot(minutes, mean, color=colour, linewidth=1.2, label=_line_label(key))
        ax.fill_between(minutes, mean - sem, mean + sem, color=colour, alpha=SEM_BAND_ALPHA,
                        linewidth=0)
    ax.axvline(0.0, color=PALETTE["measure"], linewidth=0.8, linestyle="--")
    if value == "pct_baseline":
        ax.axhline(BASELINE_PCT, color=PALETTE["measure"], linewidth=0.8, linestyle=":")
    ax.set_xlabel("Time from injection (min)")
    ax.set_ylabel(_VALUE_LABELS[value] + " (mean ± SEM)")
    if len(summary):
        ax.legend(fontsize=LABEL_FONT_SIZE, frameon=False, loc="best")
    return ax


def _line_label(key: tuple) -> str:
    """'<group values> <drug> <dose> <unit>' from a (*by, drug, dose, dose_unit) key."""
    *groups, drug, dose, dose_unit = key
    return " ".join([*(str(group) for group in groups), str(drug), f"{dose:g}", str(dose_unit)])


def group_dose_response_plot(
    points: pd.DataFrame,
    group_by: str,
    drug: str,
    fit: FitParams = DEFAULT_FIT_PARAMS,
    ax: Axes | None = None,
) -> Axes:
    """Mean +/- SEM % of baseline per dose for each group, with the shared-shift fit.

    With exactly two groups the curves of
    :func:`rapheunit.doseresponse.groups.fit_ed50_shift` (shared slope and bottom) and
    each group's ED50 are drawn.

    Parameters
    ----------
    points : pandas.DataFrame
        :func:`rapheunit.doseresponse.groups.group_dose_points` output.
    group_by : str
        The group column.
    drug : str
        The dose-response drug to draw.
    fit : FitParams
        Bounds of the shared fit.
    ax : matplotlib.axes.Axes, optional

    Examples
    --------
    >>> from rapheunit.doseresponse.groups import ShiftFit
    >>> truth = ShiftFit(np.log10(30.0), np.log10(3.0), 1.5, 5.0)
    >>> dose = np.tile(10.0 * 2.0 ** np.arange(6), 2)
    >>> group = np.repeat(["A", "B"], 6)
    >>> points = pd.DataFrame({"drug": "ipsapirone", "dose_unit": "ug/kg", "group": group,
    ...     "cumulative_dose": dose, "pct_baseline": truth.pct_baseline(dose, group == "B")})
    >>> ax = group_dose_response_plot(points, "group", "ipsapirone")
    >>> len(ax.containers), ax.get_xscale()
    (2, 'log')
    """
    rows = points[points["drug"] == drug]
    if rows.empty:
        raise BadParameterError(f"no dose-response points of {drug!r}")
    ax = new_axes((4.5, 3.2)) if ax is None else ax
    dose_unit = str(rows["dose_unit"].iloc[0])
    groups = sorted(rows[group_by].unique())
    for index, group in enumerate(groups):
        per_dose = (
            rows[rows[group_by] == group]
            .groupby("cumulative_dose")["pct_baseline"]
            .agg(["mean", "sem", "size"])
            .reset_index()
        )
        ax.errorbar(per_dose["cumulative_dose"], per_dose["mean"],
                    yerr=per_dose["sem"].fillna(0.0), fmt="o", color=group_colour(index),
                    markersize=4, capsize=3, label=f"{group} (n ≤ {per_dose['size'].max()})")
    if len(groups) == 2:
        _draw_shift_fit(ax, rows, group_by, groups, fit, dose_unit)
    ax.set_xscale("log")
    ax.axhline(BASELINE_PCT, color=PALETTE["measure"], linestyle=":", linewidth=0.8)
    ax.set_xlabel(f"Cumulative {drug} dose ({dose_unit}, log scale)")
    ax.set_ylabel("Firing (% of baseline)")
    ax.legend(fontsize=LABEL_FONT_SIZE, frameon=False, loc="best")
    return ax


def _draw_shift_fit(
    ax: Axes, rows: pd.DataFrame, group_by: str, groups: list[str], fit: FitParams,
    dose_unit: str,
) -> None:
    dose = rows["cumulative_dose"].to_numpy(float)
    in_b = (rows[group_by] == groups[1]).to_numpy()
    shift = fit_ed50_shift(dose, rows["pct_baseline"].to_numpy(float), in_b, fit)
    grid = np.geomspace(dose.min() / 2.0, dose.max() * 2.0, 200)
    for index, (ed50, is_b) in enumerate(((shift.ed50_a, False), (shift.ed50_b, True))):
        colour = group_colour(index)
        ax.plot(grid, shift.pct_baseline(grid, np.full(grid.size, is_b)), color=colour,
                linewidth=1.0)
        half = float(shift.pct_baseline(np.array([ed50]), np.array([is_b]))[0])
        ax.plot([ed50], [half], marker="D", color=colour, linestyle="none",
                label=f"ED50 {groups[index]} {ed50:.3g} {dose_unit}")
    ax.text(0.03, 0.04, f"ratio {groups[1]}/{groups[0]} = {shift.ratio:.2f}",
            transform=ax.transAxes, fontsize=LABEL_FONT_SIZE)


def group_points_plot(
    grouped_units: pd.DataFrame,
    group_by: str,
    measure: str = "baseline_rate_hz",
    ax: Axes | None = None,
) -> Axes:
    """One point per unit, in one column per animal inside each group, with the means.

    Animals of a group sit side by side so that cells of one animal stay
    together; a short bar marks each animal's mean and a long bar the group
    mean of the animal means.

    Parameters
    ----------
    grouped_units : pandas.DataFrame
        :func:`rapheunit.doseresponse.groups.group_units` output (with ``animal``).
    group_by : str
        The group column.
    measure : str
        Column to draw, e.g. ``"baseline_rate_hz"`` or ``"cv_isi"``.
    ax : matplotlib.axes.Axes, optional

    Examples
    --------
    >>> units = pd.DataFrame({"group": ["A", "A", "A", "B"], "animal": ["r1", "r1", "r2", "r3"],
    ...     "baseline_rate_hz": [1.0, 1.2, 1.5, 2.0]})
    >>> ax = group_points_plot(units, "group")
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['A', 'B']
    """
    for column in (group_by, ANIMAL, measure):
        if column not in grouped_units.columns:
            raise BadParameterError(f"grouped units lack column {column!r}")
    ax = new_axes((4.0, 3.2)) if ax is None else ax
    rows = grouped_units[np.isfinite(grouped_units[measure].to_numpy(float))]
    groups = sorted(rows[group_by].unique())
    for index, group in enumerate(groups):
        in_group = rows[rows[group_by] == group]
        animals = sorted(in_group[ANIMAL].unique())
        positions = index + _animal_offsets(len(animals))
        colour = group_colour(index)
        animal_means = []
        for position, animal in zip(positions, animals, strict=True):
            values = in_group.loc[in_group[ANIMAL] == animal, measure].to_numpy(float)
            ax.plot(np.full(values.size, position), values, "o", color=colour, alpha=0.7,
                    markersize=4)
            animal_means.append(values.mean())
        ax.plot(positions, animal_means, "_", color=PALETTE["measure"], markersize=8)
        ax.hlines(np.mean(animal_means), index - GROUP_WIDTH / 2, index + GROUP_WIDTH / 2,
                  color=colour, linewidth=2)
    ax.set_xticks(range(len(groups)), [str(group) for group in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xlabel(group_by)
    ax.set_ylabel(measure)
    return ax


def _animal_offsets(n_animals: int) -> np.ndarray:
    """Centred x offsets of ``n_animals`` columns inside one group's width."""
    if n_animals == 1:
        return np.zeros(1)
    return np.linspace(-GROUP_WIDTH / 2, GROUP_WIDTH / 2, n_animals + 2)[1:-1]
