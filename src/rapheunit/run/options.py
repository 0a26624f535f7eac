"""Every parameter of an analysis run, validated in one place.

:class:`AnalysisOptions` gathers the options of each stage (loading, epochs,
classification, fits, QC, population, time course); each stage validates its
own on creation, so a bad value fails once, before any recording is read.
:func:`options_with` changes options by name, wherever they live, which is how
``rapheunit.analyze(paths, baseline_s=120)`` mirrors the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rapheunit.core.epochs import EpochParams
from rapheunit.core.errors import BadParameterError, check_positive, validate_type
from rapheunit.core.params import param, with_settings
from rapheunit.doseresponse.ed50_summary import BOOTSTRAP_RESAMPLES
from rapheunit.doseresponse.fits import DEFAULT_FIT_PARAMS, FitParams
from rapheunit.doseresponse.groups import GroupParams
from rapheunit.doseresponse.selection import (
    DEFAULT_EXCLUSIONS,
    EXCLUSION_CHOICES,
    parse_exclusions,
)
from rapheunit.io.load import LoadOptions
from rapheunit.measures.classify import (
    DEFAULT_RULE_SET,
    WAVEFORM_RULE_SET,
    get_rule_set,
    load_rule_config,
)
from rapheunit.measures.features import BURST_ISI_S
from rapheunit.measures.qc import QCParams
from rapheunit.measures.timecourse import TimecourseParams

DEFAULT_POPULATION_QUERY = "classification == 'putative_5ht'"


def parse_thresholds(items: Sequence[str]) -> dict[str, float] | None:
    """``NAME=VALUE`` texts (``--threshold``) as rule-set overrides.

    Examples
    --------
    >>> parse_thresholds(["max_rate_hz=3", "max_cv_isi=0.6"])
    {'max_rate_hz': 3.0, 'max_cv_isi': 0.6}
    """
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise BadParameterError(f"--threshold takes NAME=NUMBER, got {item!r}")
    return overrides or None


@dataclass(frozen=True)
class ClassificationOptions:
    """Which rule set classifies units, and how it is changed.

    Parameters
    ----------
    rule_set : str
        A registered rule set, or ``"default"`` (the classic in-vivo set when
        the unit has waveforms, the firing-only set when it has none).
    overrides : dict, optional
        Threshold name -> value, applied last.
    config : dict, optional
        A rule configuration as read by :func:`rapheunit.measures.classify.load_rule_config`.
    burst_isi_s : float
        Intraburst ISI limit for the burst metrics and the burst-removed CV.
    """

    rule_set: str = param(
        DEFAULT_RULE_SET,
        "rule set naming putative 5-HT units (default: the classic set, or the firing-only "
        "set for units without waveforms); see 'rapheunit rules'",
    )
    overrides: dict[str, Any] | None = param(
        None,
        "override one threshold, e.g. max_rate_hz=3.0; repeatable",
        name="threshold",
        metavar="NAME=VALUE",
        repeatable=True,
        parse=parse_thresholds,
    )
    config: dict[str, Any] | None = param(
        None,
        "TOML file of thresholds and rule sets",
        name="rules",
        metavar="FILE",
        parse=load_rule_config,
    )
    burst_isi_s: float = param(
        BURST_ISI_S, "intraburst ISI limit of the burst metrics", metavar="SECONDS"
    )

    def __post_init__(self) -> None:
        check_positive(self.burst_isi_s, "burst_isi_s")
        # Fail once, at the start, rather than on every recording. The classic set's
        # thresholds are a superset of the firing-only ones that "default" also uses.
        name = WAVEFORM_RULE_SET if self.rule_set == DEFAULT_RULE_SET else self.rule_set
        get_rule_set(name, overrides=self.overrides, config=self.config)


@dataclass(frozen=True)
class PopulationOptions:
    """Which units enter the population tables, and how they are grouped.

    Parameters
    ----------
    select : str
        A pandas query on ``units.csv`` columns; by default the putative 5-HT units.
        The exclusion rules apply on top of it.
    exclude : tuple of str
        Exclusion rules (:data:`rapheunit.doseresponse.selection.EXCLUSION_RULES`)
        dropping units the query picked: by default lost units, possible unit
        loss and QC fail. Giving rules replaces the default list; ``("none",)``
        or ``()`` keeps every unit the query picked.
    pooled_ci_resamples : int
        Cells-resampled refits for the pooled ED50 CI; 0 keeps the profile CI,
        which treats the points of one cell as independent.
    group_by : str, optional
        A column splitting the selected units into groups (one summary row each);
        with ``metadata`` it also gives ``groups.csv``.
    metadata : path or DataFrame, optional
        Table of recordings (``recording, animal, group, ...``) joined onto every
        output table.
    """

    select: str = param(
        DEFAULT_POPULATION_QUERY,
        "pandas query on units.csv columns choosing the units of summary.csv and population.csv",
        metavar="QUERY",
    )
    exclude: tuple[str, ...] = param(
        DEFAULT_EXCLUSIONS,
        "leave units meeting this rule out of the population; repeatable, replaces the "
        "default list; 'none' keeps every selected unit",
        metavar="RULE",
        repeatable=True,
        parse=parse_exclusions,
        choices=EXCLUSION_CHOICES,
    )
    pooled_ci_resamples: int = param(
        BOOTSTRAP_RESAMPLES,
        "resamples of cells for the pooled ED50 CI (0: profile CI, points taken as independent)",
        metavar="N",
    )
    group_by: str | None = param(
        None,
        "split the population tables by this column; with --metadata also write groups.csv",
        metavar="COLUMN",
    )
    metadata: str | Path | pd.DataFrame | None = param(
        None,
        "table of recordings (recording, animal, group, ...) joined onto every output",
        metavar="FILE",
        parse=Path,
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "exclude", parse_exclusions(self.exclude))
        validate_type(self.pooled_ci_resamples, int, "pooled_ci_resamples")
        check_positive(self.pooled_ci_resamples, "pooled_ci_resamples", allow_zero=True)


# Formats of --figures: vector SVG and PDF, or PNG at 300 dpi (rapheunit.viz.export).
FIGURE_FORMATS = ("svg", "pdf", "png")


@dataclass(frozen=True)
class ReportOptions:
    """What the reports add beyond the HTML pages.

    Parameters
    ----------
    figures : str or Path, optional
        Folder for each unit's panels and each population plot as separate files.
    figure_format : str
        ``svg``, ``pdf`` or ``png`` (300 dpi) for ``figures``.
    pdf : bool
        Also write ``reports/<recording>.pdf`` and ``reports/batch.pdf``.
    """

    figures: str | Path | None = param(
        None, "also write every unit panel and population plot as a file in this folder",
        metavar="DIR",
    )
    figure_format: str = param("svg", "file format of --figures (png at 300 dpi)",
                               choices=FIGURE_FORMATS)
    pdf: bool = param(False, "also write a PDF per recording and one for the batch")


@dataclass(frozen=True)
class AnalysisOptions:
    """Every parameter of an analysis run (written to ``params.json``)."""

    load: LoadOptions = field(default_factory=LoadOptions)
    epochs: EpochParams = field(default_factory=EpochParams)
    classification: ClassificationOptions = field(default_factory=ClassificationOptions)
    fit: FitParams = DEFAULT_FIT_PARAMS
    qc: QCParams = field(default_factory=QCParams)
    population: PopulationOptions = field(default_factory=PopulationOptions)
    timecourse: TimecourseParams = field(default_factory=TimecourseParams)
    groups: GroupParams = field(default_factory=GroupParams)
    report: ReportOptions = field(default_factory=ReportOptions)

    def as_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON-ready data."""
        params = asdict(self)
        for group, name in (("load", "doses"), ("population", "metadata")):
            value = params[group][name]
            if value is not None and not isinstance(value, str | Path):
                params[group][name] = "table given in Python"
        return params


def options_with(options: AnalysisOptions, **settings: Any) -> AnalysisOptions:
    """A copy of ``options`` with parameters changed by their public name, at any depth.

    The names are those of the command line (``--baseline-s`` -> ``baseline_s``).

    Examples
    --------
    >>> options_with(AnalysisOptions(), baseline_s=90.0).epochs.baseline_s
    90.0
    >>> options_with(AnalysisOptions(), threshold_mad=6.0).load.detection.params.threshold_mad
    6.0
    """
    return with_settings(options, settings)
