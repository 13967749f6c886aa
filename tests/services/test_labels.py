"""Labels: the real encoder (python-barcode) checked by a real decoder (zxing-cpp), no mocks."""

from __future__ import annotations

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

from services.barcodes.labels import (
    PNG_MEDIA_TYPE,
    SVG_MEDIA_TYPE,
    LabelError,
    lot_label,
    unit_label,
)

pytestmark = pytest.mark.req("URS-037")

REPO_ROOT = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"
GS = "\x1d"

GTIN = "09506000134352"  # GS1's example GTIN-14, valid check digit
LOT_CODE = "L-2025-0042"
UNIT_BARCODE = "U-7K3M9QXP2A"
TYPE_NAME = "Bioreactor bag 2 L"
EXPIRY = date(2026, 12, 31)


def decode(png: bytes, text_mode: Any = None) -> Any:
    image = Image.open(io.BytesIO(png))
    if text_mode is None:
        results = zxingcpp.read_barcodes(image)
    else:
        results = zxingcpp.read_barcodes(image, text_mode=text_mode)
    assert len(results) == 1, results
    return results[0]


def svg_texts(svg: bytes) -> tuple[ET.Element, list[str]]:
    root = ET.fromstring(svg)
    return root, [element.text or "" for element in root.iter(f"{SVG_NS}text")]


def mm(value: str | None) -> float:
    assert value is not None and value.endswith("mm"), value
    return float(value[:-2])


# --- GS1-128 lot labels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "supplier_lot",
    [
        "SUP-42&<A",  # & and < are in GS1 character set 82 and must survive SVG escaping
        "12345",  # odd run of digits right before the FNC1: python-barcode leaves charset C
        "B7",
    ],
)
def test_gs1_lot_label_with_expiry_decodes(supplier_lot: str) -> None:
    png, media_type = lot_label(
        lot_code=LOT_CODE,
        gtin=GTIN,
        expiry=EXPIRY,
        supplier_lot=supplier_lot,
        type_name=TYPE_NAME,
        fmt="png",
    )
    assert media_type == PNG_MEDIA_TYPE
    assert png.startswith(b"\x89PNG\r\n\x1a\n")

    # zxing-cpp's default text mode renders GS1 content as the HRI element string
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C1"  # leading FNC1: this is GS1-128
    assert result.content_type == zxingcpp.ContentType.GS1
    assert result.text == f"(01){GTIN}(17)261231(10){supplier_lot}(91){LOT_CODE}"

    # the raw element string carries the FNC1 separator as GS between (10) and (91)
    expected = f"01{GTIN}17261231" + f"10{supplier_lot}{GS}91{LOT_CODE}"
    assert result.bytes == expected.encode("ascii")
    plain = decode(png, zxingcpp.TextMode.Plain)
    assert plain.text == expected
    head, tail = plain.text.split(GS)
    assert head.endswith(f"10{supplier_lot}")
    assert tail.startswith("91")
    assert tail[2:] == LOT_CODE


def test_gs1_lot_label_without_expiry_decodes() -> None:
    png, media_type = lot_label(
        lot_code=LOT_CODE,
        gtin=GTIN,
        expiry=None,
        supplier_lot="SUP-42",
        type_name=TYPE_NAME,
        fmt="png",
    )
    assert media_type == PNG_MEDIA_TYPE
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C1"
    assert result.content_type == zxingcpp.ContentType.GS1
    assert result.text == f"(01){GTIN}(10)SUP-42(91){LOT_CODE}"
    assert "(17)" not in result.text
    assert result.bytes == f"01{GTIN}10SUP-42{GS}91{LOT_CODE}".encode("ascii")
    assert result.text.split("(91)")[1] == LOT_CODE


def test_gs1_pads_a_gtin13_to_14_digits() -> None:
    png, _ = lot_label(
        lot_code=LOT_CODE,
        gtin=GTIN[1:],
        expiry=EXPIRY,
        supplier_lot="SUP-42",
        type_name=TYPE_NAME,
        fmt="png",
    )
    assert decode(png).text.startswith(f"(01){GTIN}(17)")


# --- Code 128 lot and unit labels -----------------------------------------------------------------


def test_code128_lot_label_without_gtin_decodes() -> None:
    png, media_type = lot_label(
        lot_code=LOT_CODE,
        gtin=None,
        expiry=EXPIRY,
        supplier_lot="SUP-42",
        type_name=TYPE_NAME,
        fmt="png",
    )
    assert media_type == PNG_MEDIA_TYPE
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C0"  # plain Code 128, no leading FNC1
    assert result.content_type == zxingcpp.ContentType.Text
    assert result.text == LOT_CODE


@pytest.mark.parametrize("barcode", [UNIT_BARCODE, "U-0000000001", "U-1234567"])
def test_unit_label_decodes(barcode: str) -> None:
    png, media_type = unit_label(
        barcode=barcode,
        type_name=TYPE_NAME,
        lot_code=LOT_CODE,
        expiry=EXPIRY,
        serial="SN-0001",
        fmt="png",
    )
    assert media_type == PNG_MEDIA_TYPE
    result = decode(png)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C0"
    assert result.text == barcode


def test_png_bars_sit_on_whole_modules_at_300_dpi() -> None:
    png, _ = unit_label(
        barcode=UNIT_BARCODE,
        type_name=TYPE_NAME,
        lot_code=LOT_CODE,
        expiry=None,
        serial=None,
        fmt="png",
    )
    image = Image.open(io.BytesIO(png))
    dpi = image.info["dpi"]
    assert round(dpi[0]) == round(dpi[1]) == 300
    gray = image.convert("L")
    # a row through the bars: 20 px below the first row with any ink (the bars are on top)
    y = next(
        y for y in range(gray.height) if gray.crop((0, y, gray.width, y + 1)).getextrema()[0] == 0
    )
    y += 20
    row = [gray.getpixel((x, y)) for x in range(gray.width)]
    assert set(row) <= {0, 255}, "bars must be crisp black on white"
    runs: list[tuple[bool, int]] = []
    for value in row:
        dark = value == 0
        if runs and runs[-1][0] == dark:
            runs[-1] = (dark, runs[-1][1] + 1)
        else:
            runs.append((dark, 1))
    inner = runs[1:-1]  # drop the quiet zones
    bars = [n for dark, n in inner if dark]
    spaces = [n for dark, n in inner if not dark]
    module = min(bars)
    assert module >= 3, "narrow bars must be at least 0.25 mm at 300 dpi"
    assert min(spaces) == module, "no bar gain or loss"
    assert all(n % module == 0 for _, n in inner)
    assert runs[0][1] >= 10 * module and runs[-1][1] >= 10 * module, "quiet zones >= 10 X"


# --- SVG ------------------------------------------------------------------------------------------


def test_gs1_lot_label_svg_has_text_lines_and_escapes() -> None:
    svg, media_type = lot_label(
        lot_code=LOT_CODE,
        gtin=GTIN,
        expiry=EXPIRY,
        supplier_lot="A&B<7>",
        type_name=TYPE_NAME,
        fmt="svg",
    )
    assert media_type == SVG_MEDIA_TYPE
    assert b"&amp;" in svg and b"&lt;" in svg
    root, texts = svg_texts(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert texts == [
        f"(01){GTIN}(17)261231(10)A&B<7>(91){LOT_CODE}",
        TYPE_NAME,
        "Lot A&B<7>",
        "Exp 2026-12-31",
        LOT_CODE,
    ]
    # everything lies inside the (enlarged) drawing
    height = mm(root.get("height"))
    width = mm(root.get("width"))
    for element in root.iter(f"{SVG_NS}text"):
        assert 0 < mm(element.get("y")) < height
    bars = [el for el in root.iter(f"{SVG_NS}rect") if el.get("x") is not None]
    assert bars
    assert all(0 < mm(el.get("x")) < width for el in bars)
    assert max(mm(el.get("y")) + mm(el.get("height")) for el in bars) < min(
        mm(el.get("y")) for el in root.iter(f"{SVG_NS}text")
    )


def test_code128_lot_label_svg_without_expiry() -> None:
    svg, media_type = lot_label(
        lot_code=LOT_CODE,
        gtin=None,
        expiry=None,
        supplier_lot="SUP-42",
        type_name=TYPE_NAME,
        fmt="svg",
    )
    assert media_type == SVG_MEDIA_TYPE
    root, texts = svg_texts(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert texts == [LOT_CODE, TYPE_NAME, "Lot SUP-42", "No expiry"]


@pytest.mark.parametrize(("serial", "serial_line"), [("SN-0001", ["SN SN-0001"]), (None, [])])
def test_unit_label_svg(serial: str | None, serial_line: list[str]) -> None:
    svg, media_type = unit_label(
        barcode=UNIT_BARCODE,
        type_name=TYPE_NAME,
        lot_code=LOT_CODE,
        expiry=EXPIRY,
        serial=serial,
        fmt="svg",
    )
    assert media_type == SVG_MEDIA_TYPE
    root, texts = svg_texts(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert texts == [UNIT_BARCODE, TYPE_NAME, LOT_CODE, *serial_line, "Exp 2026-12-31"]


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
        assert media_type == "image/svg+xml" and b"(91)L-1" in svg, svg
        svg, media_type = unit_label(
            barcode="U-7K3M9QXP2A", type_name="Bag", lot_code="L-1", expiry=None,
            serial=None, fmt="svg",
        )
        assert media_type == "image/svg+xml" and b"U-7K3M9QXP2A" in svg, svg
        assert sys.modules["PIL"] is None
        assert not any(name.startswith("PIL.") for name in sys.modules)
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


# --- refusals -------------------------------------------------------------------------------------


def _lot(**overrides: Any) -> tuple[bytes, str]:
    kwargs: dict[str, Any] = {
        "lot_code": LOT_CODE,
        "gtin": GTIN,
        "expiry": EXPIRY,
        "supplier_lot": "SUP-42",
        "type_name": TYPE_NAME,
        "fmt": "svg",
    }
    kwargs.update(overrides)
    return lot_label(**kwargs)


def _unit(**overrides: Any) -> tuple[bytes, str]:
    kwargs: dict[str, Any] = {
        "barcode": UNIT_BARCODE,
        "type_name": TYPE_NAME,
        "lot_code": LOT_CODE,
        "expiry": EXPIRY,
        "serial": None,
        "fmt": "svg",
    }
    kwargs.update(overrides)
    return unit_label(**kwargs)


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
        (_lot, {"gtin": "0950600013435X"}, "0950600013435X"),
        (_lot, {"gtin": None, "lot_code": "L-ß"}, "L-ß"),
        (_lot, {"gtin": None, "lot_code": "L\x001"}, "L\\x001"),
        (_lot, {"gtin": None, "lot_code": ""}, "Lot code"),
        (_lot, {"type_name": "Bag\x00"}, "Bag\\x00"),
        (_lot, {"fmt": "pdf"}, "pdf"),
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
