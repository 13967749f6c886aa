"""Printable labels for lots and units: GS1-128 / Code 128 barcodes as SVG or PNG.

Pure Python, no FastAPI, no database. SVG goes through python-barcode's ``SVGWriter`` and works
without Pillow; PNG needs Pillow, which is imported only when a PNG is asked for.

Geometry is laid out on a 300 dpi pixel grid so SVG and PNG labels match: X-dimension 3 px
(0.254 mm, the GS1 minimum for non-retail healthcare items is 0.250 mm), bars 12 mm high and a
quiet zone of 12 X on each side (GS1 asks for at least 10 X).

PNG bars are rasterised from python-barcode's module pattern (``Barcode.build()``) on whole
pixels rather than through ``ImageWriter``: ``ImageWriter`` converts mm to fractional pixels and
draws every bar one pixel short (``mm2px(x + width) - 1``), which at 3 px per module prints
2 px bars next to 4 px spaces.
"""

from __future__ import annotations

import io
import os
import unicodedata
import xml.dom.minidom
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Literal

# python-barcode ships no type information; the ignore is local to these two imports and
# "unused-ignore" keeps it quiet when the project config already ignores the package.
import barcode  # type: ignore[import-untyped, unused-ignore]
from barcode.writer import SVGWriter  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "PNG_MEDIA_TYPE",
    "SVG_MEDIA_TYPE",
    "LabelError",
    "LabelFormat",
    "LabelText",
    "lot_label",
    "unit_label",
]

LabelFormat = Literal["svg", "png"]

SVG_MEDIA_TYPE: Final = "image/svg+xml"
PNG_MEDIA_TYPE: Final = "image/png"


class LabelError(ValueError):
    """The label data cannot be encoded; the message is a sentence naming the value."""


@dataclass(frozen=True)
class LabelText:
    """The human-readable lines printed under the barcode's own text, top to bottom."""

    lines: tuple[str, ...]


# --- geometry (pixels on a 300 dpi grid) -----------------------------------------------------

DPI: Final = 300
_MM_PER_PX: Final = 25.4 / DPI
_MODULE_PX: Final = 3  # X-dimension 0.254 mm
_QUIET_PX: Final = 12 * _MODULE_PX  # 3.05 mm, GS1 minimum is 10 X
_BAR_HEIGHT_PX: Final = 142  # 12.0 mm
_MARGIN_PX: Final = 24  # 2.0 mm around the printed area
_HRI_FONT_PX: Final = 33  # ~8 pt, the barcode's own human-readable line
_LINE_FONT_PX: Final = 38  # ~9 pt, the extra text lines
_TEXT_GAP_PX: Final = 12  # between the bars and the top of the first line of text
_LINE_PITCH: Final = 1.3  # line height as a multiple of the font size
_ASCENT: Final = 0.8  # baseline below the top of a line, as a multiple of the font size
_DESCENT: Final = 0.25
# Advance of DejaVu Sans Mono is 0.602 em; used to size the SVG, whose font is the viewer's.
_SVG_CHAR_EM: Final = 0.62
_FONT_FAMILY: Final = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_FONT_PATH: Final = os.path.join(os.path.dirname(barcode.__file__), "fonts", "DejaVuSansMono.ttf")

# --- encodable data ----------------------------------------------------------------------------

# GS1 General Specifications, figure 7.11-1: the 82 characters allowed in alphanumeric AIs.
_GS1_CSET82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_CODE128_PRINTABLE: Final = frozenset(chr(c) for c in range(0x20, 0x7F))
_CODE128_MAX_LEN: Final = 48
_FNC1: Final = "\xf1"  # python-barcode's stand-in for the FNC1 symbol character (value 102)
_GTIN_LENGTHS: Final = (8, 12, 13, 14)
_AI10_MAX_LEN: Final = 20
_AI91_MAX_LEN: Final = 90


@dataclass(frozen=True)
class _Symbol:
    kind: Literal["gs1_128", "code128"]  # python-barcode's name for the symbology
    data: str  # what python-barcode encodes ("\xf1" is FNC1 in GS1-128)
    hri: str  # the human-readable interpretation printed right under the bars

    def barcode(self, writer: object | None = None) -> Any:
        return barcode.get_barcode_class(self.kind)(self.data, writer=writer)

    @property
    def modules(self) -> str:
        """The module pattern: "1" bar, "0" space, quiet zones excluded."""
        pattern: str = self.barcode().build()[0]
        return pattern


def lot_label(
    *,
    lot_code: str,
    gtin: str | None,
    expiry: date | None,
    supplier_lot: str,
    type_name: str,
    fmt: LabelFormat,
) -> tuple[bytes, str]:
    """Render a lot label; returns ``(content, media_type)``.

    With a GTIN the barcode is GS1-128 carrying (01) GTIN, (17) expiry YYMMDD when there is one,
    (10) supplier lot and (91) our lot code, with FNC1 as separator after the variable-length
    (10). Without a GTIN it is a Code 128 of the lot code.
    """
    _check_format(fmt)
    text = LabelText(
        lines=tuple(
            line
            for line in (
                _display(type_name, "Type name"),
                f"Lot {_display(supplier_lot, 'Supplier lot')}",
                _expiry_line(expiry),
                # the Code 128 human-readable line already is the lot code
                _display(lot_code, "Lot code") if gtin is not None else None,
            )
            if line is not None
        )
    )
    if gtin is None:
        symbol = _code128(_code128_value(lot_code, "Lot code"))
    else:
        symbol = _gs1_lot_symbol(
            gtin=gtin, expiry=expiry, supplier_lot=supplier_lot, lot_code=lot_code
        )
    return _render(symbol, text, fmt)


def unit_label(
    *,
    barcode: str,
    type_name: str,
    lot_code: str,
    expiry: date | None,
    serial: str | None,
    fmt: LabelFormat,
) -> tuple[bytes, str]:
    """Render a unit label (Code 128 of the unit barcode); returns ``(content, media_type)``."""
    _check_format(fmt)
    symbol = _code128(_code128_value(barcode, "Unit barcode"))
    lines = [_display(type_name, "Type name"), _display(lot_code, "Lot code")]
    if serial:
        lines.append(f"SN {_display(serial, 'Serial')}")
    lines.append(_expiry_line(expiry))
    return _render(symbol, LabelText(lines=tuple(lines)), fmt)


# --- validation and encoding ---------------------------------------------------------------------


def _check_format(fmt: str) -> None:
    if fmt not in ("svg", "png"):
        raise LabelError(f"Label format {fmt!r} is not supported; use 'svg' or 'png'.")


def _display(value: str, what: str) -> str:
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


def _expiry_line(expiry: date | None) -> str:
    return "No expiry" if expiry is None else f"Exp {expiry.isoformat()}"


def _code128_value(value: str, what: str) -> str:
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


def _gs1_cset82(value: str, what: str, ai: str, max_len: int) -> str:
    if not value:
        raise LabelError(f"{what} is empty; GS1 AI ({ai}) needs at least one character.")
    bad = sorted({ch for ch in value if ch not in _GS1_CSET82})
    if bad:
        raise LabelError(
            f"{what} {value!r} cannot be encoded in GS1 AI ({ai}): "
            f"{', '.join(repr(ch) for ch in bad)} "
            f"{'is' if len(bad) == 1 else 'are'} outside GS1 character set 82."
        )
    if len(value) > max_len:
        raise LabelError(
            f"{what} {value!r} is {len(value)} characters long; GS1 AI ({ai}) allows at most "
            f"{max_len}."
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


def _gs1_lot_symbol(*, gtin: str, expiry: date | None, supplier_lot: str, lot_code: str) -> _Symbol:
    # (01) and (17) are predefined fixed-length AIs and need no separator. (10) is variable
    # length, so FNC1 ends it because (91) follows; the last field needs no separator.
    # python-barcode's Gs1_128 prepends the leading FNC1 itself and encodes every further
    # "\xf1" in the data as the FNC1 symbol character, which scanners transmit as GS (0x1d).
    fields: list[tuple[str, str, bool]] = [("01", _gtin14(gtin), False)]
    if expiry is not None:
        fields.append(("17", expiry.strftime("%y%m%d"), False))
    fields.append(("10", _gs1_cset82(supplier_lot, "Supplier lot", "10", _AI10_MAX_LEN), True))
    fields.append(("91", _gs1_cset82(lot_code, "Lot code", "91", _AI91_MAX_LEN), True))

    data = ""
    hri = ""
    for index, (ai, value, variable) in enumerate(fields):
        data += ai + value
        hri += f"({ai}){value}"
        if variable and index < len(fields) - 1:
            data += _FNC1
    return _Symbol(kind="gs1_128", data=data, hri=hri)


def _code128(value: str) -> _Symbol:
    return _Symbol(kind="code128", data=value, hri=value)


# --- layout --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    text: str
    font_px: int
    baseline_px: float


@dataclass(frozen=True)
class _Layout:
    width_px: int
    height_px: int
    bars_x_px: int
    bars_width_px: int
    lines: tuple[_Line, ...]  # the first is the barcode's human-readable line


def _layout(symbol: _Symbol, text: LabelText, measure: Callable[[str, int], float]) -> _Layout:
    bars_width = len(symbol.modules) * _MODULE_PX
    texts = [(symbol.hri, _HRI_FONT_PX), *((line, _LINE_FONT_PX) for line in text.lines)]
    text_width = max(measure(t, size) for t, size in texts)
    width = max(bars_width + 2 * _QUIET_PX, int(text_width + 0.999) + 2 * _MARGIN_PX)
    width += (width - bars_width) % 2  # centre the bars on whole pixels
    bars_bottom = _MARGIN_PX + _BAR_HEIGHT_PX
    lines: list[_Line] = []
    top = float(bars_bottom + _TEXT_GAP_PX)
    for line_text, size in texts:
        lines.append(_Line(line_text, size, top + _ASCENT * size))
        top += _LINE_PITCH * size
    last = lines[-1]
    height = int(last.baseline_px + _DESCENT * last.font_px + 0.999) + _MARGIN_PX
    return _Layout(
        width_px=width,
        height_px=height,
        bars_x_px=(width - bars_width) // 2,
        bars_width_px=bars_width,
        lines=tuple(lines),
    )


def _runs(modules: str) -> Iterator[tuple[int, int]]:
    """Yield (first module, module count) of every bar."""
    start = -1
    for i, module in enumerate(modules + "0"):
        if module == "1" and start < 0:
            start = i
        elif module != "1" and start >= 0:
            yield start, i - start
            start = -1


def _render(symbol: _Symbol, text: LabelText, fmt: LabelFormat) -> tuple[bytes, str]:
    if fmt == "svg":
        return _render_svg(symbol, text), SVG_MEDIA_TYPE
    return _render_png(symbol, text), PNG_MEDIA_TYPE


# --- SVG -----------------------------------------------------------------------------------------


def _mm(px: float) -> float:
    return px * _MM_PER_PX


def _mm_attr(px: float) -> str:
    return f"{_mm(px):.3f}mm"


def _render_svg(symbol: _Symbol, text: LabelText) -> bytes:
    layout = _layout(symbol, text, lambda t, size: len(t) * _SVG_CHAR_EM * size)
    hri = layout.lines[0]
    # The writer lays out quiet zone + bars + quiet zone and puts the baseline of its text
    # text_distance below the bars; feeding it the layout's numbers makes both agree.
    writer = SVGWriter()
    options = {
        "module_width": _mm(_MODULE_PX),
        "module_height": _mm(_BAR_HEIGHT_PX),
        "quiet_zone": _mm(layout.bars_x_px),
        "margin_top": _mm(_MARGIN_PX),
        "margin_bottom": _mm(_MARGIN_PX),
        "font_size": hri.font_px * 72 / DPI,  # points
        "text_distance": _mm(hri.baseline_px - _MARGIN_PX - _BAR_HEIGHT_PX),
        "text_line_distance": 0,
        "center_text": True,
        "background": "white",
        "foreground": "black",
        "write_text": True,
        "with_doctype": False,
        "compress": False,  # "compress" only means un-indented output, never gzip, in render()
    }
    # Code128.render() defaults to 0.2 mm modules and a 2.54 mm quiet zone; both are overridden.
    rendered: bytes = symbol.barcode(writer).render(options, hri.text)

    # The document is our own writer output: no DTD, no entities.
    document = xml.dom.minidom.parseString(rendered)
    root = document.documentElement
    if root is None:  # pragma: no cover - the writer always produces an <svg> root
        raise RuntimeError("python-barcode produced an SVG without a root element")
    root.setAttribute("width", _mm_attr(layout.width_px))
    root.setAttribute("height", _mm_attr(layout.height_px))
    root.setAttribute("font-family", _FONT_FAMILY)
    group = document.createElement("g")
    group.setAttribute("id", "label_text")
    root.appendChild(group)
    for line in layout.lines[1:]:
        element = document.createElement("text")
        element.setAttribute("x", _mm_attr(layout.width_px / 2))
        element.setAttribute("y", _mm_attr(line.baseline_px))
        element.setAttribute(
            "style", f"fill:black;font-size:{_mm(line.font_px):.3f}mm;text-anchor:middle;"
        )
        # minidom escapes &, < and > in text nodes and quotes in attributes
        element.appendChild(document.createTextNode(line.text))
        group.appendChild(element)
    return document.toxml(encoding="UTF-8")


# --- PNG -----------------------------------------------------------------------------------------


def _render_png(symbol: _Symbol, text: LabelText) -> bytes:
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
        raise RuntimeError(
            "PNG labels need Pillow (the 'png' extra); SVG labels work without it."
        ) from exc

    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}

    def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if size not in fonts:
            try:
                fonts[size] = ImageFont.truetype(_FONT_PATH, size)
            except OSError:
                fonts[size] = ImageFont.load_default(size)
        return fonts[size]

    layout = _layout(symbol, text, lambda t, size: font(size).getlength(t))
    image = Image.new("L", (layout.width_px, layout.height_px), 255)
    draw = ImageDraw.Draw(image)
    for first, count in _runs(symbol.modules):
        x0 = layout.bars_x_px + first * _MODULE_PX
        # rectangle() corners are inclusive pixels
        draw.rectangle(
            (x0, _MARGIN_PX, x0 + count * _MODULE_PX - 1, _MARGIN_PX + _BAR_HEIGHT_PX - 1), fill=0
        )
    for line in layout.lines:
        draw.text(
            (layout.width_px / 2, line.baseline_px),
            line.text,
            font=font(line.font_px),
            fill=0,
            anchor="ms",
        )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()
