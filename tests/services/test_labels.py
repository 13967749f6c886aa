"""Labels: the real encoders (python-barcode, zint) checked by a real decoder (zxing-cpp), the
layout on fixed stock, and the ZPL read back the way a printer would read it. No mocks."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from services.barcodes import zpl
from services.barcodes.labels import (
    PNG_MEDIA_TYPE,
    SVG_MEDIA_TYPE,
    LabelError,
    LotLabel,
    UnitLabel,
    lot_label,
    unit_label,
)
from services.barcodes.layout import DoesNotFit
from services.barcodes.symbols import code128
from tests.zpl_reader import (
    code128_content,
    code128_png,
    code128_values,
    datamatrix_content,
    formats,
)

pytestmark = pytest.mark.req("URS-037")

REPO_ROOT = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"
GS = "\x1d"
GTIN = "09506000134352"  # GS1's example GTIN-14, valid check digit
LOT_CODE = "L-000042"
UNIT_BARCODE = "U-00000042"
TYPE_NAME = "Bioreactor bag 2 L"
EXPIRY = date(2026, 12, 31)
STOCKS = {"100x50mm": (1181, 591), "4x2in": (1200, 600), "2x1in": (600, 300)}  # at 300 dpi


def decode(png: bytes, text_mode: Any = None) -> Any:
    image = Image.open(io.BytesIO(png))
    kwargs = {} if text_mode is None else {"text_mode": text_mode}
    results = zxingcpp.read_barcodes(image, **kwargs)
    assert len(results) == 1, results
    return results[0]


def svg_texts(svg: bytes) -> tuple[ET.Element, list[str]]:
    root = ET.fromstring(svg)
    return root, [element.text or "" for element in root.iter(f"{SVG_NS}text")]


def _lot(**overrides: Any) -> tuple[bytes, str]:
    kwargs: dict[str, Any] = {
        "lot_code": LOT_CODE,
        "gtin": GTIN,
        "expiry": EXPIRY,
        "supplier_lot": "SUP-42",
        "type_name": TYPE_NAME,
        "fmt": "svg",
    }
    return lot_label(**{**kwargs, **overrides})


def _unit(**overrides: Any) -> tuple[bytes, str]:
    kwargs: dict[str, Any] = {
        "barcode": UNIT_BARCODE,
        "type_name": TYPE_NAME,
        "lot_code": LOT_CODE,
        "expiry": EXPIRY,
        "serial": None,
        "fmt": "svg",
    }
    return unit_label(**{**kwargs, **overrides})


# --- GS1 DataMatrix and GS1-128 lot labels --------------------------------------------------------


@pytest.mark.parametrize("stock", sorted(STOCKS))
@pytest.mark.parametrize("supplier_lot", ["SUP-42&<A", "12345", "B7", "X" * 20])
def test_gs1_datamatrix_lot_label_decodes(stock: str, supplier_lot: str) -> None:
    png, media_type = _lot(
        supplier_lot=supplier_lot, fmt="png", stock=stock, symbology="datamatrix"
    )
    assert media_type == PNG_MEDIA_TYPE
    assert Image.open(io.BytesIO(png)).size == STOCKS[stock]
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.DataMatrix
    assert result.symbology_identifier == "]d2"  # FNC1 first: GS1 DataMatrix
    assert result.content_type == zxingcpp.ContentType.GS1
    assert result.text == f"(01){GTIN}(17)261231(10){supplier_lot}(91){LOT_CODE}"
    assert result.bytes == f"01{GTIN}1726123110{supplier_lot}{GS}91{LOT_CODE}".encode()


def test_gs1_128_is_drawn_when_it_fits_and_a_datamatrix_when_it_does_not() -> None:
    short, _ = _lot(supplier_lot="B7", expiry=None, fmt="png")
    result = decode(short)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C1"
    assert result.bytes == f"01{GTIN}10B7{GS}91{LOT_CODE}".encode()

    # A full (01)(17)(10)(91) at X 0.254 mm is wider than a 4-inch label: auto turns to a
    # Data Matrix of the same data, and asking for GS1-128 explicitly is refused with the sizes.
    long, _ = _lot(supplier_lot="BB2406-17A", fmt="png", stock="4x2in")
    assert decode(long).format == zxingcpp.BarcodeFormat.DataMatrix
    with pytest.raises(DoesNotFit) as caught:
        _lot(supplier_lot="BB2406-17A", stock="4x2in", symbology="gs1-128")
    assert "mm wide at X-dimension 0.254 mm" in str(caught.value)
    assert "stock 4x2in is 101.6 mm wide" in str(caught.value)
    assert "symbology=datamatrix" in str(caught.value)


def test_code128_lot_label_without_gtin_decodes() -> None:
    png, _ = _lot(gtin=None, fmt="png", stock="2x1in")
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C0"
    assert result.text == LOT_CODE


# --- unit labels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stock", sorted(STOCKS))
def test_unit_label_decodes_to_the_unit_barcode(stock: str) -> None:
    png, _ = _unit(fmt="png", stock=stock, serial="SN000777")
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert (result.symbology_identifier, result.text) == ("]C0", UNIT_BARCODE)


def test_unit_datamatrix_carries_the_supplier_serial_in_gs1_or_our_barcode() -> None:
    png, _ = _unit(
        fmt="png",
        serial="SN000777",
        gtin=GTIN,
        supplier_lot="SUP-42",
        symbology="datamatrix",
        stock="2x1in",
    )
    result = decode(png)
    assert result.content_type == zxingcpp.ContentType.GS1
    assert result.text == f"(01){GTIN}(17)261231(10)SUP-42(21)SN000777"
    png, _ = _unit(fmt="png", symbology="datamatrix")  # no serial: our barcode, plain
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.DataMatrix
    assert (result.symbology_identifier, result.text) == ("]d1", UNIT_BARCODE)


def test_the_unit_label_says_serial_not_sn_sn() -> None:
    """Suppliers' serials often start with SN; the label used to print "SN SN000777"."""
    _, texts = svg_texts(_unit(serial="SN000777")[0])
    assert "Serial SN000777" in texts
    assert not any("SN SN" in text for text in texts)


# --- fixed stock, X-dimension, text, status ----------------------------------------------------


@pytest.mark.parametrize(("stock", "mm"), [("100x50mm", (100, 50)), ("2x1in", (50.8, 25.4))])
def test_svg_has_the_stock_size_whatever_the_name(stock: str, mm: tuple[float, float]) -> None:
    for name in ("Bag", "A very long component type name " * 4):
        root, _ = svg_texts(_unit(type_name=name, stock=stock)[0])
        assert root.get("width") == f"{mm[0]:.3f}mm" and root.get("height") == f"{mm[1]:.3f}mm"


def test_linear_bars_keep_their_x_dimension_and_quiet_zones() -> None:
    png, _ = _unit(fmt="png", stock="2x1in")
    gray = Image.open(io.BytesIO(png)).convert("L")
    y = next(
        y for y in range(gray.height) if gray.crop((0, y, gray.width, y + 1)).getextrema()[0] == 0
    )
    row = [gray.getpixel((x, y + 20)) for x in range(gray.width)]
    assert set(row) <= {0, 255}, "bars must be crisp black on white"
    runs: list[tuple[bool, int]] = []
    for value in row:
        if runs and runs[-1][0] == (value == 0):
            runs[-1] = (value == 0, runs[-1][1] + 1)
        else:
            runs.append((value == 0, 1))
    inner = runs[1:-1]
    module = min(n for dark, n in inner if dark)
    assert module == 3, "0.254 mm at 300 dpi"
    assert all(n % module == 0 for _, n in inner)
    assert runs[0][1] >= 10 * module and runs[-1][1] >= 10 * module, "quiet zones >= 10 X"


def test_long_names_wrap_then_shrink_then_are_cut_but_data_never_is() -> None:
    name = "Closed-system bioreactor bag with integrated sampling manifold " * 3
    svg, _ = _lot(type_name=name, stock="2x1in", symbology="datamatrix")
    root, texts = svg_texts(svg)
    width = float(root.get("viewBox", "").split()[2])
    title = [t for t in texts if t and t.split()[0] in name.split()]
    assert 1 <= len(title) <= 2 and title[-1].endswith("\u2026")
    assert f"Lot {LOT_CODE}" in texts and "Supplier lot SUP-42" in texts
    for element in root.iter(f"{SVG_NS}text"):
        if element.get("text-anchor") == "middle":
            continue
        size, x = float(element.get("font-size", "0")), float(element.get("x", "0"))
        assert x + 0.6 * size * len(element.text or "") <= width + 0.01, element.text


@pytest.mark.parametrize(
    ("status", "banner"),
    [
        ("quarantined", "QUARANTINE"),
        ("released", "RELEASED"),
        ("rejected", "REJECTED - DO NOT USE"),
        ("recalled", "RECALLED - DO NOT USE"),
    ],
)
def test_the_label_shows_the_lot_status(status: str, banner: str) -> None:
    assert banner in svg_texts(_lot(status=status)[0])[1]
    assert banner in svg_texts(_unit(status=status, stock="2x1in")[0])[1]


def test_svg_escapes_text() -> None:
    svg, media_type = _lot(supplier_lot="A&B<7>", symbology="datamatrix")
    assert media_type == SVG_MEDIA_TYPE
    assert b"&amp;" in svg and b"&lt;" in svg
    assert "Supplier lot A&B<7>" in svg_texts(svg)[1]


def test_svg_works_without_pillow() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["PIL"] = None  # any "import PIL..." now raises ImportError
        from datetime import date
        from services.barcodes.labels import lot_label, unit_label

        svg, media_type = lot_label(
            lot_code="L-1", gtin={GTIN!r}, expiry=date(2026, 12, 31), supplier_lot="S-1",
            type_name="Bag", fmt="svg",
        )
        assert media_type == "image/svg+xml" and b"Lot L-1" in svg, svg
        try:
            unit_label(
                barcode="U-7K3M9QXP2A", type_name="Bag", lot_code="L-1", expiry=None,
                serial=None, fmt="png",
            )
        except RuntimeError as exc:
            assert "Pillow" in str(exc)
        else:
            raise AssertionError("PNG without Pillow should fail")
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# --- ZPL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpi", "stock", "size", "module"),
    [
        (203, "4x2in", ("812", "406"), "6"),
        (203, "2x1in", ("406", "203"), "4"),
        (300, "4x2in", ("1200", "600"), "9"),
        (300, "2x1in", ("600", "300"), "6"),
    ],
)
def test_zpl_lot_label_on_each_printer(
    dpi: int, stock: str, size: tuple[str, str], module: str
) -> None:
    label = LotLabel(LOT_CODE, GTIN, EXPIRY, "SUP_42", "Bag ^~\\ é", "released")
    layout = label.layout(symbology="datamatrix", stock=stock, dpi=dpi)
    (read,) = formats(zpl.format_label(zpl.load_template("lot"), layout, copies=4).encode("ascii"))
    assert (read.param("PW"), read.param("LL")) == size
    symbol = read.symbol()
    assert symbol.command == "BX" and symbol.params[1] == module
    # "_" in the data is escaped as "__", so the FNC1s are the only "_1"
    assert datamatrix_content(symbol) == (True, f"01{GTIN}1726123110SUP_42{GS}91{LOT_CODE}")
    # text goes as UTF-8 hex through ^FH: no ^ or ~ ever reaches the printer as data
    assert "Bag ^~\\ é" in read.texts and "RELEASED" in read.texts


@pytest.mark.parametrize("value", ["U-00000042", "A>B^C~D", "L-12", "12345678", "AB1234567890Z"])
def test_zpl_code128_field_data_prints_the_same_symbol(value: str) -> None:
    symbol = code128(value)
    data = zpl.code128_field_data(symbol)
    assert "^" not in data and "~" not in data
    values = code128_values(data)
    assert tuple(values) == symbol.values
    assert code128_content(values) == (False, value)
    assert decode(code128_png(values)).text == value


def test_zpl_gs1_128_spells_fnc1_as_invocation_code() -> None:
    label = LotLabel(LOT_CODE, GTIN, None, "B7", "Bag", "released")
    layout = label.layout(symbology="gs1-128", stock="4x2in", dpi=203)
    (read,) = formats(zpl.format_label(zpl.load_template("lot"), layout).encode("ascii"))
    symbol = read.symbol()
    assert symbol.command == "BC" and symbol.data.startswith(">;>8")  # start C, FNC1
    values = code128_values(symbol.data)
    assert code128_content(values) == (True, f"01{GTIN}10B7{GS}91{LOT_CODE}")
    result = decode(code128_png(values))
    assert result.symbology_identifier == "]C1"


def test_unit_zpl_is_one_format_per_unit_each_printed_once() -> None:
    template = zpl.load_template("unit")
    payload = "\n".join(
        zpl.format_label(
            template,
            UnitLabel(code, TYPE_NAME, LOT_CODE, None, None, "quarantined").layout(
                symbology="auto", stock="2x1in", dpi=203
            ),
        )
        for code in ("U-00000001", "U-00000002")
    )
    read = formats(payload.encode("ascii"))
    assert [code128_content(code128_values(f.symbol().data))[1] for f in read] == [
        "U-00000001",
        "U-00000002",
    ]
    assert [f.param("PQ").split(",")[0] for f in read] == ["1", "1"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("^XA^FD$nonsense^FS^XZ", "nonsense"),
        ("^XA^FD$^XZ", "lone $"),
        ("^FDno start^FS", "^XA"),
        ("^XA^FDé^FS^XZ", "ASCII"),
    ],
)
def test_a_broken_template_is_refused(tmp_path: Path, body: str, named: str) -> None:
    (tmp_path / "lot.zpl").write_bytes(body.encode("utf-8"))
    with pytest.raises(zpl.TemplateError) as caught:
        zpl.load_template("lot", tmp_path)
    assert named in str(caught.value)


def test_a_template_is_identified_by_the_sha256_of_its_bytes() -> None:
    raw = (zpl.TEMPLATE_DIR / "lot.zpl").read_bytes()
    assert zpl.load_template("lot").sha256 == hashlib.sha256(raw).hexdigest()


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("render", "overrides", "named"),
    [
        # GS1 character set 82 has no '#', no space and nothing beyond ASCII
        (_lot, {"supplier_lot": "LOT#1"}, "LOT#1"),
        (_lot, {"supplier_lot": "LOT 1"}, "LOT 1"),
        (_lot, {"supplier_lot": "Charge-Ö1"}, "Charge-Ö1"),
        (_lot, {"supplier_lot": "X" * 21}, "X" * 21),  # AI (10) holds at most 20
        (_lot, {"supplier_lot": ""}, "Supplier lot"),
        (_lot, {"lot_code": "L 1"}, "L 1"),  # AI (91) is character set 82 too
        (_lot, {"gtin": "09506000134353"}, "09506000134353"),  # wrong check digit
        (_lot, {"gtin": "12345"}, "12345"),
        (_lot, {"gtin": None, "lot_code": "L-ß"}, "L-ß"),
        (_lot, {"gtin": None, "lot_code": "L\x001"}, "L\\x001"),
        (_lot, {"type_name": "Bag\x00"}, "Bag\\x00"),
        (_lot, {"fmt": "pdf"}, "pdf"),
        (_lot, {"stock": "A4"}, "A4"),
        (_lot, {"symbology": "qr"}, "qr"),
        (_unit, {"barcode": "U-ÄBC"}, "U-ÄBC"),
        # python-barcode's Code128 would silently encode this as FNC1
        (_unit, {"barcode": "U-\xf11"}, "U-\xf11"),
        (_unit, {"barcode": "U-" + "7" * 60}, "U-777"),
        (_unit, {"serial": "S\x07"}, "S\\x07"),
    ],
)
@pytest.mark.req("URS-037", negative=True)
def test_label_error_names_the_value(render: Any, overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(LabelError) as caught:
        render(**overrides)
    assert isinstance(caught.value, ValueError)
    assert named in str(caught.value)
    assert str(caught.value).endswith(".")
