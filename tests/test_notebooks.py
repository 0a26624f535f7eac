"""The notebooks run unchanged on a fresh install: each is executed top to bottom with nbclient."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

from conftest import RECORDINGS

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {"01_single_recording", "02_batch_and_population", "03_custom_criteria"}
OUTPUT_DIR = "output"
KERNEL_NAME = "python3"
# A notebook takes 10-30 s alone; the limit leaves room for a loaded 2-core machine.
CELL_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def venv_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``python3`` kernelspec that runs this interpreter, found first on ``JUPYTER_PATH``.

    Without it a user-level ``python3`` kernelspec could start another Python, one without
    rapheunit; ``JUPYTER_PATH`` comes before every other kernelspec folder.
    """
    data_dir = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(data_dir / "kernels" / KERNEL_NAME)
    search_path = os.pathsep.join(filter(None, [str(data_dir), os.environ.get("JUPYTER_PATH")]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", search_path)
        yield KERNEL_NAME


def _snapshot(folder: Path, skip: str | None = None) -> dict[str, int]:
    """Every file under ``folder`` (except under ``folder/skip``) with its modification time."""
    return {
        str(path.relative_to(folder)): path.stat().st_mtime_ns
        for path in folder.rglob("*")
        if path.is_file() and (skip is None or path.relative_to(folder).parts[0] != skip)
    }


def test_the_three_notebooks_are_there() -> None:
    assert {path.stem for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == KERNEL_NAME
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell was saved with outputs"
            assert cell.execution_count is None, f"{path.name}: a cell was saved executed"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_the_venv_kernel(path: Path, venv_kernel: str) -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    before = _snapshot(NOTEBOOKS_DIR, skip=OUTPUT_DIR), _snapshot(RECORDINGS)
    client = NotebookClient(
        notebook,
        kernel_name=venv_kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    kernel_python = notebook.cells[-1].outputs[0]["text"].strip()
    assert Path(kernel_python).resolve() == Path(sys.executable).resolve()
    assert (NOTEBOOKS_DIR / OUTPUT_DIR / path.stem).is_dir()
    after = _snapshot(NOTEBOOKS_DIR, skip=OUTPUT_DIR), _snapshot(RECORDINGS)
    assert after == before, "a notebook wrote outside notebooks/output/"
