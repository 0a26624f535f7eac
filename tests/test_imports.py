"""Start-up cost: importing rapheunit loads only what the task needs.

Each check runs in a fresh interpreter, so what other tests imported cannot hide a heavy import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("matplotlib", "statsmodels", "sklearn", "scipy", "pandas", "jinja2", "neo", "elephant")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_probe_sees_an_import() -> None:
    assert "fractions" in _modules_after("import fractions")


@pytest.mark.parametrize("heavy", HEAVY)
def test_import_rapheunit_loads_no_heavy_library(heavy: str) -> None:
    assert heavy not in _modules_after("import rapheunit")


def test_the_data_model_works_without_heavy_libraries() -> None:
    loaded = _modules_after(
        "import numpy as np, rapheunit\n"
        "rec = rapheunit.Recording('r', __import__('pathlib').Path('r'), 0.0, 1.0,\n"
        "                          [rapheunit.Unit('u', np.array([0.5]))])\n"
        "assert rec.duration_s == 1.0 and repr(rec).startswith('<Recording r')"
    )
    # pandas is the core's table type (dose rates); nothing heavier is needed to hold data
    assert not loaded & (set(HEAVY) - {"pandas"})


# What the command line must not load before a command needs it (pandas and scipy may load).
NOT_FOR_STARTUP = ("matplotlib", "statsmodels", "sklearn", "elephant", "neo", "quantities")


def _modules_after_command(*arguments: str) -> set[str]:
    """Modules loaded by ``rapheunit ARGUMENTS`` run to completion in a fresh interpreter."""
    return _modules_after(
        "import contextlib, io, rapheunit.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        rapheunit.cli.main({list(arguments)!r})\n"
        "    except SystemExit:\n"
        "        pass"
    )


def test_the_command_probe_sees_what_a_command_imports() -> None:
    # the probe is not blind: simulating recordings loads the writers' libraries
    probe = (
        "import contextlib, io, tempfile, rapheunit.cli\n"
        "with tempfile.TemporaryDirectory() as folder, "
        "contextlib.redirect_stdout(io.StringIO()):\n"
        "    rapheunit.cli.main(['simulate', folder])"
    )
    assert "neo" in _modules_after(probe)


@pytest.mark.parametrize("command", [["--help"], ["analyze", "--help"], ["rules"]])
def test_help_and_rules_load_no_heavy_library(command: list[str]) -> None:
    loaded = _modules_after_command(*command)
    assert not loaded & set(NOT_FOR_STARTUP), sorted(loaded & set(NOT_FOR_STARTUP))


@pytest.mark.parametrize("command", [["--help"], ["--version"], ["analyse-typo"]])
def test_top_level_help_loads_nothing_but_numpy(command: list[str]) -> None:
    # the commands' flags are built only for the command named: "--help" lists the commands
    loaded = _modules_after_command(*command)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_each_command_still_gets_its_flags(capsys: pytest.CaptureFixture[str]) -> None:
    from rapheunit.cli import main

    for command, flag in (("analyze", "--baseline-s"), ("analyse", "--baseline-s"),
                          ("report", "--select"), ("curate", "--exclude-population"),
                          ("inspect", "--json"), ("rules", "--rules"), ("simulate", "--seed")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert flag in capsys.readouterr().out, command


def test_analyze_without_reports_loads_no_report_stack(tmp_path: Path) -> None:
    tables = Path(__file__).parents[1] / "recordings"
    loaded = _modules_after_command(
        "analyze", str(tables / "drn04_slow_irregular.csv"), "--out", str(tmp_path),
        "--no-report", "--quiet", "--jobs", "1",
    )
    assert (tmp_path / "units.csv").exists()
    assert not loaded & {"matplotlib", "jinja2"}
