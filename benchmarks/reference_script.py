"""The peer of ``bench_reference.py``: a plain neo + scipy analysis of DRN recordings, by hand.

What a careful analyst writes for the 24 simulated recordings, without
rapheunit: read each file (NIX through neo, NWB through pynwb for the mean
waveforms, CSV spike tables and their dose sidecars through pandas), then per
unit the baseline rate and CV of ISI (the 180 s before the first injection),
the total spike duration of the mean waveform, the rate in the last 60 s
before each next injection as % of baseline, and a Hill fit (top 100 %) of
% of baseline against cumulative ipsapirone dose with
``scipy.optimize.curve_fit``. One CSV row per unit.

    .venv/bin/python benchmarks/reference_script.py FOLDER --out results.csv
"""

from __future__ import annotations

import argparse
import re
import warnings
from pathlib import Path

import neo
import numpy as np
import pandas as pd
from pynwb import NWBHDF5IO
from scipy.optimize import curve_fit

BASELINE_S = 180.0
RESPONSE_S = 60.0
AGONIST = "ipsapirone"
# Onset and end of a spike: where the mean waveform stays within 5 % of its peak.
DURATION_FRACTION = 0.05
LABEL = re.compile(r"^\s*(?P<drug>[A-Za-z][\w-]*)\s+(?P<amount>[\d.]+)\s*(?P<unit>\S+)")


def read_nix(path: Path) -> tuple[dict, list[tuple[float, str]], float]:
    """Units (name -> (times, mean waveform, sampling rate)), markers and t_stop of a NIX file."""
    io = neo.NixIO(str(path), mode="ro")
    try:
        segment = io.read_block().segments[0]
    finally:
        io.close()
    units = {}
    for train in segment.spiketrains:
        mean = None
        if train.waveforms is not None and len(train.waveforms):
            mean = np.asarray(train.waveforms.magnitude)[:, 0, :].mean(axis=0)
        units[train.name] = (
            np.asarray(train.rescale("s").magnitude),
            mean,
            float(train.sampling_rate.rescale("Hz").magnitude),
        )
    markers = [
        (float(t), str(label))
        for event in segment.events
        for t, label in zip(event.times.rescale("s").magnitude, event.labels, strict=True)
    ]
    return units, markers, float(segment.t_stop.rescale("s").magnitude)


def read_nwb(path: Path) -> tuple[dict, list[tuple[float, str]], float]:
    """The same three things from an NWB file, through pynwb."""
    with NWBHDF5IO(str(path), mode="r") as io:
        nwb = io.read()
        table = nwb.units
        rate = float(table.waveform_rate)
        units = {}
        t_stop = 0.0
        for index in range(len(table)):
            times = np.asarray(table["spike_times"][index])
            units[str(table["unit_name"][index])] = (
                times,
                np.asarray(table["waveform_mean"][index]).ravel(),
                rate,
            )
            t_stop = max(t_stop, float(np.asarray(table["obs_intervals"][index]).max()))
        series = nwb.acquisition["Markers"]
        markers = [
            (float(t), str(label))
            for t, label in zip(series.timestamps[:], series.data[:], strict=True)
        ]
    return units, markers, t_stop


def read_csv(path: Path) -> tuple[dict, list[tuple[float, str]], float]:
    """The same from a spike-time table and its ``.doses.csv`` sidecar (no waveforms)."""
    spikes = pd.read_csv(path)
    units = {
        str(name): (group["time_s"].to_numpy(), None, np.nan)
        for name, group in spikes.groupby("unit", sort=True)
    }
    doses = pd.read_csv(path.with_suffix(".doses.csv"))
    markers = [
        (float(row.time_s), f"{row.drug} {row.dose} {row.unit}") for row in doses.itertuples()
    ]
    return units, markers, float(spikes["time_s"].max())


def spike_duration_ms(mean: np.ndarray | None, sampling_rate_hz: float) -> float:
    """Onset to return of the mean waveform, where it exceeds 5 % of its largest deflection."""
    if mean is None or not np.isfinite(sampling_rate_hz):
        return np.nan
    centred = mean - np.median(mean[:5])
    outside = np.flatnonzero(np.abs(centred) > DURATION_FRACTION * np.abs(centred).max())
    return (outside[-1] - outside[0] + 1) / sampling_rate_hz * 1e3


def hill(dose: np.ndarray, log_ed50: float, slope: float, bottom: float) -> np.ndarray:
    """% of baseline with the top fixed at 100 %."""
    return bottom + (100.0 - bottom) / (1.0 + 10.0 ** (slope * (np.log10(dose) - log_ed50)))


def fit_hill(dose: np.ndarray, pct: np.ndarray) -> tuple[float, float, float]:
    """ED50, Hill slope and bottom; NaN when the fit fails."""
    start = (float(np.median(np.log10(dose))), 1.0, 0.0)
    bounds = ([np.log10(dose.min()) - 2, 0.3, 0.0], [np.log10(dose.max()) + 2, 5.0, 100.0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (log_ed50, slope, bottom), _ = curve_fit(hill, dose, pct, p0=start, bounds=bounds)
    except (RuntimeError, ValueError):
        return np.nan, np.nan, np.nan
    return 10.0**log_ed50, slope, bottom


def analyse(path: Path, reader) -> list[dict]:
    """One row per unit of the recording at ``path``."""
    units, markers, t_stop = reader(path)
    parsed = [(t, LABEL.match(label)) for t, label in sorted(markers)]
    injections = [(t, m["drug"], float(m["amount"])) for t, m in parsed if m]
    first = injections[0][0]
    ends = [t for t, _, _ in injections[1:]] + [t_stop]
    agonist = [(t, amount, end) for (t, drug, amount), end in zip(injections, ends, strict=True)
               if drug.lower() == AGONIST]
    cumulative = np.cumsum([amount for _, amount, _ in agonist])
    rows = []
    for name, (times, mean, rate_hz) in units.items():
        baseline = times[(times >= first - BASELINE_S) & (times < first)]
        base_rate = baseline.size / BASELINE_S
        isi = np.diff(baseline)
        pct = np.array([
            100.0 * np.count_nonzero((times >= end - RESPONSE_S) & (times < end))
            / RESPONSE_S / base_rate
            for _, _, end in agonist
        ])
        ed50, slope, bottom = fit_hill(cumulative, pct)
        rows.append({
            "recording": f"{path.parent.name}/{path.stem}", "unit": name,
            "baseline_rate_hz": base_rate,
            "cv_isi": isi.std(ddof=1) / isi.mean(),
            "duration_ms": spike_duration_ms(mean, rate_hz),
            "ed50": ed50, "hill_slope": slope, "bottom_pct": bottom,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    readers = {".nix": read_nix, ".nwb": read_nwb, ".csv": read_csv}
    rows = []
    for path in sorted(args.folder.rglob("*")):
        if path.suffix in readers and not path.name.endswith(".doses.csv"):
            rows.extend(analyse(path, readers[path.suffix]))
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"{len(rows)} units written to {args.out}")


if __name__ == "__main__":
    main()
