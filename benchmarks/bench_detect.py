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

``--whole-process`` measures what a user runs instead: the same kind of
recording at 20 kHz in a NIX file (neo ``AnalogSignal`` in uV), and, paired and
alternating, ``rapheunit analyze FILE --detect --no-report`` against
SpikeInterface's ``read_nix`` -> ``bandpass_filter`` -> ``detect_peaks``
(``n_jobs=1``) as whole processes, start-up and imports included, each under
``/usr/bin/time`` (its peak RSS is the child's own: a process forked from the
small ``time`` rather than from this one, whose pages Linux would count in)::

    /work/bench-venv/bin/python benchmarks/bench_detect.py --whole-process --minutes 10

It then times processes that only import (peak RSS): the least that such a run with
rapheunit's outputs must import (numpy, ``scipy.signal``, neo, nixio, pandas), the same with
the sorter's scikit-learn, and SpikeInterface's own imports, each beside SpikeInterface's
whole run.

rapheunit runs from this checkout's ``src`` (``PYTHONPATH``; ``--rapheunit-src`` for
another checkout, e.g. the code before a change), whatever the venv has installed, with
``--rapheunit-python`` (default: this interpreter, so both tools share numpy and scipy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
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
NIX_FS = 20_000.0  # the whole-process recording: 20 kHz, as the NIX files
REPO_SRC = Path(__file__).resolve().parents[1] / "src"
# What any whole-process detection run with rapheunit's outputs imports at the least: numpy,
# scipy.signal (the band-pass), neo and nixio (the reader), pandas (the tables).
FLOOR_MODULES = ("numpy", "scipy.signal", "neo", "nixio", "pandas")
SPIKEINTERFACE_MODULES = (
    "spikeinterface.extractors",
    "spikeinterface.preprocessing",
    "spikeinterface.sortingcomponents.peak_detection",
)
# SpikeInterface's side of the whole-process run, with the same settings as rapheunit's defaults.
SPIKEINTERFACE_SCRIPT = """
import sys, warnings
import numpy as np
warnings.simplefilter("ignore")
from spikeinterface.extractors import read_nix
from spikeinterface.preprocessing import bandpass_filter
from spikeinterface.sortingcomponents.peak_detection import detect_peaks
recording = read_nix(sys.argv[1], stream_id="0")
filtered = bandpass_filter(recording, freq_min={low}, freq_max={high}, filter_order={order},
                           dtype="float32")
peaks = detect_peaks(filtered, method="by_channel",
                     method_kwargs=dict(peak_sign="both", detect_threshold={threshold},
                                        exclude_sweep_ms={dead_time}),
                     job_kwargs=dict(n_jobs=1, chunk_size={chunk}, progress_bar=False))
np.save(sys.argv[2], np.sort(peaks["sample_index"]) / recording.get_sampling_frequency())
"""


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


def signal_chunks(
    rng: np.random.Generator, n_samples: int, fs: float, shape: str
) -> tuple[np.ndarray, np.ndarray, Iterator[np.ndarray]]:
    """Truth times and amplitudes, and the signal (in noise SDs, float32) chunk by chunk."""
    times, amplitudes = truth_times(rng, n_samples / fs)
    return times, amplitudes, _chunks(rng, n_samples, fs, times * fs, amplitudes, shape)


def _chunks(
    rng: np.random.Generator,
    n_samples: int,
    fs: float,
    centres: np.ndarray,
    amplitudes: np.ndarray,
    shape: str,
) -> Iterator[np.ndarray]:
    offsets = np.arange(round(-2e-3 * fs), round(3.2e-3 * fs) + 1)  # room for the broad shape
    spike_shape = SHAPES[shape]
    lfp_phases = rng.uniform(0, 2 * np.pi, 3)
    for start in range(0, n_samples, WRITE_CHUNK):
        stop = min(start + WRITE_CHUNK, n_samples)
        chunk = rng.standard_normal(stop - start, dtype=np.float32)
        t_s = np.arange(start, stop) / fs
        for frequency, phase in zip((2.0, 5.0, 9.0), lfp_phases, strict=True):
            chunk += np.float32(LFP_SD / np.sqrt(1.5)) * np.sin(
                2 * np.pi * frequency * t_s + phase
            ).astype(np.float32)
        near = (centres > start - offsets.size) & (centres < stop + offsets.size)
        samples = np.round(centres[near]).astype(np.int64)[:, None] + offsets
        t_ms = (samples - centres[near][:, None]) / fs * 1000.0
        values = amplitudes[near][:, None] * -spike_shape(t_ms)
        inside = (samples >= start) & (samples < stop)
        np.add.at(chunk, samples[inside] - start, values[inside].astype(np.float32))
        yield chunk


def write_recording(
    folder: Path, minutes: float, shape: str, seed: int = 0
) -> tuple[Path, Path]:
    """Write ``rec.raw`` (+ sidecar) and ``truth.npz`` chunk by chunk; return their paths."""
    rng = np.random.default_rng(seed)
    times, amplitudes, chunks = signal_chunks(rng, round(minutes * 60 * FS), FS, shape)
    path = folder / "rec.raw"
    with path.open("wb") as handle:
        for chunk in chunks:
            np.round(chunk * NOISE_SD_ADC).astype(np.int16).tofile(handle)
    layout = {"dtype": "int16", "sampling_rate_hz": FS, "n_channels": 1, "layout": "interleaved"}
    (folder / "rec.raw.json").write_text(json.dumps(layout))
    truth = folder / "truth.npz"
    np.savez(truth, times=times, amplitudes=amplitudes)
    return path, truth


def write_nix(folder: Path, minutes: float, shape: str, seed: int = 0) -> tuple[Path, np.ndarray]:
    """A one-channel 20 kHz NIX recording (uV, float32) and its true spike times."""
    import neo
    import quantities as pq

    rng = np.random.default_rng(seed)
    times, _, chunks = signal_chunks(rng, round(minutes * 60 * NIX_FS), NIX_FS, shape)
    signal = np.concatenate(list(chunks)) * np.float32(NOISE_SD_ADC * 0.195)  # ADC -> uV
    segment = neo.Segment()
    segment.analogsignals.append(
        neo.AnalogSignal(signal[:, None], units="uV", sampling_rate=NIX_FS * pq.Hz, name="Vm")
    )
    block = neo.Block()
    block.segments.append(segment)
    path = folder / "recording.nix"
    with neo.io.NixIO(str(path), mode="ow") as nix_file:
        nix_file.write_block(block)
    return path, times


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
            # rapheunit from this checkout, not whatever the venv has installed.
            subprocess.run(command, check=True, env=dict(os.environ, PYTHONPATH=str(REPO_SRC)))
            figures = json.loads(out.read_text()) | {"times": np.load(out.with_suffix(".npy"))}
            runs[(kind, n_jobs)].append(figures)
    best = {}
    for contender, contender_runs in runs.items():
        best[contender] = min(contender_runs, key=lambda run: run["wall_s"])
        best[contender]["all_wall_s"] = [round(run["wall_s"], 2) for run in contender_runs]
        best[contender]["min_cpu_s"] = min(run["cpu_s"] for run in contender_runs)
    return best


def agreement(detected: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    if str(REPO_SRC) not in sys.path:  # this checkout's rapheunit, not the venv's install
        sys.path.insert(0, str(REPO_SRC))
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
    parser.add_argument(
        "--whole-process", action="store_true", help="rapheunit analyze --detect on a NIX file"
    )
    parser.add_argument(
        "--rapheunit-python", default=sys.executable, help="interpreter for rapheunit's side"
    )
    parser.add_argument(
        "--rapheunit-src", type=Path, default=REPO_SRC, help="src folder of the rapheunit to run"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, out, n_jobs = args.child
        child(kind, Path(path), Path(out), int(n_jobs))
        return
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.workdir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        (whole_process_report if args.whole_process else report)(args, folder)


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


# rapheunit's detected spike times on the NIX file, computed after the timed runs.
RAPHEUNIT_TIMES_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
from rapheunit.io.readers.neo_files import open_neo_io
from rapheunit.io.readers.signals import DetectOptions, detect_in_neo
path = Path(sys.argv[1])
content = detect_in_neo(path, open_neo_io(path, "NixIO"), DetectOptions(detect=True))
np.save(sys.argv[2], np.sort(np.concatenate([unit.spike_times for unit in content.units])))
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a whole process, as ``/usr/bin/time`` measures them."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{command[:4]} failed:\n{done.stderr}")
    wall_s, peak_kb = done.stderr.strip().splitlines()[-1].split()
    return float(wall_s), float(peak_kb) / 1024


def whole_process_commands(
    args: argparse.Namespace, path: Path, folder: Path, dead_time_ms: float
) -> dict[str, list[str]]:
    """The two whole-process commands: rapheunit's CLI and SpikeInterface's script."""
    si_script = SPIKEINTERFACE_SCRIPT.format(
        low=BAND_HZ[0],
        high=BAND_HZ[1],
        order=FILTER_ORDER,
        threshold=THRESHOLD_MAD,
        dead_time=dead_time_ms,
        chunk=CHUNK_SAMPLES,
    )
    rapheunit = [args.rapheunit_python, "-m", "rapheunit", "analyze", str(path), "--detect"]
    rapheunit += ["--no-report", "--quiet", "--out", str(folder / "out")]
    rapheunit += ["--dead-time-ms", f"{dead_time_ms:g}"]
    return {
        "rapheunit": rapheunit,
        "spikeinterface": [sys.executable, "-c", si_script, str(path), str(folder / "si.npy")],
    }


def whole_process_report(args: argparse.Namespace, folder: Path) -> None:
    """Paired, alternating whole-process runs; medians of wall time and peak RSS, and accuracy."""
    dead_time_ms = DEAD_TIME_MS[args.shape]
    path, truth = write_nix(folder, args.minutes, args.shape)
    # rapheunit from this checkout; one BLAS thread on both sides, as n_jobs=1.
    env = dict(os.environ, PYTHONPATH=str(args.rapheunit_src), OMP_NUM_THREADS="1")
    commands = whole_process_commands(args, path, folder, dead_time_ms)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.repeat):  # alternating: both tools meet the same machine load
        for name, command in commands.items():
            runs[name].append(timed(command, env))
    times_command = [args.rapheunit_python, "-c", RAPHEUNIT_TIMES_SCRIPT, str(path)]
    subprocess.run([*times_command, str(folder / "ru.npy")], env=env, check=True)
    print(
        f"whole process: {args.minutes:g} min NIX file at {NIX_FS:g} Hz "
        f"({path.stat().st_size / 2**20:.0f} MiB), {truth.size} true spikes of the "
        f"{args.shape} shape, exclusion {dead_time_ms:g} ms, {args.repeat} paired runs"
    )
    medians = {}
    for name, figures in runs.items():
        wall_s = statistics.median(wall for wall, _ in figures)
        peak_mb = statistics.median(peak for _, peak in figures)
        medians[name] = (wall_s, peak_mb)
        detected = np.load(folder / ("ru.npy" if name == "rapheunit" else "si.npy"))
        precision, recall = agreement(detected, truth)
        print(
            f"{name:<15} median wall {wall_s:6.2f} s  peak RSS {peak_mb:6.1f} MB  "
            f"(runs: {', '.join(f'{w:.2f} s / {m:.0f} MB' for w, m in figures)})  "
            f"events {detected.size}  precision {precision:.4f}  recall {recall:.4f}"
        )
    (ru_wall, ru_peak), (si_wall, si_peak) = medians["rapheunit"], medians["spikeinterface"]
    print(
        f"rapheunit / SpikeInterface: time {ru_wall / si_wall:.2f} (target <= 1.0), "
        f"peak RSS {ru_peak / si_peak:.2f} (target <= 1.0)"
    )
    import_floors(args, env, si_peak)


def import_floors(args: argparse.Namespace, env: dict[str, str], si_peak_mb: float) -> None:
    """Peak RSS of processes that only import: how much of each whole run is the imports.

    A process that reads a NIX file through neo, band-passes it with scipy and writes
    pandas tables cannot hold less than these imports, whatever it does with the signal.
    """
    for label, python, modules in (
        ("rapheunit's least", args.rapheunit_python, FLOOR_MODULES),
        ("rapheunit's least + sorter", args.rapheunit_python, (*FLOOR_MODULES, "sklearn.mixture")),
        ("SpikeInterface", sys.executable, SPIKEINTERFACE_MODULES),
    ):
        command = [python, "-W", "ignore", "-c", "import " + ", ".join(modules)]
        peak_mb = statistics.median(timed(command, env)[1] for _ in range(args.repeat))
        print(
            f"imports only, {label:<27} peak RSS {peak_mb:6.1f} MB "
            f"= {peak_mb / si_peak_mb:.2f} x SpikeInterface's whole run  ({', '.join(modules)})"
        )


if __name__ == "__main__":
    main()
