"""Ground-truth cell types and parameter ranges for the DRN simulator.

Every range used by :mod:`rapheunit.simulate` lives here, once, with its
source. Ranges are closed intervals ``(low, high)``; the simulator draws each
cell's parameters uniformly from them (ED50 log-uniformly).

Sources
-------
- Allers & Sharp 2003, Neuroscience 122:193-204 (juxtacellular labelling):
  identified 5-HT neurons fire slowly and regularly with broad spikes (total
  duration 2.2 +/- 0.2 ms); fast-firing GABA neurons have narrow spikes
  (1.1 +/- 0.1 ms).
- Hajos, Gartside, Villa & Sharp 1995, Neuroscience 69:189-197: a
  sub-population of 5-HT neurons fires doublets/bursts (ISI < 20 ms) on the
  same slow rhythm as clock-like cells.
- Kocsis, Varga, Dahan et al. 2006, PNAS 103:1059-1064: DRN cell classes
  include slow irregular and fast-firing non-5-HT neurons.
- Sprouse & Aghajanian 1987, Synapse 1:3-9: 5-HT1A agonists (ipsapirone
  among them) inhibit DRN 5-HT firing dose-dependently and nearly completely.
- Forster et al. 1995, Eur J Pharmacol 281:81-88: WAY-100635 (silent 5-HT1A
  antagonist) reverses agonist-induced inhibition of DRN firing.

Examples
--------
>>> CELL_TYPES["5ht_clock"].expected_class
'putative_5ht'
>>> sorted(name for name, cell in CELL_TYPES.items() if cell.responds)
['5ht_burst', '5ht_clock', '5ht_positive_first', '5ht_slow_last_phase']
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]

PUTATIVE_5HT = "putative_5ht"
NON_5HT = "non_5ht"

# Slow regular rhythm of 5-HT neurons, spikes/s (Allers & Sharp 2003).
SLOW_RATE_HZ: Range = (0.5, 2.5)
# Firing rate of fast-firing non-5-HT (GABA) neurons (Allers & Sharp 2003; Kocsis et al. 2006).
FAST_RATE_HZ: Range = (5.0, 20.0)
# CV of ISI of clock-like 5-HT neurons: regular, well under 0.5 (Allers & Sharp 2003).
REGULAR_CV: Range = (0.12, 0.35)
# Regular fast-firing non-5-HT neurons (Kocsis et al. 2006).
FAST_REGULAR_CV: Range = (0.15, 0.35)
# Irregular fast-firing non-5-HT neurons: Poisson-like (Kocsis et al. 2006).
FAST_IRREGULAR_CV: Range = (0.6, 1.0)
# Slow irregular non-5-HT neurons: Poisson-like or burstier (Kocsis et al. 2006).
SLOW_IRREGULAR_CV: Range = (0.7, 1.2)
# Share of rhythm events that are doublets in burst-firing 5-HT cells (Hajos et al. 1995).
DOUBLET_FRACTION: Range = (0.2, 0.4)
# Delay of the doublet's second spike, ms; doublet ISIs are < 20 ms (Hajos et al. 1995).
DOUBLET_GAP_MS: Range = (5.0, 15.0)
# Broad 5-HT spikes, total duration 2.2 +/- 0.2 ms (Allers & Sharp 2003).
BROAD_TOTAL_MS: Range = (2.0, 3.0)
# Narrow GABA spikes, total duration 1.1 +/- 0.1 ms (Allers & Sharp 2003).
NARROW_TOTAL_MS: Range = (0.8, 1.3)
# Narrow-to-intermediate spikes of slow irregular non-5-HT cells (Kocsis et al. 2006).
INTERMEDIATE_TOTAL_MS: Range = (0.8, 1.4)

# Ipsapirone i.v. ED50 for inhibiting 5-HT firing, ug/kg, drawn log-uniformly:
# full inhibition within tens to a few hundred ug/kg (Sprouse & Aghajanian 1987).
ED50_UG_KG: Range = (15.0, 150.0)
# Hill slope of the cumulative dose-response curve.
HILL_SLOPE: Range = (1.0, 2.0)
# 5-HT1A agonists silence DRN 5-HT neurons almost completely (Sprouse & Aghajanian 1987).
MAX_INHIBITION: Range = (0.9, 1.0)
# After WAY-100635 firing returns to 80-110 % of baseline (Forster et al. 1995).
RECOVERY_FRACTION: Range = (0.8, 1.1)

# Recording quality: spike amplitude (uV) and single-spike SNR of a good extracellular unit.
AMPLITUDE_UV: Range = (60.0, 200.0)
SNR: Range = (5.0, 15.0)


@dataclass(frozen=True)
class CellType:
    """One simulated DRN cell type and the ranges its parameters are drawn from.

    Parameters
    ----------
    name : str
        Key in :data:`CELL_TYPES`.
    expected_class : str
        ``"putative_5ht"`` or ``"non_5ht"``: what a correct classifier says.
    subtype : str
        ``"clock_like"``, ``"burst_firing"``, ``"fast_firing"`` or ``"slow_irregular"``.
    baseline_rate_hz : tuple of float
        Baseline spike rate (including doublet second spikes), spikes/s.
    cv_isi : tuple of float
        CV of the intervals of the underlying renewal rhythm.
    waveform_total_ms : tuple of float
        Total spike duration (onset to return to baseline), ms.
    waveform_shape : str
        Key of :data:`WAVEFORM_SHAPES`.
    responds : bool
        True when ipsapirone inhibits the cell (5-HT1A autoreceptor).
    doublet_fraction : tuple of float
        Share of rhythm events that carry a second spike.
    """

    name: str
    expected_class: str
    subtype: str
    baseline_rate_hz: Range
    cv_isi: Range
    waveform_total_ms: Range
    waveform_shape: str
    responds: bool
    doublet_fraction: Range = (0.0, 0.0)


@dataclass(frozen=True)
class Phase:
    """One half-sine phase of a spike template.

    ``fraction`` is its share of the spike's support (the phases of a shape
    that belong to the spike sum to 1); ``amplitude`` is signed and relative
    to the largest phase, whose amplitude is exactly -1. An ``after_wave``
    follows the spike (a slow, low deflection such as an afterpotential): it
    is drawn but is not part of the spike and its duration.
    """

    fraction: float
    amplitude: float
    after_wave: bool = False


# Extracellular shapes (a modelling choice, negative-dominant by convention):
# broad 5-HT spikes get a small initial positivity, the main negativity and a
# long positive after-phase, or a positive-negative pair; some have a slow, low
# last phase (0.35 / 0.85 / 1.8 ms of a 3 ms spike). Narrow non-5-HT spikes are
# a negative-positive pair, some followed by a slow after-wave at 10 % of the
# peak that is not part of the spike.
WAVEFORM_SHAPES: dict[str, tuple[Phase, ...]] = {
    "triphasic": (Phase(0.12, 0.25), Phase(0.30, -1.0), Phase(0.58, 0.45)),
    "triphasic_slow_last": (Phase(0.35 / 3, 0.25), Phase(0.85 / 3, -1.0), Phase(0.6, 0.3)),
    "biphasic_positive_first": (Phase(0.45, 0.6), Phase(0.55, -1.0)),
    "biphasic": (Phase(0.40, -1.0), Phase(0.60, 0.40)),
    "biphasic_after_wave": (
        Phase(0.40, -1.0),
        Phase(0.60, 0.40),
        Phase(1.5, -0.1, after_wave=True),
    ),
}

CELL_TYPES: dict[str, CellType] = {
    cell.name: cell
    for cell in (
        CellType(
            name="5ht_clock",
            expected_class=PUTATIVE_5HT,
            subtype="clock_like",
            baseline_rate_hz=SLOW_RATE_HZ,
            cv_isi=REGULAR_CV,
            waveform_total_ms=BROAD_TOTAL_MS,
            waveform_shape="triphasic",
            responds=True,
        ),
        CellType(
            name="5ht_burst",
            expected_class=PUTATIVE_5HT,
            subtype="burst_firing",
            baseline_rate_hz=SLOW_RATE_HZ,
            cv_isi=REGULAR_CV,
            waveform_total_ms=BROAD_TOTAL_MS,
            waveform_shape="triphasic",
            responds=True,
            doublet_fraction=DOUBLET_FRACTION,
        ),
        CellType(
            name="5ht_positive_first",
            expected_class=PUTATIVE_5HT,
            subtype="clock_like",
            baseline_rate_hz=SLOW_RATE_HZ,
            cv_isi=REGULAR_CV,
            waveform_total_ms=BROAD_TOTAL_MS,
            waveform_shape="biphasic_positive_first",
            responds=True,
        ),
        CellType(
            name="5ht_slow_last_phase",
            expected_class=PUTATIVE_5HT,
            subtype="clock_like",
            baseline_rate_hz=SLOW_RATE_HZ,
            cv_isi=REGULAR_CV,
            waveform_total_ms=BROAD_TOTAL_MS,
            waveform_shape="triphasic_slow_last",
            responds=True,
        ),
        CellType(
            name="fast_after_wave",
            expected_class=NON_5HT,
            subtype="fast_firing",
            baseline_rate_hz=FAST_RATE_HZ,
            cv_isi=FAST_REGULAR_CV,
            waveform_total_ms=NARROW_TOTAL_MS,
            waveform_shape="biphasic_after_wave",
            responds=False,
        ),
        CellType(
            name="fast_irregular",
            expected_class=NON_5HT,
            subtype="fast_firing",
            baseline_rate_hz=FAST_RATE_HZ,
            cv_isi=FAST_IRREGULAR_CV,
            waveform_total_ms=NARROW_TOTAL_MS,
            waveform_shape="biphasic",
            responds=False,
        ),
        CellType(
            name="fast_regular",
            expected_class=NON_5HT,
            subtype="fast_firing",
            baseline_rate_hz=FAST_RATE_HZ,
            cv_isi=FAST_REGULAR_CV,
            waveform_total_ms=NARROW_TOTAL_MS,
            waveform_shape="biphasic",
            responds=False,
        ),
        CellType(
            name="slow_irregular",
            expected_class=NON_5HT,
            subtype="slow_irregular",
            baseline_rate_hz=SLOW_RATE_HZ,
            cv_isi=SLOW_IRREGULAR_CV,
            waveform_total_ms=INTERMEDIATE_TOTAL_MS,
            waveform_shape="biphasic",
            responds=False,
        ),
    )
}
