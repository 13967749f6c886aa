"""Printable labels for lots and units: which symbol, which lines, on which stock.

A lot label carries GS1 (01)(17)(10)(91) for a type with a GTIN, else our lot code; a unit
label carries our unit barcode in Code 128, or as a Data Matrix the supplier's GS1
(01)(17)(10)(21) when the unit has a supplier serial and its type a GTIN (else the barcode).
`symbology="auto"` draws the linear symbol when it fits the stock at its X-dimension and a Data
Matrix of the same data when it does not: a lot's full GS1-128 is about 110 mm wide, wider than
a 4-inch label. Every label shows the lot's status when it was drawn; a rejected or recalled
lot's label says "DO NOT USE" (print jobs refuse such lots; see services.dock.printing).

Images (SVG, PNG) and sheets are drawn at 300 dpi; ZPL at the printer's 203 or 300.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from services.barcodes import images
from services.barcodes.layout import STOCKS, Layout, Stock, lay_out, linear_fits
from services.barcodes.symbols import (
    LabelError,
    Symbol,
    Symbology,
    code128,
    datamatrix,
    display,
    gs1_128,
    lot_elements,
    plain_code,
    unit_elements,
)

__all__ = [
    "IMAGE_DPI",
    "PNG_MEDIA_TYPE",
    "SVG_MEDIA_TYPE",
    "LabelError",
    "LabelFormat",
    "LotLabel",
    "UnitLabel",
    "lot_label",
    "render",
    "unit_label",
]

LabelFormat = Literal["svg", "png"]
SVG_MEDIA_TYPE: Final = "image/svg+xml"
PNG_MEDIA_TYPE: Final = "image/png"
IMAGE_DPI: Final = 300

STATUS_BANNERS: Final = {
    "quarantined": "QUARANTINE",
    "released": "RELEASED",
    "rejected": "REJECTED - DO NOT USE",
    "recalled": "RECALLED - DO NOT USE",
}


@dataclass(frozen=True)
class LotLabel:
    """What a lot label says."""

    lot_code: str
    gtin: str | None
    expiry: date | None
    supplier_lot: str
    type_name: str
    status: str

    def layout(self, *, symbology: Symbology, stock: str, dpi: int) -> Layout:
        sheet = _stock(stock)
        title = display(self.type_name, "Type name")
        supplier_lot = display(self.supplier_lot, "Supplier lot")
        if self.gtin is None:
            code = plain_code(self.lot_code, "Lot code")
            linear = code128(code)
            chosen = _choose(symbology, linear, lambda: datamatrix(text=code), sheet, dpi)
        else:
            elements = lot_elements(
                gtin=self.gtin,
                expiry=self.expiry,
                supplier_lot=self.supplier_lot,
                lot_code=self.lot_code,
            )
            chosen = _choose(
                symbology,
                gs1_128(elements) if symbology != "datamatrix" else None,
                lambda: datamatrix(elements=elements),
                sheet,
                dpi,
            )
        lines = [
            None if chosen.kind == "code128" else f"Lot {display(self.lot_code, 'Lot code')}",
            f"Supplier lot {supplier_lot}",
            _expiry_line(self.expiry),
            f"GTIN {chosen.elements[0].value}"
            if chosen.kind == "datamatrix" and chosen.gs1
            else None,
        ]
        return lay_out(
            chosen,
            title=title,
            lines=tuple(line for line in lines if line is not None),
            status=banner(self.status),
            stock=sheet,
            dpi=dpi,
        )


@dataclass(frozen=True)
class UnitLabel:
    """What a unit label says."""

    barcode: str
    type_name: str
    lot_code: str
    expiry: date | None
    serial: str | None
    status: str
    gtin: str | None = None
    supplier_lot: str | None = None

    def layout(self, *, symbology: Symbology, stock: str, dpi: int) -> Layout:
        sheet = _stock(stock)
        title = display(self.type_name, "Type name")
        code = plain_code(self.barcode, "Unit barcode")
        if symbology == "datamatrix":
            if self.gtin and self.serial and self.supplier_lot:
                chosen = datamatrix(
                    elements=unit_elements(
                        gtin=self.gtin,
                        expiry=self.expiry,
                        supplier_lot=self.supplier_lot,
                        serial=self.serial,
                    )
                )
            else:
                chosen = datamatrix(text=code)
        else:  # our barcode in Code 128 fits every stock
            chosen = _choose(symbology, code128(code), lambda: datamatrix(text=code), sheet, dpi)
        # The serial is the supplier's own, often "SN..." already: the caption is a word, so a
        # label never reads "SN SN000777".
        lines = [
            code if chosen.kind == "datamatrix" else None,
            f"Lot {display(self.lot_code, 'Lot code')}",
            f"Serial {display(self.serial, 'Serial')}" if self.serial else None,
            _expiry_line(self.expiry),
        ]
        return lay_out(
            chosen,
            title=title,
            lines=tuple(line for line in lines if line is not None),
            status=banner(self.status),
            stock=sheet,
            dpi=dpi,
        )


def banner(status: str) -> str:
    return STATUS_BANNERS.get(status, status.upper())


def _stock(name: str) -> Stock:
    try:
        return STOCKS[name]
    except KeyError:
        raise LabelError(
            f"Stock {name!r} is not known; use one of {', '.join(sorted(STOCKS))}."
        ) from None


def _choose(
    symbology: Symbology,
    linear: Symbol | None,
    matrix: Callable[[], Symbol],
    stock: Stock,
    dpi: int,
) -> Symbol:
    """The linear symbol when asked for or when it fits; the Data Matrix otherwise."""
    if symbology not in ("auto", "gs1-128", "datamatrix"):
        raise LabelError(
            f"Symbology {symbology!r} is not supported; use 'auto', 'gs1-128' or 'datamatrix'."
        )
    if linear is not None and (
        symbology == "gs1-128" or (symbology == "auto" and linear_fits(linear, stock, dpi))
    ):
        return linear
    return matrix()


def _expiry_line(expiry: date | None) -> str:
    return "No expiry" if expiry is None else f"Exp {expiry.isoformat()}"


def render(layout: Layout, fmt: str) -> tuple[bytes, str]:
    """`(content, media type)` of a laid-out label as SVG or PNG."""
    if fmt == "svg":
        return images.svg(layout), SVG_MEDIA_TYPE
    if fmt == "png":
        return images.png(layout), PNG_MEDIA_TYPE
    raise LabelError(f"Label format {fmt!r} is not supported; use 'svg' or 'png'.")


def lot_label(
    *,
    lot_code: str,
    gtin: str | None,
    expiry: date | None,
    supplier_lot: str,
    type_name: str,
    fmt: str,
    status: str = "quarantined",
    symbology: Symbology = "auto",
    stock: str = "100x50mm",
) -> tuple[bytes, str]:
    """Render a lot label as an image; returns ``(content, media_type)``."""
    if fmt not in ("svg", "png"):
        raise LabelError(f"Label format {fmt!r} is not supported; use 'svg' or 'png'.")
    label = LotLabel(lot_code, gtin, expiry, supplier_lot, type_name, status)
    return render(label.layout(symbology=symbology, stock=stock, dpi=IMAGE_DPI), fmt)


def unit_label(
    *,
    barcode: str,
    type_name: str,
    lot_code: str,
    expiry: date | None,
    serial: str | None,
    fmt: str,
    status: str = "quarantined",
    gtin: str | None = None,
    supplier_lot: str | None = None,
    symbology: Symbology = "auto",
    stock: str = "100x50mm",
) -> tuple[bytes, str]:
    """Render a unit label as an image; returns ``(content, media_type)``."""
    if fmt not in ("svg", "png"):
        raise LabelError(f"Label format {fmt!r} is not supported; use 'svg' or 'png'.")
    label = UnitLabel(barcode, type_name, lot_code, expiry, serial, status, gtin, supplier_lot)
    return render(label.layout(symbology=symbology, stock=stock, dpi=IMAGE_DPI), fmt)
