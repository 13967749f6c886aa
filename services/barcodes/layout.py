"""Labels laid out on fixed stock: the symbol at its X-dimension, text that wraps or shrinks.

Everything is placed on the printer's dot grid (203 or 300 dpi; images use 300), so a module is
a whole number of dots: linear symbols at X = 0.25 mm or just over (2 dots at 203 dpi, 3 at
300), with quiet zones of 10 X each side; Data Matrix at 0.75 mm on 4-inch stock and 0.5 mm on
2-inch stock, with a quiet zone of one module. The symbol never shrinks to fit: a linear symbol
wider than the stock is refused (`DoesNotFit`), and `symbology="auto"` then draws the same data
as a Data Matrix.

Text is measured as a monospaced font (advance 0.6 em, DejaVu Sans Mono's 0.602): the thermal
printer's scalable font 0 and the PDF/PNG font are no wider. The type name wraps over at most
two lines and shrinks, and is cut with an ellipsis only at the smallest size; every other line
(lot, serial, expiry) wraps or shrinks but is never cut: if it cannot fit, the label is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

from services.barcodes.symbols import LabelError, Symbol

__all__ = [
    "STOCKS",
    "Banner",
    "DoesNotFit",
    "Layout",
    "Stock",
    "StockName",
    "TextLine",
    "lay_out",
]

StockName = Literal["100x50mm", "4x2in", "2x1in"]


class DoesNotFit(LabelError):
    """The label's symbol or text does not fit its stock."""


@dataclass(frozen=True)
class Stock:
    name: StockName
    width_mm: float
    height_mm: float

    @property
    def small(self) -> bool:
        return self.height_mm < 40


STOCKS: Final[dict[str, Stock]] = {
    "100x50mm": Stock("100x50mm", 100.0, 50.0),
    "4x2in": Stock("4x2in", 101.6, 50.8),
    "2x1in": Stock("2x1in", 50.8, 25.4),
}

_LINEAR_X_MM: Final = 0.25
_LINEAR_QUIET: Final = 10  # modules each side, GS1's minimum for GS1-128
_CHAR_EM: Final = 0.6
_PITCH: Final = 1.2  # line height as a multiple of the font size


@dataclass(frozen=True)
class _Sizes:
    edge: float  # blank border kept on every side, mm
    bar_height: float
    title: float  # font heights, mm
    line: float
    hri: float
    banner: float
    smallest: float
    matrix_x: float  # Data Matrix module, mm


_BIG: Final = _Sizes(
    edge=1.5, bar_height=10.0, title=3.6, line=3.0, hri=2.6, banner=3.4, smallest=1.8, matrix_x=0.75
)
_SMALL: Final = _Sizes(
    edge=1.0, bar_height=6.0, title=2.4, line=2.2, hri=2.0, banner=2.2, smallest=1.6, matrix_x=0.5
)


@dataclass(frozen=True)
class TextLine:
    text: str
    x: int  # left edge of the line's box, dots
    y: int  # top of the line, dots
    size: int  # font height, dots
    width: int  # width of the line's box, dots
    centred: bool = False


@dataclass(frozen=True)
class Banner:
    """The lot status at printing, white on black across the foot of the label."""

    text: str
    x: int
    y: int
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class Layout:
    stock: Stock
    dpi: int
    width: int  # dots
    height: int
    symbol: Symbol
    symbol_x: int  # top-left corner of the first module, quiet zone excluded
    symbol_y: int
    module: int  # dots per module (X-dimension)
    bar_height: int  # height of a linear symbol's bars; a matrix is module * rows high
    lines: tuple[TextLine, ...]  # the linear symbol's human-readable line first, if any
    banner: Banner

    @property
    def x_mm(self) -> float:
        return self.module * 25.4 / self.dpi


def dots(mm: float, dpi: int) -> int:
    return round(mm * dpi / 25.4)


def module_dots(mm: float, dpi: int) -> int:
    """The smallest whole number of dots at least `mm` wide (within a rounding hair)."""
    return max(1, math.ceil(mm * dpi / 25.4 - 0.01))


def linear_fits(symbol: Symbol, stock: Stock, dpi: int) -> bool:
    module = module_dots(_LINEAR_X_MM, dpi)
    return (symbol.width_modules + 2 * _LINEAR_QUIET) * module <= dots(stock.width_mm, dpi)


def lay_out(
    symbol: Symbol,
    *,
    title: str,
    lines: tuple[str, ...],
    status: str,
    stock: Stock,
    dpi: int,
) -> Layout:
    """Place `symbol`, the `title` (the type name), the other `lines` and the status banner."""
    sizes = _SMALL if stock.small else _BIG
    width, height = dots(stock.width_mm, dpi), dots(stock.height_mm, dpi)
    edge = dots(sizes.edge, dpi)
    gap = dots(1.0, dpi)
    banner_size = dots(sizes.banner, dpi)
    banner_height = round(banner_size * 1.5)
    banner_y = height - edge - banner_height
    banner_text = _shrink_one(status, width - 2 * edge, banner_size, dots(sizes.smallest, dpi))
    banner = Banner(banner_text[0], edge, banner_y, width - 2 * edge, banner_height, banner_text[1])
    texts: list[TextLine] = []
    if symbol.linear:
        module = module_dots(_LINEAR_X_MM, dpi)
        span = (symbol.width_modules + 2 * _LINEAR_QUIET) * module
        if span > width:
            raise DoesNotFit(
                f"{'GS1-128' if symbol.gs1 else 'Code 128'} of {symbol.hri!r} is "
                f"{span * 25.4 / dpi:.1f} mm wide at X-dimension {module * 25.4 / dpi:.3f} mm "
                f"with its quiet zones; stock {stock.name} is {stock.width_mm:g} mm wide. Print "
                "symbology=datamatrix, which carries the same data."
            )
        bar_height = dots(sizes.bar_height, dpi)
        symbol_x = (width - symbol.width_modules * module) // 2
        symbol_y = edge
        hri_size = dots(sizes.hri, dpi)
        hri_text, hri_size = _shrink_one(symbol.hri, width - 2 * edge, hri_size, dots(1.4, dpi))
        hri_y = symbol_y + bar_height + gap // 2
        texts.append(TextLine(hri_text, edge, hri_y, hri_size, width - 2 * edge, centred=True))
        text_x, text_top = edge, hri_y + round(hri_size * _PITCH) + gap // 2
    else:
        module = module_dots(sizes.matrix_x, dpi)
        bar_height = module * len(symbol.rows)
        symbol_x = symbol_y = edge + module
        if symbol_y + bar_height + module > banner_y:
            raise DoesNotFit(
                f"A Data Matrix of {len(symbol.rows)} x {len(symbol.rows)} modules does not fit "
                f"above the status line of stock {stock.name}."
            )
        text_x = symbol_x + symbol.width_modules * module + module + dots(1.5, dpi)
        text_top = edge
    texts += _fit_text(
        title,
        lines,
        x=text_x,
        top=text_top,
        width=width - edge - text_x,
        height=banner_y - gap // 2 - text_top,
        sizes=sizes,
        dpi=dpi,
        stock=stock,
    )
    return Layout(
        stock=stock,
        dpi=dpi,
        width=width,
        height=height,
        symbol=symbol,
        symbol_x=symbol_x,
        symbol_y=symbol_y,
        module=module,
        bar_height=bar_height,
        lines=tuple(texts),
        banner=banner,
    )


# --- text ----------------------------------------------------------------------------------------


def _chars(width: int, size: int) -> int:
    return max(1, int(width / (_CHAR_EM * size)))


def _shrink_one(text: str, width: int, size: int, smallest: int) -> tuple[str, int]:
    """One line: the largest size up to `size` at which `text` fits, else cut at `smallest`."""
    fitting = min(size, int(width / (_CHAR_EM * max(1, len(text)))))
    if fitting >= smallest:
        return text, fitting
    return _cut(text, _chars(width, smallest)), smallest


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(0, chars - 1)].rstrip() + "\u2026"


def _wrap(text: str, chars: int) -> list[str]:
    """Greedy word wrap; a word longer than a line is broken where the line ends."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        while len(word) > chars:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:chars])
            word = word[chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= chars:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _fit_text(
    title: str,
    lines: tuple[str, ...],
    *,
    x: int,
    top: int,
    width: int,
    height: int,
    sizes: _Sizes,
    dpi: int,
    stock: Stock,
) -> list[TextLine]:
    smallest = dots(sizes.smallest, dpi)
    scale = 1.0
    while True:
        title_size = max(smallest, round(dots(sizes.title, dpi) * scale))
        line_size = max(smallest, round(dots(sizes.line, dpi) * scale))
        wrapped = _wrap(title, _chars(width, title_size))
        if len(wrapped) > 2:
            wrapped = [wrapped[0], _cut(" ".join(wrapped[1:]), _chars(width, title_size))]
        blocks = [(wrapped, title_size)]
        blocks += [(_wrap(line, _chars(width, line_size)), line_size) for line in lines]
        needed = sum(round(size * _PITCH) * len(block) for block, size in blocks)
        too_long = any(len(block) > 2 for block, _ in blocks[1:])
        if needed <= height and not too_long:
            break
        if title_size == smallest and line_size == smallest:
            raise DoesNotFit(
                f"The text of this label ({title!r}, {', '.join(map(repr, lines))}) does not "
                f"fit stock {stock.name} even at the smallest type; use a larger stock."
            )
        scale -= 0.05
    placed: list[TextLine] = []
    y = top
    for block, size in blocks:
        for text in block:
            placed.append(TextLine(text, x, y, size, width))
            y += round(size * _PITCH)
    return placed
