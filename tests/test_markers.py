"""Marker-label grammar, drug table and Spike2 keyboard-marker decoding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapheunit.core.errors import BadDoseTableError, BadParameterError
from rapheunit.core.markers import (
    DRUG_ROLES,
    DRUGS,
    ParsedLabel,
    canonical_drug,
    decode_marker,
    drug_role,
    format_label,
    normalise_amount,
    parse_label,
)

ISSUE_EXAMPLES = [
    ("ipsapirone 10 ug/kg", ParsedLabel("ipsapirone", 10.0, "ug/kg", None)),
    ("Ipsapirone 10 µg/kg i.v.", ParsedLabel("ipsapirone", 10.0, "ug/kg", "i.v.")),
    ("IPS 10ug/kg", ParsedLabel("ipsapirone", 10.0, "ug/kg", None)),
    ("ipsa 20 µg/kg", ParsedLabel("ipsapirone", 20.0, "ug/kg", None)),
    ("WAY-100635 0.1 mg/kg", ParsedLabel("WAY-100635", 100.0, "ug/kg", None)),
    ("WAY100635 100 ug/kg", ParsedLabel("WAY-100635", 100.0, "ug/kg", None)),
    ("8-OH-DPAT 2 µg/kg", ParsedLabel("8-OH-DPAT", 2.0, "ug/kg", None)),
    ("bicuculline 10 uM", ParsedLabel("bicuculline", 10.0, "uM", None)),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_EXAMPLES)
def test_issue_examples_parse(text: str, expected: ParsedLabel) -> None:
    assert parse_label(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "  IPSAPIRONE   10   UG / KG   I.V.  ",
        "ipsapirone10ug/kg iv",
        "Ipsapirone: 10 ug kg-1 (i.v.)",
        "ipsapirone 10 μg·kg⁻¹, IV",  # Greek mu, middle dot, superscript minus one
        "ipsapirone 10 mcg/kg intravenous",
        "IpSaPiRoNe 0.01 Mg/Kg I. V.",
        "ipsapirone 10000 ng/kg i.v.",
    ],
)
def test_case_spacing_and_spelling_variants(text: str) -> None:
    assert parse_label(text) == ParsedLabel("ipsapirone", 10.0, "ug/kg", "i.v.")


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("ipsa 0.5 mg/kg", 500.0, "ug/kg"),
        ("ipsa 250 ng/kg", 0.25, "ug/kg"),
        ("ipsa 0.001 g/kg", 1000.0, "ug/kg"),
        ("ipsa 1.1 mg/kg", 1100.0, "ug/kg"),  # 1.1 * 1000 in binary floats is 1100.0000000000002
        ("TTX 300 nM", 300.0, "nM"),
        ("TTX 0.3 µM", 0.3, "uM"),
        ("glutamate 2 MM", 2.0, "mM"),
    ],
)
def test_units_are_normalised(text: str, amount: float, unit: str) -> None:
    parsed = parse_label(text)
    assert parsed is not None
    assert (parsed.amount, parsed.unit) == (amount, unit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("saline", ParsedLabel("saline", 0.0, "ml/kg", None)),
        ("Saline i.v.", ParsedLabel("saline", 0.0, "ml/kg", "i.v.")),
        ("vehicle 1 ml/kg", ParsedLabel("vehicle", 1.0, "ml/kg", None)),
        ("VEH 500 ul/kg (i.p.)", ParsedLabel("vehicle", 0.5, "ml/kg", "i.p.")),
        ("NaCl 0.9%", ParsedLabel("saline", 0.0, "ml/kg", None)),
    ],
)
def test_vehicle_labels_need_no_amount(text: str, expected: ParsedLabel) -> None:
    assert parse_label(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Drug added",
        "",
        "   ",
        "ipsapirone",  # a drug with no amount
        "ipsapirone 10",  # no unit
        "ipsapirone 10 mg",  # not per kg
        "ipsapirone 10 ug/kg bolus",  # unknown trailing word
        "ipsapirone 1,500 ug/kg",  # thousands separator: refuse rather than guess
        "ipsapirone -10 ug/kg",
        "WAY 100635 mg/kg",  # the number belongs to the drug name
        "cell lost at 10 ug/kg? check",
        "ipsa 10 ug/kg then WAY 5 ug/kg",
    ],
)
def test_non_injection_labels_give_none(text: str) -> None:
    assert parse_label(text) is None


def test_unknown_drug_names_pass_through_unchanged() -> None:
    parsed = parse_label("  Compound X-17 5 mg/kg s.c.")
    assert parsed == ParsedLabel("Compound X-17", 5000.0, "ug/kg", "s.c.")
    assert canonical_drug("  Picrotoxin ") == "Picrotoxin"
    assert drug_role("Picrotoxin") == "other"


def test_drug_table_canonical_names_and_roles() -> None:
    required = {"ipsapirone", "8-OH-DPAT", "buspirone", "gepirone", "WAY-100635", "saline"}
    assert required <= set(DRUGS)
    for name, info in DRUGS.items():
        assert info.role in DRUG_ROLES
        assert info.note
        assert canonical_drug(name.upper()) == name
        for alias in info.aliases:
            assert canonical_drug(alias) == name
            assert drug_role(alias) == info.role
    assert drug_role("ipsapirone") == "5ht1a_agonist"
    assert drug_role("WAY 100,635") == "5ht1a_antagonist"
    assert drug_role("vehicle") == drug_role("saline") == "vehicle"


def test_normalise_amount_rejects_unknown_units_and_non_numbers() -> None:
    with pytest.raises(BadParameterError, match="unknown dose unit 'mg'"):
        normalise_amount(1.0, "mg")
    with pytest.raises(BadParameterError, match="not a finite number"):
        normalise_amount("nan", "ug/kg")
    with pytest.raises(BadParameterError, match="not a number"):
        normalise_amount("ten", "ug/kg")


def test_format_label_round_trips() -> None:
    parsed = ParsedLabel("ipsapirone", 0.00001, "ug/kg", "i.v.")
    assert format_label(parsed) == "ipsapirone 0.00001 ug/kg i.v."
    assert parse_label(format_label(parsed)) == parsed


def _packed(keys: str) -> str:
    """The text neo gives for Spike2 marker bytes ``keys``: a little-endian int32."""
    return str(int.from_bytes(keys.encode("ascii"), "little"))


def test_decode_spike2_keyboard_codes() -> None:
    assert _packed("1") == "49"  # ground truth for the issue's example, independent of decode
    assert decode_marker("49") == "1"
    assert decode_marker("12849") == "12"
    assert decode_marker(_packed("ab1Z")) == "ab1Z"
    assert decode_marker(" 65 ") == "A"


@pytest.mark.parametrize(
    "label",
    [
        "5",  # byte 0x05 is not a key
        "0",
        "32",  # a space is not a keyboard marker
        str(0x31_00_31),  # a zero byte between keys
        str(2**32),  # does not fit in four bytes
        "-49",
        "49.0",
        "Drug added",
        "",
    ],
)
def test_labels_that_are_not_key_codes_pass_through(label: str) -> None:
    assert decode_marker(label) == label


def test_marker_map_by_key_or_raw_code() -> None:
    assert decode_marker("49", {"1": "ipsapirone 10 ug/kg"}) == "ipsapirone 10 ug/kg"
    assert decode_marker("49", {"49": "WAY 100 ug/kg"}) == "WAY 100 ug/kg"
    assert decode_marker("49", {1: "saline"}) == "saline"  # integer keys from TOML/JSON users
    both = {"1": "by key", "49": "by code"}
    assert decode_marker("49", both) == "by key"
    assert decode_marker("A", {"A": "buspirone 1 mg/kg"}) == "buspirone 1 mg/kg"
    assert decode_marker("50", {"1": "ipsapirone 10 ug/kg"}) == "2"  # decoded, not mapped
    assert decode_marker("Drug added", {"1": "x"}) == "Drug added"


@pytest.mark.parametrize("bad_map", [{"1": 5}, {1.5: "x"}, ["1", "x"]])
def test_bad_marker_map_raises(bad_map: object) -> None:
    with pytest.raises(BadDoseTableError, match="marker map"):
        decode_marker("49", bad_map)  # type: ignore[arg-type]


# --- property-based tests ------------------------------------------------------------------

DRUG_ALIASES = [
    (alias, name)
    for name, info in DRUGS.items()
    if info.role != "vehicle"
    for alias in (name, *info.aliases)
]
# spelling -> (factor to the normalised unit, normalised unit): written out here, not imported.
UNIT_SPELLINGS = {
    "ug/kg": (Decimal(1), "ug/kg"),
    "µg/kg": (Decimal(1), "ug/kg"),
    "μg/kg": (Decimal(1), "ug/kg"),
    "mcg/kg": (Decimal(1), "ug/kg"),
    "ug kg-1": (Decimal(1), "ug/kg"),
    "µg·kg⁻¹": (Decimal(1), "ug/kg"),
    "mg/kg": (Decimal(1000), "ug/kg"),
    "mg.kg-1": (Decimal(1000), "ug/kg"),
    "ng/kg": (Decimal("0.001"), "ug/kg"),
    "nM": (Decimal(1), "nM"),
    "uM": (Decimal(1), "uM"),
    "µM": (Decimal(1), "uM"),
    "mM": (Decimal(1), "mM"),
}
ROUTE_SPELLINGS = {
    "i.v.": "i.v.",
    "iv": "i.v.",
    "(i.v.)": "i.v.",
    ", iv": "i.v.",
    "i.p.": "i.p.",
    "s.c.": "s.c.",
    "(sc)": "s.c.",
    "bath": "bath",
}


@st.composite
def random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


@st.composite
def injection_labels(draw: st.DrawFn) -> tuple[str, str, Decimal, Decimal, str, str | None]:
    alias, drug = draw(st.sampled_from(DRUG_ALIASES))
    amount = draw(st.decimals(min_value="0.001", max_value="5000", places=3))
    amount_text = draw(st.sampled_from([format(amount, "f"), format(amount.normalize(), "f")]))
    unit = draw(st.sampled_from(sorted(UNIT_SPELLINGS)))
    route = draw(st.none() | st.sampled_from(sorted(ROUTE_SPELLINGS)))
    spaces = st.integers(min_value=1, max_value=3).map(" ".__mul__)
    text = (
        draw(st.integers(0, 2).map(" ".__mul__))
        + draw(random_case(alias))
        + draw(spaces)
        + amount_text
        + draw(st.integers(0, 2).map(" ".__mul__))
        + draw(random_case(unit))
        + ("" if route is None else draw(spaces) + draw(random_case(route)))
        + draw(st.integers(0, 2).map(" ".__mul__))
    )
    return text, drug, Decimal(amount_text), *UNIT_SPELLINGS[unit], route


@given(injection_labels())
def test_parse_recovers_drug_amount_unit_and_route(
    case: tuple[str, str, Decimal, Decimal, str, str | None],
) -> None:
    text, drug, amount, factor, unit, route = case
    parsed = parse_label(text)
    assert parsed is not None, text
    assert parsed.drug == drug
    assert parsed.amount == float(amount * factor)  # exact decimal product, rounded once
    assert parsed.unit == unit
    assert parsed.route == (None if route is None else ROUTE_SPELLINGS[route])


# Label-like fragments: random joins of these parse far more often than random text.
FRAGMENTS = [
    "ipsa",
    "WAY",
    "100635",
    "8-OH-DPAT",
    "saline",
    "NaCl",
    "0.9%",
    "Compound",
    "TVX Q 7821",
    "10",
    "0.5",
    ".2",
    "1 ",
    "ug/kg",
    "µg",
    "/kg",
    " kg-1",
    "mg",
    "uM",
    "mM",
    "ml/kg",
    "i.v.",
    "iv",
    " s.c.",
    " (i.p.)",
    "bath",
    " ",
    "  ",
    "(",
    ")",
    ",",
    ":",
    "-",
    "=",
]


@given(st.text(max_size=120) | st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join))
def test_random_text_never_crashes_and_parses_are_idempotent(text: str) -> None:
    parsed = parse_label(text)
    assert parsed is None or isinstance(parsed, ParsedLabel)
    if parsed is not None:
        assert parse_label(format_label(parsed)) == parsed


@given(injection_labels())
def test_format_of_a_parse_is_a_fixed_point(
    case: tuple[str, str, Decimal, Decimal, str, str | None],
) -> None:
    parsed = parse_label(case[0])
    assert parsed is not None
    formatted = format_label(parsed)
    assert parse_label(formatted) == parsed
    assert format_label(parse_label(formatted)) == formatted  # type: ignore[arg-type]


KEYS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@given(st.text(KEYS, min_size=1, max_size=4))
def test_decode_recovers_packed_keys(keys: str) -> None:
    assert decode_marker(_packed(keys)) == keys


@given(st.text(max_size=40) | st.integers(min_value=-(2**40), max_value=2**40).map(str))
def test_decode_never_crashes(label: str) -> None:
    decoded = decode_marker(label)
    assert decoded == label or label.strip().isdigit()
