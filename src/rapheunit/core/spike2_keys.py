"""Spike2 keyboard markers: packed key codes decoded to keys, and the marker map applied."""

from __future__ import annotations

from collections.abc import Mapping

from rapheunit.core.errors import BadDoseTableError, validate_type

# Spike2 packs up to four marker bytes little-endian into one int32 that neo
# reports as text; keyboard keys are printable, non-space ASCII.
_MARKER_BYTES = 4
_FIRST_KEY, _LAST_KEY = 0x21, 0x7E


def decode_marker(label: str, marker_map: Mapping[str, str] | None = None) -> str:
    """Decode a Spike2 packed keyboard code, then apply ``marker_map``.

    A label made of digits is decoded only when every non-zero byte of the
    little-endian int32 is a printable, non-space ASCII character (``'49'`` is
    key ``'1'``, ``'12849'`` keys ``'12'``); other labels pass through. The map
    is looked up by decoded key first, then by the raw label.

    Examples
    --------
    >>> decode_marker("49"), decode_marker("12849"), decode_marker("5"), decode_marker("Drug added")
    ('1', '12', '5', 'Drug added')
    >>> decode_marker("49", {"1": "ipsapirone 10 ug/kg"})
    'ipsapirone 10 ug/kg'
    >>> decode_marker("49", {"49": "WAY-100635 100 ug/kg"})
    'WAY-100635 100 ug/kg'
    """
    validate_type(label, str, "marker label")
    raw = label.strip()
    key = _decode_key(raw)
    mapping = checked_marker_map(marker_map)
    for candidate in (key, raw):
        if candidate in mapping:
            return mapping[candidate]
    return key if key != raw else label


def _decode_key(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit()):
        return raw
    code = int(raw)
    if not 0 < code < 2 ** (8 * _MARKER_BYTES):
        return raw
    packed = code.to_bytes(_MARKER_BYTES, "little").rstrip(b"\0")
    if all(_FIRST_KEY <= byte <= _LAST_KEY for byte in packed):
        return packed.decode("ascii")
    return raw


def checked_marker_map(marker_map: Mapping[str, str] | None) -> dict[str, str]:
    """The marker map with string keys (ints are accepted as keys) and string labels.

    Examples
    --------
    >>> checked_marker_map({1: "ipsapirone 10 ug/kg"})
    {'1': 'ipsapirone 10 ug/kg'}
    """
    if marker_map is None:
        return {}
    if not isinstance(marker_map, Mapping):
        raise BadDoseTableError(f"marker map must be a mapping, got {type(marker_map).__name__}")
    checked = {}
    for code, text in marker_map.items():
        if isinstance(code, bool) or not isinstance(code, str | int) or not isinstance(text, str):
            raise BadDoseTableError(
                f"marker map entries must be code -> label text, got {code!r} -> {text!r}"
            )
        checked[str(code).strip()] = text
    return checked
