"""A laid-out label as SVG (millimetres, no Pillow needed) or PNG (Pillow, 300 dpi).

Both draw the symbol from its module rows on whole dots of the layout's grid, so bars and cells
are crisp: no bar gain or loss, which a scanner's decoder and a verifier both care about.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Final

import barcode  # type: ignore[import-untyped, unused-ignore]

from services.barcodes.layout import Layout

__all__ = ["FONT_PATH", "module_runs", "png", "svg"]

FONT_PATH: Final = os.path.join(os.path.dirname(barcode.__file__), "fonts", "DejaVuSansMono.ttf")
_FONT_FAMILY: Final = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_ASCENT: Final = 0.8  # baseline below the top of a line, as a multiple of the font size


def module_runs(row: str) -> Iterator[tuple[int, int]]:
    """Yield (first module, module count) of every dark run of a row."""
    start = -1
    for i, module in enumerate(row + "0"):
        if module == "1" and start < 0:
            start = i
        elif module != "1" and start >= 0:
            yield start, i - start
            start = -1


def _rects(layout: Layout) -> Iterator[tuple[int, int, int, int]]:
    """Dark rectangles of the symbol as (x, y, width, height) in dots."""
    module = layout.module
    row_height = layout.bar_height if layout.symbol.linear else module
    for r, row in enumerate(layout.symbol.rows):
        for first, count in module_runs(row):
            yield (
                layout.symbol_x + first * module,
                layout.symbol_y + r * row_height,
                count * module,
                row_height,
            )


# --- SVG -----------------------------------------------------------------------------------------


def svg(layout: Layout) -> bytes:
    def mm(value: float) -> str:
        return f"{value * 25.4 / layout.dpi:.3f}"

    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            # the stock's own size; the dot grid inside it rounds to a hair less or more
            "width": f"{layout.stock.width_mm:.3f}mm",
            "height": f"{layout.stock.height_mm:.3f}mm",
            "viewBox": f"0 0 {layout.stock.width_mm:.3f} {layout.stock.height_mm:.3f}",
            "font-family": _FONT_FAMILY,
        },
    )
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": "white"})
    bars = ET.SubElement(root, "g", {"id": "symbol", "fill": "black"})
    for x, y, w, h in _rects(layout):
        ET.SubElement(bars, "rect", {"x": mm(x), "y": mm(y), "width": mm(w), "height": mm(h)})
    text = ET.SubElement(root, "g", {"id": "label_text", "fill": "black"})
    for line in layout.lines:
        attributes = {
            "x": mm(line.x + line.width / 2 if line.centred else line.x),
            "y": mm(line.y + _ASCENT * line.size),
            "font-size": mm(line.size),
        }
        if line.centred:
            attributes["text-anchor"] = "middle"
        ET.SubElement(text, "text", attributes).text = line.text
    banner = layout.banner
    group = ET.SubElement(root, "g", {"id": "status"})
    ET.SubElement(
        group,
        "rect",
        {
            "x": mm(banner.x),
            "y": mm(banner.y),
            "width": mm(banner.width),
            "height": mm(banner.height),
            "fill": "black",
        },
    )
    ET.SubElement(
        group,
        "text",
        {
            "x": mm(banner.x + banner.width / 2),
            "y": mm(banner.y + (banner.height + banner.size * 0.7) / 2),
            "font-size": mm(banner.size),
            "font-weight": "bold",
            "text-anchor": "middle",
            "fill": "white",
        },
    ).text = banner.text
    # ElementTree escapes &, < and > in text and quotes in attributes.
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document


# --- PNG -----------------------------------------------------------------------------------------


def png(layout: Layout) -> bytes:
    """A PNG at the layout's resolution (Pillow is imported only here)."""
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
                fonts[size] = ImageFont.truetype(FONT_PATH, size)
            except OSError:
                fonts[size] = ImageFont.load_default(size)
        return fonts[size]

    image = Image.new("L", (layout.width, layout.height), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in _rects(layout):
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)  # corners are inclusive pixels
    for line in layout.lines:
        baseline = line.y + _ASCENT * line.size
        if line.centred:
            xy, anchor = (line.x + line.width / 2, baseline), "ms"
        else:
            xy, anchor = (line.x, baseline), "ls"
        draw.text(xy, line.text, font=font(line.size), fill=0, anchor=anchor)
    banner = layout.banner
    draw.rectangle(
        (banner.x, banner.y, banner.x + banner.width - 1, banner.y + banner.height - 1), fill=0
    )
    draw.text(
        (banner.x + banner.width / 2, banner.y + banner.height / 2),
        banner.text,
        font=font(banner.size),
        fill=255,
        anchor="mm",
    )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(layout.dpi, layout.dpi), optimize=True)
    return out.getvalue()
