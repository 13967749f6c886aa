"""A sheet of labels as a PDF for office printers: a grid of stock-sized labels on A4 or Letter.

Each label is drawn as a 300 dpi PNG (the same layout as the image endpoints) and placed at its
true size, so a printer set to "actual size" keeps every symbol's X-dimension; a thin grey frame
marks where to cut. Identical labels (copies of a lot label) are one image in the file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Final, Literal

from fpdf import FPDF

from services.barcodes import images
from services.barcodes.layout import Layout
from services.barcodes.symbols import LabelError

__all__ = ["PAPERS", "Paper", "sheet_pdf"]

Paper = Literal["a4", "letter"]
PAPERS: Final[dict[str, tuple[float, float]]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
_MARGIN: Final = 8.0  # mm, inside most office printers' unprintable border
_GAP: Final = 3.0


def grid(paper: str, width_mm: float, height_mm: float) -> tuple[int, int]:
    """Columns and rows of labels that fit one page."""
    page_w, page_h = PAPERS[paper]
    columns = int((page_w - 2 * _MARGIN + _GAP) // (width_mm + _GAP))
    rows = int((page_h - 2 * _MARGIN + _GAP) // (height_mm + _GAP))
    return columns, rows


def sheet_pdf(layouts: Sequence[Layout], *, paper: str, title: str) -> bytes:
    """Every label of `layouts`, in order, left to right and top to bottom, page after page."""
    if paper not in PAPERS:
        raise LabelError(f"Paper {paper!r} is not supported; use 'a4' or 'letter'.")
    if not layouts:
        raise LabelError("A sheet needs at least one label.")
    stock = layouts[0].stock
    columns, rows = grid(paper, stock.width_mm, stock.height_mm)
    if columns < 1 or rows < 1:
        raise LabelError(f"Stock {stock.name} does not fit on {paper} paper.")
    page_w, page_h = PAPERS[paper]
    pdf = FPDF(unit="mm", format=(page_w, page_h))
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(title)
    pdf.set_creator("sutrace")
    pdf.set_draw_color(190, 190, 190)
    pdf.set_line_width(0.1)
    drawn: dict[Layout, bytes] = {}
    per_page = columns * rows
    for index, layout in enumerate(layouts):
        if index % per_page == 0:
            pdf.add_page()
        slot = index % per_page
        x = _MARGIN + (slot % columns) * (stock.width_mm + _GAP)
        y = _MARGIN + (slot // columns) * (stock.height_mm + _GAP)
        if layout not in drawn:
            drawn[layout] = images.png(layout)
        pdf.rect(x, y, stock.width_mm, stock.height_mm)
        pdf.image(
            io.BytesIO(drawn[layout]),
            x=x,
            y=y,
            w=stock.width_mm,
            h=stock.height_mm,
        )
    return bytes(pdf.output())
