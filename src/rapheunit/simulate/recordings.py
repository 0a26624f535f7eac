"""Simulated DRN single-unit recordings with known ground truth.

A simulated experiment is a 300 s baseline, ipsapirone i.v. in cumulative
doubling doses (one injection per dose window), then WAY-100635 to reverse the
inhibition, then a tail. Each unit is one of the cell types of
:mod:`rapheunit.simulate.celltypes`; its parameters are drawn from that table and
returned as a truth dictionary next to the :class:`~rapheunit.core.model.Recording`.

The pieces live beside this module: the dose protocol in
:mod:`rapheunit.simulate.schedule`, the spike trains in :mod:`rapheunit.simulate.firing`,
the spike waveforms in :mod:`rapheunit.simulate.waveforms` and the files in
:mod:`rapheunit.simulate.writers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rapheunit.core.errors import BadParameterError, check_option, check_positive, validate_type
from rapheunit.core.model import Recording, Unit
from rapheunit.simulate.celltypes import (
    AMPLITUDE_UV,
    CELL_TYPES,
    ED50_UG_KG,
    HILL_SLOPE,
    MAX_INHIBITION,
    RECOVERY_FRACTION,
    SNR,
    CellType,
    Range,
)
from rapheunit.simulate.firing import (
    AGONIST_TAU_S,
    ANTAGONIST_TAU_S,
    DRIFT_SD,
    UnitTruth,
    spike_times,
)
from rapheunit.simulate.schedule import check_schedule, dose_schedule
from rapheunit.simulate.waveforms import (
    WAVEFORM_SAMPLING_RATE_HZ,
    noisy_waveforms,
    template_durations,
)


def simulate_recording(
    name: str,
    cell_types: Sequence[str],
    *,
    seed: int,
    n_doses: int = 6,
    first_dose_ug_kg: float = 5.0,
    dose_interval_s: float = 180.0,
    baseline_s: float = 300.0,
    with_waveforms: bool = True,
    with_antagonist: bool = True,
    ed50_ug_kg: Sequence[float] | None = None,
    hill_slope: Sequence[float] | None = None,
) -> tuple[Recording, dict[str, Any]]:
    """Simulate one DRN recording with cumulative ipsapirone and WAY-100635.

    Parameters
    ----------
    name : str
        Recording name (file stem when written).
    cell_types : sequence of str
        One key of :data:`CELL_TYPES` per unit; units are ``"unit1"``, ``"unit2"``, ...
    seed : int
        Seed; the same arguments and seed give the same recording. Unit ``k``
        has its own random stream, so adding units leaves earlier ones unchanged.
    n_doses : int
        Number of ipsapirone injections (5-7 in typical experiments).
    first_dose_ug_kg : float
        First injection; later injections double the cumulative dose
        (5, 5, 10, 20, ... gives cumulative 5, 10, 20, 40, ...).
    dose_interval_s : float
        Time between injections (length of each dose window).
    baseline_s : float
        Drug-free period before the first injection.
    with_waveforms : bool
        Attach per-spike waveforms (uV, 25 kHz, 4 ms, trough at 1 ms).
    with_antagonist : bool
        Give WAY-100635 0.1 mg/kg at the end of the last dose window.
    ed50_ug_kg, hill_slope : sequence of float, optional
        Per-unit overrides of the drawn ED50 and Hill slope (one value per
        cell type; entries of non-responding cell types are unused since those
        cells have no ED50).

    Returns
    -------
    recording : Recording
        In-memory recording, ``provenance={"reader": "simulator"}``.
    truth : dict
        ``name``, ``seed``, ``t_stop``, ``agonist_tau_s``, ``antagonist_tau_s``,
        ``injections`` (list of dicts) and ``units``: ``{unit_id: {...}}`` with
        ``cell_type``, ``expected_class``, ``subtype``, ``baseline_rate_hz``
        (spike rate including doublet second spikes), ``cv_isi`` (CV of the
        renewal rhythm, i.e. of the intervals between first spikes of events),
        ``doublet_fraction``, ``responds``, ``ed50_ug_kg``, ``hill_slope``,
        ``recovery_fraction`` (None for non-responders), ``max_inhibition``
        (0 for non-responders), ``drift_sd``, ``waveform_shape``,
        ``waveform_total_ms``, ``waveform_first_phase_ms``,
        ``peak_to_trough_ms``, ``half_width_ms``, ``amplitude_uv``, ``snr``
        (amplitude / noise SD) and ``n_spikes``.

    Examples
    --------
    >>> recording, truth = simulate_recording("demo", ["5ht_clock", "fast_regular"], seed=1)
    >>> [unit.id for unit in recording.units]
    ['unit1', 'unit2']
    >>> [injection.label for injection in recording.injections][:3]
    ['ipsapirone 5 ug/kg i.v.', 'ipsapirone 5 ug/kg i.v.', 'ipsapirone 10 ug/kg i.v.']
    >>> truth["units"]["unit2"]["expected_class"], recording.t_stop
    ('non_5ht', 1680.0)
    """
    validate_type(name, str, "name")
    validate_type(seed, (int, np.integer), "seed")
    check_schedule(n_doses, first_dose_ug_kg, dose_interval_s, baseline_s)
    if isinstance(cell_types, str) or not cell_types:
        raise BadParameterError("cell_types must be a non-empty sequence of cell type names")
    cells = [CELL_TYPES[check_option(cell, CELL_TYPES, "cell type")] for cell in cell_types]
    ed50s = _per_unit(ed50_ug_kg, len(cells), "ed50_ug_kg")
    hills = _per_unit(hill_slope, len(cells), "hill_slope")
    injections, t_stop = dose_schedule(
        n_doses,
        float(first_dose_ug_kg),
        float(dose_interval_s),
        float(baseline_s),
        with_antagonist,
    )
    recording_stream, *unit_streams = np.random.SeedSequence(int(seed)).spawn(len(cells) + 1)
    recording_rng = np.random.default_rng(recording_stream)
    taus = {
        "agonist_tau_s": _uniform(recording_rng, AGONIST_TAU_S),
        "antagonist_tau_s": _uniform(recording_rng, ANTAGONIST_TAU_S),
    }
    units, unit_truths = [], {}
    for index, (cell, ed50, hill, stream) in enumerate(
        zip(cells, ed50s, hills, unit_streams, strict=True), start=1
    ):
        rng = np.random.default_rng(stream)
        truth = _draw_unit(cell, rng, ed50, hill)
        times = spike_times(truth, injections, taus, t_stop, rng)
        waveforms = (
            {
                "waveforms": noisy_waveforms(
                    truth.waveform_total_ms,
                    truth.waveform_shape,
                    truth.amplitude_uv,
                    truth.snr,
                    times.size,
                    rng,
                ),
                "sampling_rate_hz": WAVEFORM_SAMPLING_RATE_HZ,
                "waveform_units": "uV",
            }
            if with_waveforms
            else {}
        )
        unit = Unit(f"unit{index}", times, **waveforms)
        units.append(unit)
        unit_truths[unit.id] = asdict(truth) | {"n_spikes": int(times.size)}
    recording = Recording(
        name,
        Path(name),
        0.0,
        t_stop,
        units,
        injections=injections,
        provenance={"reader": "simulator", "seed": int(seed)},
    )
    truth = {
        "name": name,
        "seed": int(seed),
        "t_stop": t_stop,
        **taus,
        "injections": [asdict(injection) for injection in injections],
        "units": unit_truths,
    }
    return recording, truth



def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(*bounds))


def _draw_unit(
    cell: CellType,
    rng: np.random.Generator,
    ed50_ug_kg: float | None,
    hill_slope: float | None,
) -> UnitTruth:
    """Draw one unit's parameters; every draw happens whatever the overrides."""
    low, high = np.log(ED50_UG_KG)
    drawn_ed50 = float(np.exp(rng.uniform(low, high)))
    drawn_hill = _uniform(rng, HILL_SLOPE)
    max_inhibition = _uniform(rng, MAX_INHIBITION)
    recovery_fraction = _uniform(rng, RECOVERY_FRACTION)
    total_ms = _uniform(rng, cell.waveform_total_ms)
    durations = template_durations(total_ms, cell.waveform_shape)
    return UnitTruth(
        cell_type=cell.name,
        expected_class=cell.expected_class,
        subtype=cell.subtype,
        baseline_rate_hz=_uniform(rng, cell.baseline_rate_hz),
        cv_isi=_uniform(rng, cell.cv_isi),
        doublet_fraction=_uniform(rng, cell.doublet_fraction),
        responds=cell.responds,
        ed50_ug_kg=(drawn_ed50 if ed50_ug_kg is None else ed50_ug_kg) if cell.responds else None,
        hill_slope=(drawn_hill if hill_slope is None else hill_slope) if cell.responds else None,
        max_inhibition=max_inhibition if cell.responds else 0.0,
        recovery_fraction=recovery_fraction if cell.responds else None,
        drift_sd=_uniform(rng, DRIFT_SD),
        waveform_shape=cell.waveform_shape,
        waveform_total_ms=total_ms,
        waveform_first_phase_ms=durations.first_phase_ms,
        peak_to_trough_ms=durations.peak_to_trough_ms,
        half_width_ms=durations.half_width_ms,
        amplitude_uv=_uniform(rng, AMPLITUDE_UV),
        snr=_uniform(rng, SNR),
    )



def _per_unit(values: Sequence[float] | None, n_units: int, name: str) -> list[float | None]:
    """Validate an optional per-unit override list."""
    if values is None:
        return [None] * n_units
    if len(values) != n_units:
        raise BadParameterError(
            f"{name} must give one value per cell type ({n_units}), got {len(values)}"
        )
    return [check_positive(value, name) for value in values]

