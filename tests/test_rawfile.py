"""Raw binary layouts: sidecars, chunked reads, and one-line errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rapheunit.core.errors import BadParameterError, UnreadableFileError
from rapheunit.detection.rawfile import RawLayout, open_raw, read_layout, sidecar_path

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
LOCUST = REALDATA / "tridesclous" / "locust_trial_01.raw"


def write_raw(path: Path, frames: np.ndarray, sidecar: dict | None = None) -> Path:
    frames.tofile(path)
    if sidecar is not None:
        sidecar_path(path).write_text(json.dumps(sidecar))
    return path


@pytest.fixture
def frames() -> np.ndarray:
    """Five channels whose value encodes (sample, channel): 10 * sample + channel."""
    return (10 * np.arange(1000)[:, None] + np.arange(5)[None, :]).astype(np.int16)


def test_interleaved_chunks_return_the_requested_samples_and_channels(tmp_path, frames):
    path = write_raw(tmp_path / "rec.raw", frames)
    source = open_raw(path, RawLayout("int16", 20000.0, n_channels=5))
    chunk = source.read(100, 250, [4, 1])
    assert source.n_samples == 1000 and source.n_channels == 5
    assert chunk.dtype == np.float32 and chunk.shape == (150, 2)
    np.testing.assert_array_equal(chunk, frames[100:250][:, [4, 1]])


def test_planar_layout_reads_channel_blocks(tmp_path, frames):
    path = write_raw(tmp_path / "rec.bin", np.ascontiguousarray(frames.T))
    source = open_raw(path, RawLayout("int16", 20000.0, n_channels=5, layout="planar"))
    np.testing.assert_array_equal(source.read(990, 1000, [0, 3]), frames[990:1000][:, [0, 3]])


def test_gain_converts_to_microvolts_and_sets_units(tmp_path, frames):
    path = write_raw(tmp_path / "rec.raw", frames)
    scaled = open_raw(path, RawLayout("int16", 20000.0, n_channels=5, gain_uv=0.195))
    plain = open_raw(path, RawLayout("int16", 20000.0, n_channels=5))
    assert (scaled.units, plain.units) == ("uV", "adc")
    np.testing.assert_allclose(scaled.read(0, 50, [2]), 0.195 * frames[:50, [2]], rtol=1e-6)


def test_sidecar_gives_the_layout_and_overrides_win(tmp_path, frames):
    sidecar = {"dtype": "int16", "sampling_rate_hz": 20000.0, "n_channels": 5}
    path = write_raw(tmp_path / "rec.raw", frames, sidecar)
    assert open_raw(path).layout == RawLayout("int16", 20000.0, n_channels=5)
    overridden = read_layout(path, {"sampling_rate_hz": 25000.0, "dtype": None})
    assert overridden.sampling_rate_hz == 25000.0 and overridden.dtype == "int16"


def test_float_dtype_round_trips(tmp_path):
    values = np.linspace(-1, 1, 600, dtype=np.float32).reshape(200, 3)
    path = write_raw(tmp_path / "rec.dat", values)
    source = open_raw(path, RawLayout("float32", 1000.0, n_channels=3))
    np.testing.assert_array_equal(source.read(0, 200, [0, 1, 2]), values)


@pytest.mark.parametrize(
    ("sidecar", "error", "fragment"),
    [
        ({"dtype": "int17", "sampling_rate_hz": 2e4, "n_channels": 2}, BadParameterError,
         "int17"),
        ({"dtype": "complex64", "sampling_rate_hz": 2e4, "n_channels": 2}, BadParameterError,
         "numeric"),
        ({"dtype": "int16"}, BadParameterError, "sampling_rate_hz"),
        ({"sampling_rate_hz": 2e4}, BadParameterError, "dtype"),
        ({"dtype": "int16", "sampling_rate_hz": -5, "n_channels": 2}, BadParameterError,
         "sampling rate"),
        ({"dtype": "int16", "sampling_rate_hz": 2e4}, BadParameterError, "--raw-channels"),
        ({"dtype": "int16", "sampling_rate_hz": 2e4, "n_channels": 0}, BadParameterError, ">= 1"),
        ({"dtype": "int16", "sampling_rate_hz": 2e4, "n_channels": 3}, UnreadableFileError, "3-ch"),
        ({"dtype": "int16", "sampling_rate_hz": 2e4, "n_channels": 2, "layout": "tiled"},
         BadParameterError, "til"),
        ({"dtype": "int16", "sampling_rate_hz": 2e4, "rate": 1}, BadParameterError, "'rate'"),
    ],
)
def test_bad_layouts_give_one_line_errors_naming_the_file(
    tmp_path, frames, sidecar, error, fragment
):
    path = write_raw(tmp_path / "rec.raw", frames[:, :2], sidecar)  # 2 channels, 4000 bytes
    with pytest.raises(error) as caught:
        open_raw(path)
    message = str(caught.value)
    assert "\n" not in message and fragment in message and "rec.raw" in message


def test_missing_layout_points_to_flags_and_sidecar(tmp_path, frames):
    path = write_raw(tmp_path / "rec.raw", frames)
    with pytest.raises(BadParameterError, match=r"--raw-dtype.*rec\.raw\.json"):
        open_raw(path)


def test_unreadable_files_are_named(tmp_path):
    layout = RawLayout("int16", 1000.0)
    with pytest.raises(UnreadableFileError, match=r"missing\.raw"):
        open_raw(tmp_path / "missing.raw", layout)
    (tmp_path / "empty.raw").write_bytes(b"")
    with pytest.raises(UnreadableFileError, match="empty"):
        open_raw(tmp_path / "empty.raw", layout)
    (tmp_path / "bad.raw").write_bytes(b"\0\0")
    sidecar_path(tmp_path / "bad.raw").write_text("{not json")
    with pytest.raises(UnreadableFileError, match=r"bad\.raw\.json.*JSON"):
        open_raw(tmp_path / "bad.raw")


def test_reading_outside_the_file_is_refused(tmp_path, frames):
    source = open_raw(write_raw(tmp_path / "rec.raw", frames), RawLayout("int16", 1e3, 5))
    with pytest.raises(BadParameterError, match="outside"):
        source.read(900, 1001, [0])
    with pytest.raises(BadParameterError, match="channels"):
        source.read(0, 10, [5])


@pytest.mark.realdata
@pytest.mark.skipif(not LOCUST.exists(), reason=f"real recordings not present at {REALDATA}")
def test_locust_sidecar_layout_matches_the_documented_recording():
    source = open_raw(LOCUST)
    assert source.n_channels == 4 and source.sampling_rate_hz == 15000.0
    assert source.n_samples / source.sampling_rate_hz == pytest.approx(28.8, abs=0.1)
    chunk = source.read(0, 15000, range(4))
    assert chunk.shape == (15000, 4) and np.all(chunk.std(axis=0) > 0)
