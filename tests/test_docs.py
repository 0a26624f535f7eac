"""The user guide says what the code does.

Generated pages (``docs/make_cli_reference.py``) must equal what the generator writes now, so a
changed option, default, rule set or drug table fails here until the pages are regenerated; the
hand-written pages must name every output column, file and reader, and every link must resolve.
"""

from __future__ import annotations

import argparse
import dataclasses
import doctest
import importlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from conftest import RECORDINGS
from rapheunit import analyze
from rapheunit.cli import build_parser
from rapheunit.core.epochs import EpochParams
from rapheunit.doseresponse import groups
from rapheunit.doseresponse.fits import FitParams
from rapheunit.measures import classify, qc, timecourse
from rapheunit.run import options
from rapheunit.viz import html, report

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATOR = DOCS / "make_cli_reference.py"
REGENERATE = "run .venv/bin/python docs/make_cli_reference.py and commit the pages"
PARAMETER_CLASSES = (
    EpochParams,
    FitParams,
    qc.QCParams,
    timecourse.TimecourseParams,
    groups.GroupParams,
    options.ClassificationOptions,
    options.PopulationOptions,
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_cli_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(generator: ModuleType) -> dict[str, str]:
    return generator.generated_pages()


@pytest.fixture(scope="module")
def outputs_page() -> str:
    return (DOCS / "outputs.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["cli.md", "defaults.md", "markers.md"])
def test_generated_page_is_current(pages: dict[str, str], name: str) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == pages[name], f"docs/{name} is out of date: {REGENERATE}"


def test_generator_examples_hold(generator: ModuleType) -> None:
    result = doctest.testmod(generator, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 5
    assert result.failed == 0


def _all_options(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                yield from _all_options(subparser)


def test_cli_page_lists_every_command_and_option(pages: dict[str, str]) -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in commands.choices:
        assert f"## `rapheunit {command}`" in pages["cli.md"]
    for option in set(_all_options(parser)) - {"-h", "--help"}:
        assert f"`{option}`" in pages["cli.md"], option


@pytest.mark.parametrize("cls", PARAMETER_CLASSES, ids=lambda cls: cls.__name__)
def test_defaults_page_shows_every_parameter_with_its_default(
    generator: ModuleType, pages: dict[str, str], cls: type
) -> None:
    defaults = cls()
    for spec in dataclasses.fields(cls):
        shown = generator.format_default(getattr(defaults, spec.name))
        assert f"| `{spec.name}` | {shown} |" in pages["defaults.md"], spec.name


def test_defaults_page_shows_every_rule_set_threshold_and_source(pages: dict[str, str]) -> None:
    for name, rule_set in classify.RULE_SETS.items():
        assert f"### `{name}`" in pages["defaults.md"]
        for source in rule_set.sources:
            assert f"- {source}" in pages["defaults.md"]
        for key, value in rule_set.thresholds.items():
            assert f"| `{key}` | `{value:g}` |" in pages["defaults.md"]


def test_defaults_page_follows_the_registry(generator: ModuleType) -> None:
    strict = dataclasses.replace(
        classify.RULE_SETS["aghajanian_classic"].with_overrides({"min_waveform_ms": 1.9}),
        name="docs_test_strict",
        sources=("Docs test 2099",),
    )
    classify.register_rule_set(strict)
    try:
        page = generator.defaults_reference()
    finally:
        del classify.RULE_SETS["docs_test_strict"]
    assert "### `docs_test_strict`" in page
    assert "| `min_waveform_ms` | `1.9` |" in page
    assert "- Docs test 2099" in page


def test_defaults_page_quotes_the_source_comment_of_a_constant(
    generator: ModuleType, pages: dict[str, str]
) -> None:
    notes = generator.constant_notes(importlib.import_module("rapheunit.measures.features"))
    assert "Hajos et al. 1995" in notes["BURST_ISI_S"]
    assert notes["BURST_ISI_S"] in pages["defaults.md"]


def test_every_qc_metric_is_on_the_defaults_page(pages: dict[str, str]) -> None:
    for row in qc.metrics_table().itertuples():
        assert f"| {row.metric} | {row.column} |" in pages["defaults.md"]


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs_demo")
    batch = analyze(RECORDINGS, out=out)
    report.write_reports(batch, out)
    return out


def _documented(column: str, page: str) -> bool:
    return f"`{column}`" in page or (column.startswith("pooled_") and "`pooled_*`" in page)


def test_outputs_page_documents_every_file_and_column_written(
    demo_output: Path, outputs_page: str
) -> None:
    tables = sorted(demo_output.glob("*.csv"))
    assert {path.stem for path in tables} >= {"recordings", "units", "doses", "summary"}
    for path in [*tables, demo_output / "params.json"]:
        assert f"`{path.name}`" in outputs_page, path.name
    for path in tables:
        undocumented = [c for c in pd.read_csv(path).columns if not _documented(c, outputs_page)]
        assert not undocumented, f"{path.name}: {undocumented} missing from docs/outputs.md"
    assert f"`{html.REPORTS_DIR}/`" in outputs_page
    assert (demo_output / html.REPORTS_DIR / html.INDEX_NAME).is_file()


@pytest.mark.parametrize(
    "columns",
    [
        qc.TABLE_COLUMNS,
        qc.QC_COLUMNS,
        timecourse.TIMECOURSE_COLUMNS,
        timecourse.METRIC_COLUMNS,
        groups.GROUP_COLUMNS,
    ],
    ids=["qc_status", "qc_metrics", "timecourse", "timecourse_metrics", "groups"],
)
def test_outputs_page_documents_the_optional_columns(
    columns: tuple[str, ...], outputs_page: str
) -> None:
    assert [c for c in columns if not _documented(c, outputs_page)] == []


def test_formats_page_names_every_extension_and_reader() -> None:
    page = (DOCS / "formats.md").read_text(encoding="utf-8")
    loader = importlib.import_module("rapheunit.io.load")  # rapheunit.io.load is the function
    for extension in [*loader.NEO_READERS, *loader.SPIKE_TABLE_SUFFIXES]:
        assert f"`{extension}`" in page, extension
    for reader in {*loader.NEO_READERS.values(), *loader.OPEN_EPHYS_MARKERS.values()}:
        assert f"`{reader}`" in page, reader


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


USER_PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "notebooks" / "README.md", ROOT / "README.md"]


@pytest.mark.parametrize("page", USER_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    for target in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        assert linked.exists(), f"{page.name}: broken link {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: no heading for {target}"
