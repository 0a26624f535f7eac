# Over 400 lines: the drug table and the label grammar are read together by every caller.
"""Marker labels: the drug table and the injection-label grammar.

Spike2 keyboard codes and the marker map are decoded in :mod:`rapheunit.core.spike2_keys`
(imported here too).

Label grammar
-------------
Matching ignores case; spacing is free::

    label   := drug SEP amount unit [route]
             | vehicle [route]
    SEP     := spaces or ":"; may be left out when the drug name ends in a letter
    amount  := 10 | 0.1 | .5    (no sign, exponent or thousands separator)
    unit    := MASS per kg      -> ug/kg  (g, mg, ug/µg/μg/mcg, ng; "/kg", " kg-1",
                                           ".kg-1" or "·kg⁻¹")
             | nM | uM | mM     -> kept as given (µM and μM read as uM)
             | ml/kg | ul/kg    -> ml/kg  (a vehicle volume, not a dose)
    route   := i.v., i.p., s.c., i.c.v., i.m., p.o. or bath (dots and spaces optional),
               after a space or comma, or in parentheses

``drug`` is any text without ``/ : ; =``. Known names and aliases (see
:data:`DRUGS`) become the canonical name; other names are kept as typed. A
vehicle (saline, vehicle, ...) needs no amount: alone it is an injection of
``0 ml/kg``, meaning the volume was not written down. Anything else, such as
``Drug added`` or ``ipsapirone`` with no amount, is not an injection label.

Concentrations are never converted between nM, uM and mM: they describe what
is in the bath, not an amount given.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from rapheunit.core.errors import BadParameterError, validate_type
from rapheunit.core.spike2_keys import checked_marker_map as checked_marker_map
from rapheunit.core.spike2_keys import decode_marker as decode_marker

AGONIST = "5ht1a_agonist"
ANTAGONIST = "5ht1a_antagonist"
VEHICLE = "vehicle"
OTHER = "other"
DRUG_ROLES = (AGONIST, ANTAGONIST, VEHICLE, OTHER)

BODY_WEIGHT = "body_weight"
CONCENTRATION = "concentration"
VOLUME = "volume"


@dataclass(frozen=True)
class DrugInfo:
    """One entry of the drug table: aliases, pharmacological role and a short source."""

    aliases: tuple[str, ...]
    role: str
    note: str
    # A full agonist at the DRN somatodendritic autoreceptor silences 5-HT cells
    # completely at saturating doses, so its Hill fit may fix the bottom at 0 %.
    full_agonist_at_drn: bool = False


# The one drug table. Aliases are matched ignoring case, spaces, hyphens,
# underscores, dots and commas, so "WAY 100,635" and "way100635" both match.
DRUGS: dict[str, DrugInfo] = {
    "ipsapirone": DrugInfo(
        ("ipsa", "ips", "TVX Q 7821", "BAY q 7821"),
        AGONIST,
        "azapirone 5-HT1A agonist, partial postsynaptically but full at the DRN "
        "autoreceptor: i.v. doses silence DRN 5-HT cells (Sprouse & Aghajanian 1987, Synapse)",
        full_agonist_at_drn=True,
    ),
    "8-OH-DPAT": DrugInfo(
        ("DPAT", "8-hydroxy-DPAT", "(±)-8-OH-DPAT", "R-8-OH-DPAT"),
        AGONIST,
        "full 5-HT1A agonist, the reference inhibitor of DRN firing "
        "(Sprouse & Aghajanian 1987, Synapse)",
        full_agonist_at_drn=True,
    ),
    "buspirone": DrugInfo(
        ("busp", "BuSpar"),
        AGONIST,
        "azapirone 5-HT1A partial agonist; inhibits DRN cells i.v. "
        "(VanderMaelen et al. 1986, Eur J Pharmacol)",
    ),
    "gepirone": DrugInfo(
        ("gep",),
        AGONIST,
        "azapirone 5-HT1A agonist (Blier & de Montigny 1987, Synapse)",
    ),
    "WAY-100635": DrugInfo(
        ("WAY", "WAY100635"),
        ANTAGONIST,
        "silent 5-HT1A antagonist, reverses agonist inhibition (Forster et al. 1995, "
        "Eur J Pharmacol); bare 'WAY' is read as WAY-100635, the usual one in DRN work",
    ),
    "saline": DrugInfo(
        ("NaCl", "0.9% NaCl", "NaCl 0.9%", "0.9% saline", "saline 0.9%", "physiological saline"),
        VEHICLE,
        "vehicle control",
    ),
    "vehicle": DrugInfo(("veh",), VEHICLE, "vehicle control"),
}


@dataclass(frozen=True)
class _UnitRule:
    unit: str
    factor: Decimal
    system: str


# Key: spelling after _unit_key. Body-weight doses are summed in ug/kg.
_UNITS: dict[str, _UnitRule] = {
    "g/kg": _UnitRule("ug/kg", Decimal(1_000_000), BODY_WEIGHT),
    "mg/kg": _UnitRule("ug/kg", Decimal(1000), BODY_WEIGHT),
    "ug/kg": _UnitRule("ug/kg", Decimal(1), BODY_WEIGHT),
    "ng/kg": _UnitRule("ug/kg", Decimal("0.001"), BODY_WEIGHT),
    "nm": _UnitRule("nM", Decimal(1), CONCENTRATION),
    "um": _UnitRule("uM", Decimal(1), CONCENTRATION),
    "mm": _UnitRule("mM", Decimal(1), CONCENTRATION),
    "ml/kg": _UnitRule("ml/kg", Decimal(1), VOLUME),
    "ul/kg": _UnitRule("ml/kg", Decimal("0.001"), VOLUME),
}
KNOWN_UNITS = ("g/kg", "mg/kg", "ug/kg", "ng/kg", "nM", "uM", "mM", "ml/kg", "ul/kg")

# Key: spelling lowercased without dots or spaces.
ROUTES: dict[str, str] = {
    "iv": "i.v.",
    "intravenous": "i.v.",
    "ip": "i.p.",
    "intraperitoneal": "i.p.",
    "sc": "s.c.",
    "subcutaneous": "s.c.",
    "icv": "i.c.v.",
    "im": "i.m.",
    "po": "p.o.",
    "oral": "p.o.",
    "bath": "bath",
}


@dataclass(frozen=True)
class ParsedLabel:
    """An injection label: canonical drug, normalised amount and unit, route or None."""

    drug: str
    amount: float
    unit: str
    route: str | None


def _alias_key(name: str) -> str:
    return re.sub(r"[\s\-_.,]", "", name.casefold())


_ALIAS_INDEX: dict[str, str] = {
    _alias_key(alias): canonical
    for canonical, info in DRUGS.items()
    for alias in (canonical, *info.aliases)
}


def _route_pattern(spelling: str) -> str:
    """Regex for one route spelling with optional dots and spaces between letters."""
    return r"\.?\s*".join(re.escape(letter) for letter in spelling) + r"\.?"


_ROUTE = "|".join(_route_pattern(key) for key in sorted(ROUTES, key=len, reverse=True))
_ROUTE_PART = rf"(?:(?:\s*[,;(]\s*|\s+)(?P<route>{_ROUTE})\s*\)?)?"
# The name ends on a non-space, so the separator alone owns the spaces (no quadratic backtracking).
_DRUG = r"(?P<drug>[^/:;=\s](?:[^/:;=]*?[^/:;=\s])?)"
_PER_KG = r"\s*/\s*kg|\s*[.·]?\s*kg\s*(?:\^?-1|⁻¹)"
_DOSE_LABEL = re.compile(
    _DRUG
    + r"(?:\s*:\s*|\s+|(?<=[^\W\d_]))"  # separator; none needed after a letter
    + r"(?P<amount>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*"
    + rf"(?P<unit>[^\W\d_]+(?:{_PER_KG})?)"
    + _ROUTE_PART,
    re.IGNORECASE,
)
_AMOUNTLESS_LABEL = re.compile(_DRUG + _ROUTE_PART, re.IGNORECASE)


def canonical_drug(name: str) -> str:
    """Canonical name of a drug alias; other names are returned stripped, unchanged.

    Examples
    --------
    >>> canonical_drug(" IPS "), canonical_drug("way 100635"), canonical_drug("8OHDPAT")
    ('ipsapirone', 'WAY-100635', '8-OH-DPAT')
    >>> canonical_drug(" Bicuculline ")
    'Bicuculline'
    """
    validate_type(name, str, "drug name")
    return _ALIAS_INDEX.get(_alias_key(name), name.strip())


def drug_role(name: str) -> str:
    """Role of a drug: ``"5ht1a_agonist"``, ``"5ht1a_antagonist"``, ``"vehicle"`` or ``"other"``.

    Examples
    --------
    >>> drug_role("ipsa"), drug_role("WAY"), drug_role("Saline"), drug_role("bicuculline")
    ('5ht1a_agonist', '5ht1a_antagonist', 'vehicle', 'other')
    """
    info = DRUGS.get(canonical_drug(name))
    return OTHER if info is None else info.role


def is_full_agonist_at_drn(name: str) -> bool:
    """Whether the drug table marks a drug as a full agonist at the DRN autoreceptor.

    Examples
    --------
    >>> is_full_agonist_at_drn("IPS"), is_full_agonist_at_drn("WAY-100635")
    (True, False)
    """
    info = DRUGS.get(canonical_drug(name))
    return info is not None and info.full_agonist_at_drn


def _unit_key(unit: str) -> str:
    key = re.sub(r"\s", "", unit.casefold()).replace("µ", "u").replace("μ", "u")
    key = key.replace("mcg", "ug")
    return re.sub(r"[.·]?kg(?:\^?-1|⁻¹)$", "/kg", key)


def _unit_rule(unit: str) -> _UnitRule:
    rule = _UNITS.get(_unit_key(unit))
    if rule is None:
        raise BadParameterError(f"unknown dose unit {unit!r} (known: {', '.join(KNOWN_UNITS)})")
    return rule


def normalise_amount(amount: float | str, unit: str) -> tuple[float, str]:
    """Convert an amount to the normalised unit: ug/kg, ml/kg, or the concentration as given.

    Raises :class:`~rapheunit.core.errors.BadParameterError` for an unknown unit or
    an amount that is not a finite number. The conversion is exact in decimal.

    Examples
    --------
    >>> normalise_amount(0.1, "mg/kg"), normalise_amount("500", "NG/KG")
    ((100.0, 'ug/kg'), (0.5, 'ug/kg'))
    >>> normalise_amount(25, "µM")
    (25.0, 'uM')
    """
    rule = _unit_rule(unit)
    try:
        exact = Decimal(amount if isinstance(amount, str) else repr(float(amount)))
    except (ArithmeticError, ValueError, TypeError) as error:
        raise BadParameterError(f"amount {amount!r} is not a number") from error
    if not exact.is_finite():
        raise BadParameterError(f"amount {amount!r} is not a finite number")
    return float(exact * rule.factor), rule.unit


def unit_system(unit: str) -> str:
    """``"body_weight"``, ``"concentration"`` or ``"volume"`` for a known unit spelling.

    Examples
    --------
    >>> unit_system("mg/kg"), unit_system("uM"), unit_system("ml/kg")
    ('body_weight', 'concentration', 'volume')
    """
    return _unit_rule(unit).system


def parse_label(text: str) -> ParsedLabel | None:
    """Parse an injection label (grammar in the module docstring); None if it is not one.

    Examples
    --------
    >>> parse_label("Ipsapirone 10 µg/kg i.v.")
    ParsedLabel(drug='ipsapirone', amount=10.0, unit='ug/kg', route='i.v.')
    >>> parse_label("WAY-100635 0.1 mg/kg")
    ParsedLabel(drug='WAY-100635', amount=100.0, unit='ug/kg', route=None)
    >>> parse_label("saline")
    ParsedLabel(drug='saline', amount=0.0, unit='ml/kg', route=None)
    >>> parse_label("Drug added") is None
    True
    """
    validate_type(text, str, "marker label")
    label = text.strip()
    return _parse_dose_label(label) or _parse_vehicle_label(label)


def _parse_dose_label(label: str) -> ParsedLabel | None:
    match = _DOSE_LABEL.fullmatch(label)
    if match is None or _unit_key(match["unit"]) not in _UNITS:
        return None
    drug, amount_text = match["drug"], match["amount"]
    # "WAY 100635 mg/kg" has no amount: the number belongs to the drug name.
    if _alias_key(drug + amount_text) in _ALIAS_INDEX or _swallows_part_of_amount(drug):
        return None
    amount, unit = normalise_amount(amount_text, match["unit"])
    return ParsedLabel(canonical_drug(drug), amount, unit, _route(match["route"]))


def _swallows_part_of_amount(drug: str) -> bool:
    """True when the drug text took part of a malformed amount.

    A sign ("ipsa - 5 ug/kg" would read as +5), or a known drug followed by a
    number-like word ("ipsa 1e3 ug/kg" would read as 3 ug/kg of "ipsa 1e").
    """
    if drug[-1] in "+-−":
        return True
    head, _, last_word = drug.rpartition(" ")
    return (
        bool(head.strip())
        and any(c.isdigit() for c in last_word)
        and _alias_key(drug) not in _ALIAS_INDEX
        and _alias_key(head) in _ALIAS_INDEX
    )


def unknown_dose_unit(text: str) -> str | None:
    """The unit of a label that has the dose form but an unknown unit, else None.

    Examples
    --------
    >>> unknown_dose_unit("ipsapirone 10 mgkg"), unknown_dose_unit("ipsapirone 10 mg/kg")
    ('mgkg', None)
    """
    validate_type(text, str, "marker label")
    match = _DOSE_LABEL.fullmatch(text.strip())
    if match is None or _unit_key(match["unit"]) in _UNITS:
        return None
    return match["unit"]


# A name this close to a known drug or alias (difflib ratio) is taken for a typo of it:
# "ipsaprione" would otherwise become a second drug and break the cumulative doses.
DRUG_TYPO_SIMILARITY = 0.8


def misspelled_drug(name: str) -> str | None:
    """The known drug that an unknown ``name`` looks like a typo of, else None.

    Examples
    --------
    >>> misspelled_drug("ipsaprione"), misspelled_drug("ipsapirone"), misspelled_drug("bicuculline")
    ('ipsapirone', None, None)
    """
    key = _alias_key(name)
    if key in _ALIAS_INDEX:
        return None
    close = difflib.get_close_matches(key, list(_ALIAS_INDEX), n=1, cutoff=DRUG_TYPO_SIMILARITY)
    return _ALIAS_INDEX[close[0]] if close else None


def names_a_drug(text: str) -> bool:
    """Whether a label speaks of a drug: the word "drug" or a known drug or alias in it.

    Examples
    --------
    >>> names_a_drug("Drug added"), names_a_drug("ipsa on"), names_a_drug("electrode moved")
    (True, True, False)
    """
    validate_type(text, str, "marker label")
    words = re.findall(r"[\w\-]+", text)
    return any(
        word.casefold() in ("drug", "drugs") or _alias_key(word) in _ALIAS_INDEX
        for word in words
    )


def dose_like_drug(text: str) -> str | None:
    """The known drug (not a vehicle) that a label starts with, when a number follows it.

    This finds hand-typed doses that :func:`parse_label` rejects, so that they
    are not silently left out of a drug's cumulative total.

    Examples
    --------
    >>> dose_like_drug("IPS 10 mgkg"), dose_like_drug("way 1,5 mg/kg"), dose_like_drug("Drug added")
    ('ipsapirone', 'WAY-100635', None)
    """
    validate_type(text, str, "marker label")
    key = _alias_key(text)
    for alias in sorted(_ALIAS_INDEX, key=len, reverse=True):
        drug = _ALIAS_INDEX[alias]
        rest = key[len(alias) :]
        if key.startswith(alias) and rest[:1].isdigit() and drug_role(drug) != VEHICLE:
            return drug
    return None


def _parse_vehicle_label(label: str) -> ParsedLabel | None:
    match = _AMOUNTLESS_LABEL.fullmatch(label)
    if match is None or drug_role(match["drug"]) != VEHICLE:
        return None
    return ParsedLabel(canonical_drug(match["drug"]), 0.0, "ml/kg", _route(match["route"]))


def _route(text: str | None) -> str | None:
    return None if text is None else ROUTES[re.sub(r"[\s.]", "", text.casefold())]


def format_label(label: ParsedLabel) -> str:
    """Write a parsed label back in the grammar; ``parse_label`` reads it back unchanged.

    Examples
    --------
    >>> format_label(parse_label("IPS 20ug/kg (iv)"))
    'ipsapirone 20 ug/kg i.v.'
    """
    amount = format(Decimal(repr(float(label.amount))).normalize(), "f")
    route = "" if label.route is None else f" {label.route}"
    return f"{label.drug} {amount} {label.unit}{route}"
