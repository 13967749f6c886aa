"""ZPL II for Zebra-compatible thermal printers, from templates kept in the repository.

A template (`services/barcodes/zpl/<name>.zpl`) is the label format with `$name` placeholders;
this module fills them from a `Layout` in the printer's dots. The printer draws the symbol
itself: `^BC` in mode N with the Code 128 symbol values spelled as ZPL invocation codes (`>;`
start C, `>8` FNC1, `>6` to subset B, ...), so the printer encodes exactly the symbol the images
show; `^BX` quality 200 with `_` as its escape character, `_1` for FNC1 (first, for GS1, and
after each variable-length field another follows) and the symbol size fixed to the rows and
columns zint chose. Text goes through `^FH\\` as UTF-8 (`^CI28`), every character outside plain
ASCII letters, digits and a few marks written as hex, so no field data can contain `^` or `~`.

A template's identity is its name and the SHA-256 of its bytes; the dock registers versions
(services.dock.printing) and every print job records the version it used.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.barcodes.layout import Layout
from services.barcodes.symbols import LabelError, Symbol

__all__ = ["TEMPLATE_DIR", "TEMPLATE_NAMES", "Template", "format_label", "load_template"]

TEMPLATE_DIR: Final = Path(__file__).parent / "zpl"
TEMPLATE_NAMES: Final = ("lot", "unit")
_PLACEHOLDERS: Final = frozenset(
    {
        "width",
        "height",
        "symbol",
        "text",
        "banner_x",
        "banner_y",
        "banner_w",
        "banner_h",
        "banner_size",
        "banner_text_y",
        "status",
        "copies",
    }
)
_PLAIN: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:;()/+-#&'=*!?%@"
)
# Code 128 symbol values that ZPL spells with an invocation code in subsets A and B.
_SPELLED: Final = {30: ">0", 62: "><", 94: ">="}
_START: Final = {103: (">9", "A"), 104: (">:", "B"), 105: (">;", "C")}


class TemplateError(LabelError):
    """A template file cannot be read or filled in."""


@dataclass(frozen=True)
class Template:
    name: str
    body: str
    sha256: str


def load_template(name: str, folder: Path = TEMPLATE_DIR) -> Template:
    """Read and check template `name`; its identity is the SHA-256 of the file's bytes."""
    if name not in TEMPLATE_NAMES:
        raise TemplateError(
            f"Label template {name!r} is not known; use one of {', '.join(TEMPLATE_NAMES)}."
        )
    path = folder / f"{name}.zpl"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TemplateError(f"Label template file {path} cannot be read: {exc.strerror}.") from exc
    try:
        body = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise TemplateError(
            f"Label template file {path} must be ASCII; byte {exc.start + 1} is not."
        ) from exc
    try:
        used = {
            match.group("named") or match.group("braced")
            for match in string.Template.pattern.finditer(body)
            if match.group("invalid") is None and match.group("escaped") is None
        }
        invalid = [
            m for m in string.Template.pattern.finditer(body) if m.group("invalid") is not None
        ]
    except (TypeError, ValueError) as exc:  # pragma: no cover - the pattern always compiles
        raise TemplateError(f"Label template {name!r} cannot be parsed: {exc}.") from exc
    unknown = sorted(used - _PLACEHOLDERS)
    if invalid or unknown:
        raise TemplateError(
            f"Label template {name!r} has placeholders this service does not fill: "
            f"{', '.join(unknown) or 'a lone $'}; use {', '.join(sorted(_PLACEHOLDERS))}."
        )
    if not body.lstrip().startswith("^XA") or "^XZ" not in body:
        raise TemplateError(f"Label template {name!r} must start with ^XA and end with ^XZ.")
    return Template(name=name, body=body, sha256=hashlib.sha256(raw).hexdigest())


def format_label(template: Template, layout: Layout, *, copies: int = 1) -> str:
    """One label format (^XA ... ^XZ), printed `copies` times."""
    banner = layout.banner
    values = {
        "width": layout.width,
        "height": layout.height,
        "symbol": _symbol_field(layout),
        "text": "\n".join(
            f"^FO{line.x},{line.y}^A0N,{line.size},{line.size}"
            f"^FB{line.width},1,0,{'C' if line.centred else 'L'},0^FH\\^FD{_hex(line.text)}^FS"
            for line in layout.lines
        ),
        "banner_x": banner.x,
        "banner_y": banner.y,
        "banner_w": banner.width,
        "banner_h": banner.height,
        "banner_size": banner.size,
        "banner_text_y": banner.y + (banner.height - banner.size) // 2,
        "status": _hex(banner.text),
        "copies": copies,
    }
    return string.Template(template.body).substitute(values)


def _hex(text: str) -> str:
    """Field data for ^FH\\: plain characters as they are, every other one as UTF-8 hex."""
    return "".join(
        ch if ch in _PLAIN else "".join(f"\\{byte:02X}" for byte in ch.encode("utf-8"))
        for ch in text
    )


def _symbol_field(layout: Layout) -> str:
    symbol = layout.symbol
    origin = f"^FO{layout.symbol_x},{layout.symbol_y}"
    if symbol.linear:
        return (
            f"{origin}^BY{layout.module},3,{layout.bar_height}"
            f"^BCN,{layout.bar_height},N,N,N,N^FD{code128_field_data(symbol)}^FS"
        )
    size = len(symbol.rows)
    return (
        f"{origin}^BXN,{layout.module},200,{size},{size},6,_,1^FD{datamatrix_field_data(symbol)}^FS"
    )


def code128_field_data(symbol: Symbol) -> str:
    """The symbol values as ^BC mode N field data: start code, data, subset changes, FNC1."""
    start, subset = _START[symbol.values[0]]
    out = [start]
    for value in symbol.values[1:]:
        if subset == "C" and value < 100:
            out.append(f"{value:02d}")
        elif subset != "C" and value < (95 if subset == "B" else 64):
            out.append(_SPELLED.get(value, chr(value + 32)))
        elif value < 95:  # subset A's control characters
            raise LabelError(
                f"Code 128 of {symbol.hri!r} needs control characters that ZPL cannot carry."
            )
        else:  # 95..102 are >1..>8; 99, 100 and 101 change subset where they mean CODE x
            out.append(f">{value - 94}")
            if value == 99:
                subset = "C"
            elif value == 100 and subset != "B":
                subset = "B"
            elif value == 101 and subset != "A":
                subset = "A"
    return "".join(out)


def datamatrix_field_data(symbol: Symbol) -> str:
    """^BX field data with `_` as the escape character: FNC1 is `_1`, a literal `_` is `__`."""
    if not symbol.gs1:
        return symbol.text.replace("_", "__")
    data = "_1"
    for index, element in enumerate(symbol.elements):
        data += element.ai + element.value.replace("_", "__")
        if element.variable and index < len(symbol.elements) - 1:
            data += "_1"
    return data
