"""Benchmark: rapheunit spike detection against SpikeInterface on a long synthetic recording.

Run by hand in the bench venv (SpikeInterface is not a rapheunit dependency)::

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -e '.[bench]'
    .venv-bench/bin/python benchmarks/bench_detect.py --minutes 10
    .venv-bench/bin/python benchmarks/bench_detect.py --minutes 60 --profile

It writes a single-channel 25 kHz int16 recording (``rec.raw`` + ``rec.raw.json``)
with two units of known spike times into a temporary folder, then runs each
contender in its own subprocess (so that peak memory is its own):

- ``read``: read the file once, chunk by chunk (the I/O floor);
- ``rapheunit``: ``detect_units`` (filter, noise, detection, snippets, sorting);
- ``rapheunit-events``: ``detect_events`` (the same without sorting);
- ``spikeinterface``: ``BinaryRecordingExtractor`` -> ``bandpass_filter`` ->
  ``detect_peaks(method="by_channel")``, with the same band, filter order,
  threshold, polarity and exclusion (dead) time, ``n_jobs=1`` (``--si-jobs``).

Each is run ``--repeat`` times (best wall time kept: the machine is shared).
Printed: wall time, ratio to SpikeInterface, peak resident memory (total and
above the post-import baseline), and precision / recall against the truth
within 0.5 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

FS = 25_000.0
NOISE_SD_ADC = 40.0  # white noise SD in ADC counts (int16)
# (trough amplitude in noise SDs, mean rate in Hz): the small unit is the 6x-noise criterion.
UNITS = ((6.0, 5.0), (10.0, 2.0))
MIN_SEPARATION_S = 0.005  # truth spikes never overlap, so every miss is the detector's
LFP_SD = 3.0  # slow field potential (in noise SDs) that the band-pass must remove
BAND_HZ = (300.0, 5000.0)
FILTER_ORDER = 3
THRESHOLD_MAD = 5.0
# Exclusion (dead) time per spike shape, the same for both tools: one spike width.
DEAD_TIME_MS = {"narrow": 1.0, "triphasic": 2.0}
CHUNK_SAMPLES = 2**18  # rapheunit's default, given to SpikeInterface too
WRITE_CHUNK = 2**22
TOLERANCE_S = 0.5e-3


def narrow_shape(t_ms: np.ndarray) -> np.ndarray:
    """Extracellular spike: a sharp trough at t = 0, then a broader positive phase."""
    return -np.exp(-0.5 * (t_ms / 0.15) ** 2) + 0.35 * np.exp(-0.5 * ((t_ms - 0.5) / 0.3) ** 2)


def triphasic_shape(t_ms: np.ndarray) -> np.ndarray:
    """Broad 3 ms DRN-like spike, trough at t = 0: abutting half-sines 0.25 / -1 / 0.3
    lasting 0.35 / 0.85 / 1.8 ms (the slow, low last phase that fooled the old detector)."""
    values = np.zeros_like(t_ms)
    start = -0.35 - 0.425
    for duration, amplitude in ((0.35, 0.25), (0.85, -1.0), (1.8, 0.3)):
        inside = (t_ms >= start) & (t_ms < start + duration)
        values[inside] = amplitude * np.sin(np.pi * (t_ms[inside] - start) / duration)
        start += duration
    return values


SHAPES = {"narrow": narrow_shape, "triphasic": triphasic_shape}


def settings(folder: Path) -> dict:
    """The run's shape and dead time, written by the parent for its child processes."""
    return json.loads((folder / "settings.json").read_text())


def truth_times(rng: np.random.Generator, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Spike times and amplitudes (in noise SDs) of every unit, sorted, never closer than 5 ms."""
    times, amplitudes = [], []
    for amplitude, rate_hz in UNITS:
        unit_times = np.cumsum(rng.exponential(1.0 / rate_hz, int(1.5 * duration_s * rate_hz)))
        unit_times = unit_times[(unit_times > 0.01) & (unit_times < duration_s - 0.01)]
        times.append(unit_times)
        amplitudes.append(np.full(unit_times.size, amplitude))
    order = np.argsort(np.concatenate(times))
    all_times, all_amplitudes = np.concatenate(times)[order], np.concatenate(amplitudes)[order]
    separated = np.diff(all_times, prepend=-1.0) > MIN_SEPARATION_S
    return all_times[separated], all_amplitudes[separated]


def write_recording(
    folder: Path, minutes: float, shape: str, seed: int = 0
) -> tuple[Path, Path]:
    """Write ``rec.raw`` (+ sidecar) and ``truth.npz`` chunk by chunk; return their paths."""
    rng = np.random.default_rng(seed)
    n_samples = round(minutes * 60 * FS)
    times, amplitudes = truth_times(rng, n_samples / FS)
    centres = times * FS
    offsets = np.arange(-50, 81)  # -2 to +3.2 ms: room for the broad shape
    spike_shape = SHAPES[shape]
    lfp_phases = rng.uniform(0, 2 * np.pi, 3)
    path = folder / "rec.raw"
    with path.open("wb") as handle:
        for start in range(0, n_samples, WRITE_CHUNK):
            stop = min(start + WRITE_CHUNK, n_samples)
            chunk = rng.standard_normal(stop - start, dtype=np.float32)
            t_s = np.arange(start, stop) / FS
            for frequency, phase in zip((2.0, 5.0, 9.0), lfp_phases, strict=True):
                chunk += np.float32(LFP_SD / np.sqrt(1.5)) * np.sin(
                    2 * np.pi * frequency * t_s + phase
                ).astype(np.float32)
            near = (centres > start - 60) & (centres < stop + 60)
            samples = np.round(centres[near]).astype(np.int64)[:, None] + offsets
            t_ms = (samples - centres[near][:, None]) / FS * 1000.0
            values = amplitudes[near][:, None] * -spike_shape(t_ms)
            inside = (samples >= start) & (samples < stop)
            np.add.at(chunk, samples[inside] - start, values[inside].astype(np.float32))
            np.round(chunk * NOISE_SD_ADC).astype(np.int16).tofile(handle)
    layout = {"dtype": "int16", "sampling_rate_hz": FS, "n_channels": 1, "layout": "interleaved"}
    (folder / "rec.raw.json").write_text(json.dumps(layout))
    truth = folder / "truth.npz"
    np.savez(truth, times=times, amplitudes=amplitudes)
    return path, truth


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def run_read(path: Path) -> np.ndarray:
    total = 0.0
    with path.open("rb") as handle:
        while (block := np.fromfile(handle, dtype=np.int16, count=CHUNK_SAMPLES)).size:
            total += float(block[::4096].sum())  # touch the data without a full extra pass
    return np.array([total])


def run_rapheunit(path: Path, sort: bool) -> np.ndarray:
    from rapheunit.detection.detect import DetectParams, detect_events, detect_units
    from rapheunit.detection.rawfile import open_raw

    params = DetectParams(
        band_hz=BAND_HZ,
        filter_order=FILTER_ORDER,
        threshold_mad=THRESHOLD_MAD,
        polarity="both",
        dead_time_ms=settings(path.parent)["dead_time_ms"],
        chunk_samples=CHUNK_SAMPLES,
    )
    source = open_raw(path)
    if sort:
        units = detect_units(source, params=params).units
        return np.sort(np.concatenate([unit.spike_times for unit in units]))
    [events] = detect_events(source, params=params)
    return events.sample_indices / FS


def run_spikeinterface(path: Path, n_jobs: int) -> np.ndarray:
    from spikeinterface.core import BinaryRecordingExtractor
    from spikeinterface.preprocessing import bandpass_filter
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    recording = BinaryRecordingExtractor(path, FS, "int16", num_channels=1)
    filtered = bandpass_filter(
        recording,
        freq_min=BAND_HZ[0],
        freq_max=BAND_HZ[1],
        filter_order=FILTER_ORDER,
        dtype="float32",  # the default keeps int16 and would round the filtered signal
    )
    peaks = detect_peaks(
        filtered,
        method="by_channel",
        method_kwargs={
            "peak_sign": "both",
            "detect_threshold": THRESHOLD_MAD,
            "exclude_sweep_ms": settings(path.parent)["dead_time_ms"],
        },
        job_kwargs={"n_jobs": n_jobs, "chunk_size": CHUNK_SAMPLES, "progress_bar": False},
    )
    return np.sort(peaks["sample_index"]) / FS


def child(kind: str, path: Path, out: Path, n_jobs: int) -> None:
    """Run one contender after its imports; write its figures as JSON and its times as .npy."""
    warnings.simplefilter("ignore")  # SpikeInterface's deprecation notes about its own defaults
    runners = {
        "read": lambda: run_read(path),
        "rapheunit": lambda: run_rapheunit(path, sort=True),
        "rapheunit-events": lambda: run_rapheunit(path, sort=False),
        "spikeinterface": lambda: run_spikeinterface(path, n_jobs),
    }
    if kind.startswith("rapheunit"):
        import rapheunit.detection.detect  # noqa: F401 - imports are not part of the timing
    elif kind == "spikeinterface":
        import spikeinterface.preprocessing
        import spikeinterface.sortingcomponents.peak_detection  # noqa: F401
    baseline_mb = peak_rss_mb()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    times = runners[kind]()
    wall_s = time.perf_counter() - started
    np.save(out.with_suffix(".npy"), times)
    figures = {
        "wall_s": wall_s,
        "cpu_s": cpu_seconds() - cpu_before,
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline_mb,
    }
    out.write_text(json.dumps(figures))


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def measure(contenders: list[tuple[str, int]], path: Path, folder: Path, repeat: int) -> dict:
    """Run every contender ``repeat`` times, round-robin so that load changes hit all alike."""
    runs: dict[tuple[str, int], list[dict]] = {contender: [] for contender in contenders}
    for index in range(repeat):
        for kind, n_jobs in contenders:
            out = folder / f"{kind}-{n_jobs}-{index}.json"
            command = [sys.executable, __file__, "--child", kind, str(path), str(out), str(n_jobs)]
            subprocess.run(command, check=True)
            figures = json.loads(out.read_text()) | {"times": np.load(out.with_suffix(".npy"))}
            runs[(kind, n_jobs)].append(figures)
    best = {}
    for contender, contender_runs in runs.items():
        best[contender] = min(contender_runs, key=lambda run: run["wall_s"])
        best[contender]["all_wall_s"] = [round(run["wall_s"], 2) for run in contender_runs]
        best[contender]["min_cpu_s"] = min(run["cpu_s"] for run in contender_runs)
    return best


def agreement(detected: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    from rapheunit.detection.detect import spike_agreement

    return spike_agreement(detected, truth, TOLERANCE_S)


def profile(path: Path, folder: Path) -> Path:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    run_rapheunit(path, sort=True)
    profiler.stop()
    report = folder / "profile.txt"
    report.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="recording length")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (best kept)")
    parser.add_argument("--si-jobs", type=int, nargs="+", default=[1], help="SpikeInterface n_jobs")
    parser.add_argument("--profile", action="store_true", help="pyinstrument rapheunit's run")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="narrow", help="spike shape")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, out, n_jobs = args.child
        child(kind, Path(path), Path(out), int(n_jobs))
        return
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.workdir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        report(args, folder)


def report(args: argparse.Namespace, folder: Path) -> None:
    started = time.perf_counter()
    dead_time_ms = DEAD_TIME_MS[args.shape]
    (folder / "settings.json").write_text(json.dumps({"dead_time_ms": dead_time_ms}))
    path, truth_path = write_recording(folder, args.minutes, args.shape)
    truth = np.load(truth_path)
    n_samples = path.stat().st_size // 2
    print(
        f"recording: {args.minutes:g} min, {n_samples:,} samples at {FS:g} Hz, int16 "
        f"({path.stat().st_size / 2**20:.0f} MiB on disk, {4 * n_samples / 2**20:.0f} MiB as "
        f"float32); {truth['times'].size} spikes of the {args.shape} shape; exclusion "
        f"{dead_time_ms:g} ms; written in {time.perf_counter() - started:.1f} s"
    )
    contenders = [("read", 1), ("rapheunit", 1), ("rapheunit-events", 1)]
    contenders += [("spikeinterface", n_jobs) for n_jobs in args.si_jobs]
    results = measure(contenders, path, folder, args.repeat)
    print_table(results, truth, float32_mb=4 * n_samples / 2**20)
    if args.profile:
        print(f"profile written to {profile(path, folder)}")
        print((folder / "profile.txt").read_text())


def print_table(results: dict, truth: np.lib.npyio.NpzFile, float32_mb: float) -> None:
    reference = results.get(("spikeinterface", 1), {"wall_s": np.nan, "min_cpu_s": np.nan})
    small = truth["amplitudes"] == UNITS[0][0]
    print(
        f"{'contender':<27}{'wall s':>7}{'/SI':>6}{'cpu s':>7}{'/SI':>6}{'peak MB':>8}"
        f"{'above':>6}{'%f32':>6}{'precision':>10}{'recall':>7}{'rec 6x':>7}  wall s of each run"
    )
    for (kind, jobs), result in results.items():
        name = f"{kind} (n_jobs={jobs})" if kind == "spikeinterface" else kind
        above_mb = result["peak_rss_mb"] - result["baseline_rss_mb"]
        line = (
            f"{name:<27}{result['wall_s']:>7.2f}{result['wall_s'] / reference['wall_s']:>6.2f}"
            f"{result['min_cpu_s']:>7.2f}{result['min_cpu_s'] / reference['min_cpu_s']:>6.2f}"
            f"{result['peak_rss_mb']:>8.0f}{above_mb:>6.0f}{100 * above_mb / float32_mb:>5.0f}%"
        )
        if kind == "read":
            line += " " * 24
        else:
            precision, recall = agreement(result["times"], truth["times"])
            small_recall = agreement(result["times"], truth["times"][small])[1]
            line += f"{precision:>10.4f}{recall:>7.4f}{small_recall:>7.4f}"
        print(f"{line}  {result['all_wall_s']}")
    print(
        "wall s / cpu s: best of the runs; peak MB: VmHWM (peak resident memory) of the "
        "subprocess; above: minus its value after the imports; %f32: 'above' as a share "
        "of the signal as float32; rec 6x: recall of the 6x-noise unit"
    )


if __name__ == "__main__":
    main()
