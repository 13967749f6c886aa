"""Classify and parse raw barcode scans; GTIN helpers; the GS1 line printed on our labels.

Scanner clients send the characters a scanner produced as one string. The service first passes it
through `check_raw_barcode` (the API contract on raw scans), then asks `is_gs1` whether it is GS1
data (a supplier's GS1 DataMatrix, GS1-128, GS1 QR or GS1 DataBar) or one of our own barcodes
(unit barcodes like ``U-7K3M9QXP2A`` and lot codes like ``L-000042`` always start with a letter),
and parses GS1 data with `parse_gs1`.

GS1 data is accepted in three shapes:

* with a symbology identifier: ``]d2`` (GS1 DataMatrix), ``]C1`` (GS1-128), ``]Q3`` (GS1 QR),
  ``]e0`` (GS1 DataBar), followed by the element strings, GS (U+001D) standing for FNC1;
* the bare element strings, when the scanner does not transmit symbology identifiers;
* the human-readable form typed from a label, ``(01)10614141000729(17)270600(10)BB2406-17A``.

Parsing uses biip's GS1 Application Identifier table and element-string parser, but walks the
message itself because biip 5.2.0's message-level parsers are too forgiving for traceability data
(see `parse_gs1`). Every refusal is a `BarcodeFormatError` or `Gs1Error`, both `ValueError`
subclasses carrying one sentence a person can act on.

The missing-separator problem
-----------------------------
A variable-length field (10 batch, 21 serial, 91 internal, 240, ...) ends at a GS or at the end
of the barcode. If a label printer forgets the GS, the field silently absorbs everything after
it: ``10BB2406-17A21SN000123`` *is*, by the GS1 syntax, batch ``BB2406-17A21SN000123`` with no
serial, and no receiver can tell that apart from a supplier whose batch numbers really look like
that (any batch containing ``21``, ``91``, ``240``, ... would be a false alarm). So we cannot
always detect a missing GS. What we do, as a strict receiver:

* a variable-length value runs to the next GS or the end, never further, and a value longer than
  its AI allows is refused with a hint about a missing GS (biip instead cuts the value at its
  maximum length and reads the rest as further fields, which turns an overlong or merged field
  into plausible-looking data);
* every character must be in GS1 character set 82, so spaces and other stray characters are
  refused rather than skipped;
* a field repeated with a different value is refused.

A merged field that still fits the length limit is accepted as encoded; that is why our own labels
carry the lot's identity in (91), and why GTIN+batch from a supplier barcode is always matched
against the registered lot rather than trusted to create one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from services.barcodes.gtin import (
    ASCII_DIGITS,
    GTIN_LENGTHS,
    gtin_problem,
    is_ascii_digits,
    is_valid_gtin,
)

__all__ = [
    "GS",
    "GS1_SYMBOLOGY_IDENTIFIERS",
    "MAX_BARCODE_LENGTH",
    "BarcodeFormatError",
    "Gs1Data",
    "Gs1Error",
    "check_raw_barcode",
    "gs1_element_string_for_label",
    "is_gs1",
    "parse_gs1",
]

GS = "\x1d"
"""Group separator: how scanners transmit FNC1 between GS1 fields."""

MAX_BARCODE_LENGTH = 512
"""The API contract's limit on a raw scan, in characters (a trailing CR/LF included)."""

GS1_SYMBOLOGY_IDENTIFIERS: dict[str, str] = {
    "]d2": "GS1 DataMatrix",
    "]C1": "GS1-128",
    "]Q3": "GS1 QR Code",
    "]e0": "GS1 DataBar",
}

# GS1 General Specifications, figure 7.11-1: the characters allowed in GS1 data (CSET 82).
_CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_LINE_ENDINGS = ("\r\n", "\n", "\r")

# AIs holding a YYMMDD date, where day 00 means the last day of the month.
_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
_GTIN_AIS = frozenset({"01", "02", "03"})
_AI_NAMES = {
    "00": "SSCC",
    "01": "GTIN",
    "02": "contained GTIN",
    "03": "made-to-order GTIN",
    "10": "batch",
    "11": "production date",
    "12": "due date",
    "13": "packaging date",
    "15": "best-before date",
    "16": "sell-by date",
    "17": "expiry",
    "21": "serial",
    "30": "count of items",
    "37": "count of trade items",
    "240": "additional product ID",
    "91": "internal",
}
# One data component after the AI, e.g. "N2+N14", "N2+X..20", "N4+N..12".
_SIMPLE_FORMAT = re.compile(r"N\d\+([NX])(\.\.)?(\d+)")
_HRI_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]*)")
_LABEL_BATCH_MAX = 20
_LABEL_INTERNAL_MAX = 90


class BarcodeFormatError(ValueError):
    """The raw scan breaks the API contract (length, control characters, empty)."""


class Gs1Error(ValueError):
    """The scan claims to be GS1 data but is not valid GS1 data."""


@dataclass(frozen=True)
class Gs1Data:
    """What a GS1 barcode says. `ais` holds every element string, AI -> raw value."""

    gtin: str | None = None
    """AI (01), 14 digits, check digit verified."""
    batch: str | None = None
    """AI (10)."""
    expiry: date | None = None
    """AI (17); day 00 resolved to the last day of the month."""
    production: date | None = None
    """AI (11); day 00 (no day given) resolved to the first day of the month, the earliest the
    label allows, with `production_month_only` set."""
    production_month_only: bool = False
    serial: str | None = None
    """AI (21)."""
    internal: str | None = None
    """AI (91), company internal information; our own labels put the lot's identity here."""
    ais: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- raw scans


def check_raw_barcode(raw: str) -> str:
    """Validate a raw scan against the API contract and return it without its line ending.

    The contract: at most 512 characters; no control characters except GS (U+001D) anywhere and
    one trailing line ending ("\\r\\n", "\\n" or "\\r"); not empty. Positions in messages count
    from 1.

    Raises:
        BarcodeFormatError: naming what is wrong.
    """
    if len(raw) > MAX_BARCODE_LENGTH:
        msg = f"Barcode has {len(raw)} characters; at most {MAX_BARCODE_LENGTH} are allowed."
        raise BarcodeFormatError(msg)
    text = raw
    for ending in _LINE_ENDINGS:
        if text.endswith(ending):
            text = text[: -len(ending)]
            break
    if not text:
        raise BarcodeFormatError("Barcode is empty.")
    for index, char in enumerate(text):
        if char != GS and unicodedata.category(char) == "Cc":
            msg = (
                f"Barcode contains control character U+{ord(char):04X} at position "
                f"{index + 1}; only GS (U+001D) and a trailing CR/LF are allowed."
            )
            raise BarcodeFormatError(msg)
    return text


def is_gs1(text: str) -> bool:
    """Whether a checked scan is GS1 data rather than one of our own barcodes.

    True for a GS1 symbology identifier (``]d2``, ``]C1``, ``]Q3``, ``]e0``), for the
    parenthesised form (``(`` and a digit), and for bare element strings: two digits first (after
    any leading GS), then only GS1 character-set-82 characters and GS. Our own barcodes start with
    a letter, so they are never taken for GS1. True does not mean valid: `parse_gs1` decides that.
    """
    if text.startswith(tuple(GS1_SYMBOLOGY_IDENTIFIERS)):
        return True
    if len(text) >= 2 and text[0] == "(" and text[1] in ASCII_DIGITS:
        return True
    body = text.lstrip(GS)
    return (
        len(body) >= 2
        and body[0] in ASCII_DIGITS
        and body[1] in ASCII_DIGITS
        and all(char in _CSET82 or char == GS for char in body)
    )


# --------------------------------------------------------------------------- GS1 parsing


def _label(ai: GS1ApplicationIdentifier) -> str:
    return f"({ai.ai}) {_AI_NAMES.get(ai.ai, ai.data_title)}"


def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X})"


def _explain_failure(
    ai: GS1ApplicationIdentifier, data: str, exc: ParseError, *, element_mode: bool
) -> str:
    """One sentence on why biip refused `data` for `ai`, with biip's own detail."""
    label = _label(ai)
    detail = f" (biip: {exc})"
    if ai.ai in _DATE_AIS and len(data) == 6 and is_ascii_digits(data):
        return f"{label} {data!r} is not a real date.{detail}"
    match = _SIMPLE_FORMAT.fullmatch(ai.format)
    if match is not None:
        kind, variable, size_text = match.groups()
        size = int(size_text)
        if kind == "N" and not is_ascii_digits(data):
            return f"{label} {data!r} must contain only digits.{detail}"
        if variable is None and len(data) != size:
            what = f"{size} digits (YYMMDD)" if ai.ai in _DATE_AIS else f"{size} digits"
            sentence = f"{label} needs {what}; got {len(data)} ({data!r})."
            if element_mode and len(data) > size:
                sentence += " A GS separator after it may be missing."
            return sentence + detail
        if variable is not None and len(data) > size:
            sentence = (
                f"{label} {data!r} is {len(data)} characters long; at most {size} are allowed."
            )
            if element_mode:
                sentence += (
                    " A GS separator may be missing, merging it with the field that follows."
                )
            return sentence + detail
    return f"{label} {data!r} does not match the GS1 format {ai.format}.{detail}"


def _parse_element(
    ai: GS1ApplicationIdentifier, data: str, *, element_mode: bool
) -> GS1ElementString:
    """Parse one element string with biip and apply the checks biip leaves to the caller."""
    label = _label(ai)
    if not data:
        raise Gs1Error(f"{label} has no data.")
    for index, char in enumerate(data):
        if char not in _CSET82:
            msg = (
                f"{label} {data!r} contains {_describe(char)} at position {index + 1} of the "
                "value, which GS1 data cannot contain."
            )
            raise Gs1Error(msg)
    try:
        element = GS1ElementString.parse(ai.ai + data)
    except ParseError as exc:
        raise Gs1Error(_explain_failure(ai, data, exc, element_mode=element_mode)) from exc
    # biip records an invalid GTIN/SSCC/GLN in *_error and does not raise.
    if ai.ai in _GTIN_AIS:
        problem = gtin_problem(element.value)
        if problem is None and element.gtin_error is not None:
            problem = f"{label} {element.value} is not a valid GTIN."
        if problem is not None:
            detail = f" (biip: {element.gtin_error})" if element.gtin_error else ""
            raise Gs1Error(problem + detail)
    for error in (element.sscc_error, element.gln_error):
        if error is not None:
            raise Gs1Error(f"{label} {element.value} is not valid (biip: {error}).")
    return element


def _unknown_ai(text: str, position: int) -> Gs1Error:
    found = text[position : position + 12]
    return Gs1Error(
        f"No known GS1 Application Identifier at position {position + 1} (found {found!r})."
    )


def _parse_element_strings(text: str, start: int) -> list[GS1ElementString]:
    """Walk `text[start:]` as GS-separated element strings (GS1 General Specs 7.8)."""
    for index in range(start, len(text)):
        char = text[index]
        if char != GS and char not in _CSET82:
            msg = (
                f"Barcode contains {_describe(char)} at position {index + 1}, which GS1 data "
                "cannot contain."
            )
            raise Gs1Error(msg)
    elements: list[GS1ElementString] = []
    position = start
    while True:
        while position < len(text) and text[position] == GS:
            position += 1
        if position >= len(text):
            return elements
        try:
            ai = GS1ApplicationIdentifier.extract(text[position:])
        except ParseError:
            raise _unknown_ai(text, position) from None
        field_end = text.find(GS, position)
        if field_end == -1:
            field_end = len(text)
        data_start = position + len(ai.ai)
        fixed = _SIMPLE_FORMAT.fullmatch(ai.format)
        if not ai.separator_required and fixed is not None and fixed.group(2) is None:
            # Predefined length (01, 11, 17, ...): no GS needed after it.
            data_end = min(data_start + int(fixed.group(3)), field_end)
        else:
            data_end = field_end
        elements.append(_parse_element(ai, text[data_start:data_end], element_mode=True))
        position = data_end


def _parse_hri(text: str) -> list[GS1ElementString]:
    """Parse the parenthesised form strictly.

    biip's `GS1Message.parse_hri` removes all whitespace (GS included) from inside values and
    skips elements it cannot match, such as "(99)" with no data; we refuse both.
    """
    elements: list[GS1ElementString] = []
    position = 0
    while position < len(text):
        match = _HRI_ELEMENT.match(text, position)
        if match is None:
            found = text[position : position + 12]
            msg = (
                f"Expected a GS1 Application Identifier in parentheses, such as (01), at "
                f"position {position + 1} (found {found!r})."
            )
            raise Gs1Error(msg)
        ai_code, raw_value = match.groups()
        try:
            ai = GS1ApplicationIdentifier.extract(ai_code + raw_value)
        except ParseError:
            ai = None
        if ai is None or ai.ai != ai_code:
            raise Gs1Error(f"({ai_code}) is not a known GS1 Application Identifier.")
        # Spaces between elements are tolerated; inside a value they are refused (CSET 82).
        elements.append(_parse_element(ai, raw_value.strip(" "), element_mode=False))
        position = match.end()
    return elements


def _looks_like_bare_gtin(text: str) -> bool:
    return len(text) in GTIN_LENGTHS and is_valid_gtin(text)


def parse_gs1(text: str) -> Gs1Data:
    """Parse a checked scan (see `check_raw_barcode`) as GS1 data.

    Dates: day 00 in a YYMMDD field means the last day of the month (280200 -> 2028-02-29),
    except in a production date (11), where it means that no day is given: 261200 is December
    2026, read as its first day (a lot made this month is never made "in the future"). An
    impossible date (270231, 271301, 270000) is refused. Two-digit years follow GS1's
    sliding window (49 years back, 50 ahead of the current year).

    Refused, with `Gs1Error`: an unknown symbology identifier; an unknown AI; a fixed-length
    field that is truncated or not numeric; a value with characters outside GS1 character set 82
    or longer than its AI allows (often a missing GS, see the module docstring); a GTIN, SSCC or
    GLN with a wrong check digit; an all-zero GTIN; an AI repeated with a different value;
    (01) together with (02) or (37), a pair GS1's association rules forbid; a barcode with no
    element strings; and, without a symbology identifier, a bare 8/12/13/14-digit
    string with a valid GTIN check digit, which is far more likely an EAN/UPC/ITF-14 scan than a
    GS1 element string (as element strings it would read as e.g. AI 400 + a purchase order).
    """
    elements: list[GS1ElementString]
    if text.startswith("]"):
        identifier = text[:3]
        if identifier not in GS1_SYMBOLOGY_IDENTIFIERS:
            accepted = ", ".join(GS1_SYMBOLOGY_IDENTIFIERS)
            msg = (
                f"Symbology identifier {identifier!r} is not a GS1 symbology; "
                f"expected one of {accepted}."
            )
            raise Gs1Error(msg)
        elements = _parse_element_strings(text, len(identifier))
    elif text.startswith("("):
        elements = _parse_hri(text)
    else:
        if _looks_like_bare_gtin(text):
            msg = (
                f"{text!r} looks like a bare GTIN-{len(text)} (an EAN/UPC or ITF-14 barcode), "
                "not GS1 data with Application Identifiers; scan the GS1 DataMatrix or "
                "GS1-128 code, or enable symbology identifiers on the scanner."
            )
            raise Gs1Error(msg)
        elements = _parse_element_strings(text, 0)
    if not elements:
        raise Gs1Error("Barcode contains no GS1 element strings.")

    ais: dict[str, str] = {}
    dates: dict[str, date] = {}
    for element in elements:
        code = element.ai.ai
        previous = ais.get(code)
        if previous is not None and previous != element.value:
            msg = (
                f"{_label(element.ai)} appears twice with different values "
                f"({previous!r} and {element.value!r})."
            )
            raise Gs1Error(msg)
        ais[code] = element.value
        if element.date is not None:
            dates[code] = element.date
    _check_pairs(ais)
    production = dates.get("11")
    month_only = production is not None and ais["11"].endswith("00")
    if production is not None and month_only:
        production = production.replace(day=1)
    return Gs1Data(
        gtin=ais.get("01"),
        batch=ais.get("10"),
        expiry=dates.get("17"),
        production=production,
        production_month_only=month_only,
        serial=ais.get("21"),
        internal=ais.get("91"),
        ais=ais,
    )


# GS1 General Specifications 4.14.1, invalid pairs of element strings: (02) names the trade
# items contained in a logistic unit and (37) counts them; (01) names the item itself, so a
# barcode with both says two different things about what it is on.
_INVALID_PAIRS = (
    ("01", "02", "(02) names the items inside a logistic unit, (01) an item itself"),
    ("01", "37", "(37) counts the items named by (02) inside a logistic unit"),
)


def _check_pairs(ais: dict[str, str]) -> None:
    for first, second, why in _INVALID_PAIRS:
        if first in ais and second in ais:
            msg = (
                f"({first}) {_AI_NAMES[first]} and ({second}) {_AI_NAMES[second]} cannot be in "
                f"one barcode (GS1 association rules): {why}. Scan the label of the item."
            )
            raise Gs1Error(msg)


# --------------------------------------------------------------------------- labels


def _check_label_text(name: str, ai: str, value: str, max_length: int) -> None:
    if not value or len(value) > max_length:
        msg = f"({ai}) {name} must be 1 to {max_length} characters; got {len(value)}."
        raise Gs1Error(msg)
    for char in value:
        if char not in _CSET82:
            msg = (
                f"({ai}) {name} {value!r} contains {_describe(char)}, "
                "which GS1 data cannot contain."
            )
            raise Gs1Error(msg)
        if char in "()":
            msg = (
                f"({ai}) {name} {value!r} contains a parenthesis, which would make the "
                "human-readable line ambiguous."
            )
            raise Gs1Error(msg)


def gs1_element_string_for_label(
    gtin: str | None,
    expiry: date | None,
    batch: str | None,
    internal: str | None,
) -> str:
    """The human-readable GS1 line for a label: "(01)...(17)YYMMDD(10)...(91)...".

    Parts that are None are left out; the order is always 01, 17, 10, 91. The GTIN is written in
    its 14-digit form. `parse_gs1` reads the result back to the same values.

    Raises:
        Gs1Error: if a part is not valid GS1 data (bad GTIN; batch not 1-20 or internal not 1-90
            characters of character set 82; a parenthesis in either; an expiry a reader would
            place in another century) or every part is None.
    """
    parts: list[str] = []
    if gtin is not None:
        problem = gtin_problem(gtin)
        if problem is not None:
            raise Gs1Error(problem)
        parts.append(f"(01){gtin.zfill(14)}")
    if expiry is not None:
        yymmdd = expiry.strftime("%y%m%d")
        read_back = GS1ElementString.parse("17" + yymmdd).date
        if read_back != expiry:
            msg = (
                f"Expiry {expiry.isoformat()} cannot be written as (17) {yymmdd}: "
                f"a reader would take it for {read_back}."
            )
            raise Gs1Error(msg)
        parts.append(f"(17){yymmdd}")
    if batch is not None:
        _check_label_text("batch", "10", batch, _LABEL_BATCH_MAX)
        parts.append(f"(10){batch}")
    if internal is not None:
        _check_label_text("internal", "91", internal, _LABEL_INTERNAL_MAX)
        parts.append(f"(91){internal}")
    if not parts:
        raise Gs1Error("A GS1 label line needs at least one of GTIN, expiry, batch, internal.")
    return "".join(parts)
