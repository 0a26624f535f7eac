"""The verdict says what it rests on: unmeasurable spikes and units present for part of
the baseline are never judged on the wrong numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rapheunit
from conftest import REALDATA, requires_realdata
from rapheunit.core.model import Recording, Unit
from rapheunit.measures.classify import classify_recording

RATE_HZ = 25_000.0


def clock(rate_hz: float, start: float, stop: float, rng: np.random.Generator) -> np.ndarray:
    """A regular train (gamma ISIs, CV 0.2) between ``start`` and ``stop``."""
    isis = rng.gamma(25.0, 1.0 / (25.0 * rate_hz), int((stop - start) * rate_hz * 1.5) + 10)
    times = start + np.cumsum(isis)
    return times[times < stop]


def snippets(n_spikes: int, rng: np.random.Generator, *, cut: bool = False) -> np.ndarray:
    """Broad biphasic snippets (1 ms negative, 1.4 ms positive) of 4 ms; ``cut``: the
    positive phase runs past the snippet's end, so the spike never returns to baseline."""
    t_ms = np.arange(100) / RATE_HZ * 1000.0
    start = 2.5 if cut else 0.8
    shape = -np.sin(np.pi * (t_ms - start) / 1.0) * ((t_ms >= start) & (t_ms < start + 1.0))
    second = (t_ms >= start + 1.0) & (t_ms < start + 2.4)
    shape[second] = 0.45 * np.sin(np.pi * (t_ms[second] - start - 1.0) / 1.4)
    return 100.0 * shape + rng.normal(0.0, 5.0, (n_spikes, t_ms.size))


def test_an_unmeasurable_spike_leaves_the_unit_unclassified() -> None:
    rng = np.random.default_rng(1)
    spikes = clock(1.2, 0.0, 300.0, rng)
    unit = Unit("u", spikes, snippets(spikes.size, rng, cut=True), RATE_HZ, "uV")
    measured = Unit("m", spikes, snippets(spikes.size, rng), RATE_HZ, "uV")
    recording = Recording("r", Path("r.nix"), 0.0, 300.0, [unit, measured])
    table = classify_recording(recording, baseline=(0.0, 300.0)).table.set_index("unit")
    assert table.loc["u", "waveform_criterion"] == "na"
    assert table.loc["u", "classification"] == "unclassified"
    assert table.loc["u", "rule_set"] == "aghajanian_classic"
    assert "baseline within the snippet" in table.loc["u", "classification_reasons"]
    assert table.loc["m", "classification"] == "putative_5ht"  # the same cell, measurable


def test_a_fast_unit_present_for_part_of_the_baseline_is_judged_on_that_part() -> None:
    rng = np.random.default_rng(2)
    fast = clock(72.0, 0.0, 75.0, rng)  # 72 Hz for 75 s of a 1200 s baseline: 4.5 Hz diluted
    short = clock(1.2, 0.0, 40.0, rng)  # a slow cell lost after 40 s
    recording = Recording("r", Path("r.csv"), 0.0, 1200.0, [Unit("fast", fast),
                                                            Unit("short", short)])
    table = classify_recording(recording, baseline=(0.0, 1200.0)).table.set_index("unit")
    assert table.loc["fast", "classification_rate_hz"] == pytest.approx(fast.size / 75.0, rel=0.02)
    assert table.loc["fast", "classification"] == "non_5ht"
    assert "present 0-" in table.loc["fast", "classification_reasons"]
    assert table.loc["short", "classification"] == "unclassified"
    assert "too short" in table.loc["short", "classification_reasons"]


@requires_realdata
def test_the_real_nex_unit_present_for_75_s_is_not_called_5ht(tmp_path: Path) -> None:
    path = REALDATA / "neuroexplorer" / "File_neuroexplorer_2.nex"
    units = rapheunit.analyze(path, out=tmp_path, report=False).units.set_index("unit")
    row = units.loc["sig01i_wf"]
    assert row["classification"] != "putative_5ht"
    # about 72 Hz while present, not the 1.03 Hz of the whole file
    assert row["classification_rate_hz"] > 20.0
