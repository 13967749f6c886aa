"""The barcode symbols on our labels: what they carry and their modules, from real encoders.

A label's data is a list of GS1 element strings when the component type has a GTIN — (01) GTIN,
(17) expiry, (10) supplier lot and (91) our lot code on a lot label; (01)(17)(10)(21) on a unit
label when the supplier gave the unit a serial — or else a plain code the service assigns (our
lot code or unit barcode). Either is drawn as a linear symbol (GS1-128 / Code 128, encoded by
python-barcode) or as a Data Matrix (ECC 200, GS1 mode with FNC1 first, encoded by zint).

The same symbol feeds every output: the module pattern for SVG, PNG and PDF, and the symbol
values for ZPL, so what a printer draws is what the images show.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

# python-barcode ships no type information; the ignore is local to this import and
# "unused-ignore" keeps it quiet when the project config already ignores the package.
import barcode  # type: ignore[import-untyped, unused-ignore]
import zint

__all__ = [
    "Element",
    "LabelError",
    "Symbol",
    "Symbology",
    "code128",
    "datamatrix",
    "display",
    "gs1_128",
    "lot_elements",
    "plain_code",
    "unit_elements",
]

Symbology = Literal["auto", "gs1-128", "datamatrix"]


class LabelError(ValueError):
    """The label data cannot be encoded or laid out; the message is a sentence naming the value."""


# GS1 General Specifications, figure 7.11-1: the 82 characters allowed in alphanumeric AIs.
_GS1_CSET82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_CODE128_PRINTABLE: Final = frozenset(chr(c) for c in range(0x20, 0x7F))
_CODE128_MAX_LEN: Final = 48
_FNC1: Final = "\xf1"  # python-barcode's stand-in for the FNC1 symbol character (value 102)
_GTIN_LENGTHS: Final = (8, 12, 13, 14)
_AI_MAX_LEN: Final = {"10": 20, "21": 20, "91": 90}
_FIXED_LENGTH_AIS: Final = frozenset({"01", "17"})


@dataclass(frozen=True)
class Element:
    """One GS1 element string: application identifier and value."""

    ai: str
    value: str

    @property
    def variable(self) -> bool:
        return self.ai not in _FIXED_LENGTH_AIS


@dataclass(frozen=True)
class Symbol:
    """An encoded symbol.

    `rows` are the dark modules, "1" dark and "0" light, quiet zones excluded: one row for a
    linear symbol, a square of rows for a Data Matrix. `values` are the Code 128 symbol values
    (start character first, no check character) of a linear symbol, what ZPL's ^BC is told.
    `elements` are the GS1 element strings (empty for a plain code), `text` the plain code.
    """

    kind: Literal["gs1-128", "code128", "datamatrix"]
    rows: tuple[str, ...]
    hri: str
    elements: tuple[Element, ...] = ()
    text: str = ""
    values: tuple[int, ...] = ()

    @property
    def linear(self) -> bool:
        return self.kind != "datamatrix"

    @property
    def gs1(self) -> bool:
        return bool(self.elements)

    @property
    def width_modules(self) -> int:
        return len(self.rows[0])


# --- validation ----------------------------------------------------------------------------------


def display(value: str, what: str) -> str:
    """Text that is only printed: whitespace folded, control characters refused."""
    folded = " ".join(value.split())
    if not folded:
        raise LabelError(f"{what} {value!r} is empty and cannot be printed on a label.")
    bad = sorted(
        {ch for ch in folded if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"}
    )
    if bad:
        raise LabelError(
            f"{what} {value!r} contains control characters that cannot be printed: "
            f"{', '.join(repr(ch) for ch in bad)}."
        )
    return folded


def plain_code(value: str, what: str) -> str:
    """A code the service assigns, checked for Code 128 (and so for Data Matrix too)."""
    if not value:
        raise LabelError(f"{what} is empty; an empty value cannot be encoded in Code 128.")
    bad = sorted({ch for ch in value if ch not in _CODE128_PRINTABLE})
    if bad:
        # python-barcode itself would accept some of these and encode "\xf1" as FNC1, or fail
        # on others deep in its charset switching, so refuse them here with a readable message.
        raise LabelError(
            f"{what} {value!r} cannot be encoded in Code 128: only printable ASCII is allowed, "
            f"not {', '.join(repr(ch) for ch in bad)}."
        )
    if len(value) > _CODE128_MAX_LEN:
        raise LabelError(
            f"{what} {value!r} is {len(value)} characters long; a label barcode holds at most "
            f"{_CODE128_MAX_LEN}."
        )
    return value


def _cset82(value: str, what: str, ai: str) -> str:
    if not value:
        raise LabelError(f"{what} is empty; GS1 AI ({ai}) needs at least one character.")
    bad = sorted({ch for ch in value if ch not in _GS1_CSET82})
    if bad:
        raise LabelError(
            f"{what} {value!r} cannot be encoded in GS1 AI ({ai}): "
            f"{', '.join(repr(ch) for ch in bad)} "
            f"{'is' if len(bad) == 1 else 'are'} outside GS1 character set 82."
        )
    if len(value) > _AI_MAX_LEN[ai]:
        raise LabelError(
            f"{what} {value!r} is {len(value)} characters long; GS1 AI ({ai}) allows at most "
            f"{_AI_MAX_LEN[ai]}."
        )
    return value


def _gtin14(gtin: str) -> str:
    if not (gtin.isascii() and gtin.isdigit() and len(gtin) in _GTIN_LENGTHS):
        raise LabelError(f"GTIN {gtin!r} is not a GTIN: it must be 8, 12, 13 or 14 digits.")
    padded = gtin.zfill(14)
    body, check = padded[:13], int(padded[13])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    expected = (10 - total % 10) % 10
    if check != expected:
        raise LabelError(f"GTIN {gtin!r} has check digit {check}, but its digits give {expected}.")
    return padded


def lot_elements(
    *, gtin: str, expiry: date | None, supplier_lot: str, lot_code: str
) -> tuple[Element, ...]:
    """(01) GTIN, (17) expiry YYMMDD when there is one, (10) supplier lot, (91) our lot code."""
    elements = [Element("01", _gtin14(gtin))]
    if expiry is not None:
        elements.append(Element("17", expiry.strftime("%y%m%d")))
    elements.append(Element("10", _cset82(supplier_lot, "Supplier lot", "10")))
    elements.append(Element("91", _cset82(lot_code, "Lot code", "91")))
    return tuple(elements)


def unit_elements(
    *, gtin: str, expiry: date | None, supplier_lot: str, serial: str
) -> tuple[Element, ...]:
    """(01) GTIN, (17) expiry, (10) supplier lot, (21) the supplier's serial: a unit as its
    supplier would mark it, which the line resolves by GTIN and serial."""
    elements = [Element("01", _gtin14(gtin))]
    if expiry is not None:
        elements.append(Element("17", expiry.strftime("%y%m%d")))
    elements.append(Element("10", _cset82(supplier_lot, "Supplier lot", "10")))
    elements.append(Element("21", _cset82(serial, "Serial", "21")))
    return tuple(elements)


def hri(elements: tuple[Element, ...]) -> str:
    """The human-readable interpretation, "(01)...(17)...(10)...(91)..."."""
    return "".join(f"({e.ai}){e.value}" for e in elements)


# --- linear: GS1-128 and Code 128 -----------------------------------------------------------------


def gs1_128(elements: tuple[Element, ...]) -> Symbol:
    # (01) and (17) are predefined fixed-length AIs and need no separator; a variable-length
    # field followed by another ends with FNC1. python-barcode's Gs1_128 prepends the leading
    # FNC1 itself and encodes every further "\xf1" as the FNC1 symbol character, which
    # scanners transmit as GS (0x1d).
    data = ""
    for index, element in enumerate(elements):
        data += element.ai + element.value
        if element.variable and index < len(elements) - 1:
            data += _FNC1
    return _linear("gs1-128", "gs1_128", data, hri(elements), elements=elements)


def code128(value: str) -> Symbol:
    return _linear("code128", "code128", value, value, text=value)


def _linear(
    kind: Literal["gs1-128", "code128"],
    name: str,
    data: str,
    hri_text: str,
    *,
    elements: tuple[Element, ...] = (),
    text: str = "",
) -> Symbol:
    encoder = barcode.get_barcode_class(name)(data)
    pattern: str = encoder.build()[0]
    values = tuple(int(v) for v in encoder.encoded)
    return Symbol(kind, (pattern,), hri_text, elements=elements, text=text, values=values)


# --- Data Matrix ---------------------------------------------------------------------------------


def datamatrix(*, elements: tuple[Element, ...] = (), text: str = "") -> Symbol:
    """ECC 200, square. With `elements`, GS1 mode: FNC1 first, FNC1 after each variable-length
    field that another follows (transmitted as GS), as ISO/IEC 16022 and GS1 ask."""
    symbol = zint.Symbol()
    symbol.symbology = zint.Symbology.DATAMATRIX
    symbol.option_3 = zint.DataMatrixOptions.SQUARE
    symbol.warn_level = zint.WarningLevel.FAIL_ALL  # a GS1 warning (bad check digit) refuses
    if elements:
        symbol.input_mode = zint.InputMode.GS1 | zint.InputMode.GS1PARENS
        source = hri(elements)
    else:
        source = text
    try:
        symbol.encode(source)
    except RuntimeError as exc:  # zint reports bad data as an error with its own sentence
        raise LabelError(f"Data Matrix cannot encode {source!r}: {exc}.") from exc
    data = symbol.encoded_data
    # zint packs each row's modules as bits, least significant first.
    rows = tuple(
        "".join("1" if (data[y, x >> 3] >> (x & 7)) & 1 else "0" for x in range(symbol.width))
        for y in range(symbol.rows)
    )
    return Symbol(
        "datamatrix", rows, hri(elements) if elements else text, elements=elements, text=text
    )
