"""Figures as files (--figures, --figure-format) and the PDFs (--pdf) from the command line."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from rapheunit.cli import main

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name in ("drn05_burst_fast.csv", "drn05_burst_fast.doses.csv"):
        shutil.copy(RECORDINGS / name, folder / name)
    return folder


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_png_panels_are_print_resolution(inputs: Path, tmp_path: Path) -> None:
    figures = tmp_path / "figures"
    main(["analyze", str(inputs), "--out", str(tmp_path / "out"), "--figures", str(figures),
          "--figure-format", "png"])
    names = sorted(p.name for p in figures.iterdir())
    for unit in ("unit1", "unit2"):
        for panel in ("rate", "isi", "autocorrelogram", "dose_response"):
            assert f"drn05_burst_fast_{unit}_{panel}.png" in names
    # the CSV units carry no waveforms: that panel is left out rather than drawn empty
    assert not any("waveform" in name for name in names)
    assert "population_ipsapirone.png" in names
    # at 300 dpi a panel a few cm wide is well over 300 px
    width, height = _png_size(figures / "drn05_burst_fast_unit1_isi.png")
    assert width > 300 and height > 300
    # journal sizes: a small panel fits one 85 mm column, the time panel the 180 mm page
    assert width / 300 * 25.4 <= 85.0
    width, _ = _png_size(figures / "drn05_burst_fast_unit1_rate.png")
    assert 120.0 <= width / 300 * 25.4 <= 180.0


def test_vector_formats_and_pdfs(inputs: Path, tmp_path: Path) -> None:
    figures, out = tmp_path / "figures", tmp_path / "out"
    main(["analyze", str(inputs), "--out", str(out), "--figures", str(figures),
          "--figure-format", "svg", "--pdf"])
    svg = (figures / "drn05_burst_fast_unit1_dose_response.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<text" in svg  # vector, text kept as text
    for pdf in (out / "reports" / "drn05_burst_fast.pdf", out / "reports" / "batch.pdf"):
        assert pdf.read_bytes()[:5] == b"%PDF-"
