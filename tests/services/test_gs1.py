"""GS1 barcode classification and parsing (services/gs1.py)."""

from __future__ import annotations

from datetime import date

import pytest

from services.barcodes.gs1 import (
    GS,
    BarcodeFormatError,
    Gs1Data,
    Gs1Error,
    check_raw_barcode,
    gs1_element_string_for_label,
    is_gs1,
    parse_gs1,
)
from services.barcodes.gtin import gtin_check_digit, is_valid_gtin, normalise_gtin

pytestmark = pytest.mark.req("URS-003", "URS-015")

DATAMATRIX = "]d2" + "0110614141000729" + "17270600" + "10BB2406-17A" + GS + "21SN000123"
GS1_128 = "]C1" + "0100614141003198" + "11250312" + "17280311" + "10TS-55821" + GS + "240CX-1044-TS"
QR = "]Q3" + "0100614141003198" + "17280200" + "10CB-0227-X" + GS + "210000451"


def scan(raw: str) -> Gs1Data:
    """What the service does with a raw scan."""
    text = check_raw_barcode(raw)
    assert is_gs1(text)
    return parse_gs1(text)


def assert_datamatrix(data: Gs1Data) -> None:
    assert data.gtin == "10614141000729"
    assert data.expiry == date(2027, 6, 30)
    assert data.batch == "BB2406-17A"
    assert data.serial == "SN000123"
    assert data.production is None
    assert data.internal is None
    assert data.ais == {
        "01": "10614141000729",
        "17": "270600",
        "10": "BB2406-17A",
        "21": "SN000123",
    }


# --------------------------------------------------------------------------- parsing


def test_gs1_datamatrix_with_day_00_expiry() -> None:
    assert_datamatrix(scan(DATAMATRIX))


def test_gs1_128_with_production_date_and_additional_id() -> None:
    data = scan(GS1_128)
    assert data.gtin == "00614141003198"
    assert data.production == date(2025, 3, 12)
    assert data.expiry == date(2028, 3, 11)
    assert data.batch == "TS-55821"
    assert data.serial is None
    assert data.ais["240"] == "CX-1044-TS"
    assert list(data.ais) == ["01", "11", "17", "10", "240"]


def test_gs1_qr_day_00_in_a_leap_february() -> None:
    data = scan(QR)
    assert data.gtin == "00614141003198"
    assert data.expiry == date(2028, 2, 29)
    assert data.batch == "CB-0227-X"
    assert data.serial == "0000451"


def test_gs1_databar_identifier() -> None:
    assert scan("]e0" + DATAMATRIX[3:]) == scan(DATAMATRIX)


@pytest.mark.parametrize("raw", [DATAMATRIX, GS1_128, QR])
def test_without_symbology_identifier(raw: str) -> None:
    assert scan(raw[3:]) == scan(raw)


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"])
def test_trailing_line_ending(ending: str) -> None:
    assert_datamatrix(scan(DATAMATRIX + ending))
    assert_datamatrix(scan(DATAMATRIX[3:] + ending))


def test_leading_trailing_and_doubled_gs_are_tolerated() -> None:
    body = DATAMATRIX[3:].replace(GS, GS + GS)
    assert_datamatrix(scan(GS + body + GS))
    assert_datamatrix(scan("]d2" + GS + body + GS))


def test_parenthesised_form() -> None:
    data = scan("(01)10614141000729(17)270600(10)BB2406-17A(21)SN000123")
    assert_datamatrix(data)
    assert parse_gs1("(01) 10614141000729 (17) 270600 (10) BB2406-17A (21) SN000123") == data


def test_parenthesised_form_with_trailing_line_ending() -> None:
    data = scan("(01)00614141003198(17)280200(10)CB-0227-X(21)0000451\r\n")
    assert data == scan(QR)


def test_variable_length_field_may_end_the_barcode_at_its_maximum_length() -> None:
    data = scan("]d2" + "0110614141000729" + "10" + "A" * 20)
    assert data.batch == "A" * 20


def test_repeated_ai_with_the_same_value_is_accepted() -> None:
    data = scan("]d2" + "0110614141000729" + "10LOT1" + GS + "10LOT1")
    assert data.batch == "LOT1"


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_not_gs1() -> None:
    assert not is_gs1("U-7K3M9QXP2A")
    assert not is_gs1("L-000042")
    assert not is_gs1("]E04006381333931")  # EAN-13 with its symbology identifier
    assert not is_gs1("1")
    assert not is_gs1("10 ABC")
    assert not is_gs1("(A)")
    assert is_gs1("]d2")
    assert is_gs1("(01)x")
    assert is_gs1("0110614141000729" + "10A" + GS + "21B")


# --------------------------------------------------------------------------- missing GS


def test_missing_gs_that_fits_the_length_limit_cannot_be_detected() -> None:
    # Without the GS, "21SN000123" belongs to the batch by GS1 syntax: 20 characters, allowed.
    # The service must match GTIN+batch against a registered lot; our own labels carry (91).
    data = scan("]d2" + "0110614141000729" + "17270600" + "10BB2406-17A21SN000123")
    assert data.batch == "BB2406-17A21SN000123"
    assert data.serial is None


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_missing_gs_that_overflows_the_field_is_refused() -> None:
    # biip alone would read batch "BB2406-17A21SN000123" and then AI 45... from the rest.
    with pytest.raises(
        Gs1Error, match=r"\(10\) batch .* at most 20 .* GS separator may be missing"
    ):
        scan("]d2" + "0110614141000729" + "10BB2406-17A21SN0001234567")


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_missing_gs_after_a_field_that_needs_one_at_max_length_is_refused() -> None:
    # biip would read batch "A"*20 and an expiry; the GS1 syntax needs a GS after (10).
    with pytest.raises(Gs1Error, match=r"\(10\) batch .* 28 characters long"):
        scan("]d2" + "0110614141000729" + "10" + "A" * 20 + "17270600")


# --------------------------------------------------------------------------- errors


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_wrong_gtin_check_digit() -> None:
    with pytest.raises(Gs1Error, match=r"GTIN 10614141000720 has a wrong check digit; expected 9"):
        scan("]d2" + "0110614141000720" + "17270600")
    with pytest.raises(Gs1Error, match="wrong check digit"):
        scan("(01)10614141000720(10)A")


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_all_zero_gtin() -> None:
    with pytest.raises(Gs1Error, match="all zeros"):
        scan("]d2" + "0100000000000000")


@pytest.mark.parametrize("value", ["270231", "271301", "270000", "270229"])
@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_impossible_date(value: str) -> None:
    with pytest.raises(Gs1Error, match=rf"^\(17\) expiry '{value}' is not a real date\."):
        scan("]d2" + "0110614141000729" + "17" + value + "10A")
    with pytest.raises(Gs1Error, match=rf"^\(17\) expiry '{value}' is not a real date\."):
        scan(f"(01)10614141000729(17){value}(10)A")


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_impossible_production_date() -> None:
    with pytest.raises(Gs1Error, match=r"^\(11\) production date '251332' is not a real date"):
        scan("]C1" + "0110614141000729" + "11251332")


@pytest.mark.parametrize(
    "raw",
    [
        "]d2" + "01106141410007",
        "]d2" + "01106141410007" + GS + "10A",
        "0110614141000",
        "(01)1061414100072(10)A",
    ],
)
@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_truncated_gtin(raw: str) -> None:
    with pytest.raises(Gs1Error, match=r"\(01\) GTIN needs 14 digits; got \d+"):
        scan(raw)


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_truncated_date() -> None:
    with pytest.raises(Gs1Error, match=r"\(17\) expiry needs 6 digits \(YYMMDD\); got 4"):
        scan("]d2" + "0110614141000729" + "172706")


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_letters_in_a_numeric_field() -> None:
    with pytest.raises(Gs1Error, match=r"\(01\) GTIN '1061414100072X' must contain only digits"):
        scan("]d2" + "011061414100072X")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "]d2" + "0110614141000729" + "23ABC",
            r"No known GS1 Application Identifier at position 20",
        ),
        ("]d2" + "hello", r"No known GS1 Application Identifier at position 4"),
        ("]d2" + "(01)10614141000729", r"No known GS1 Application Identifier at position 4"),
        ("0110614141000729" + "10A B", r"' ' \(U\+0020\) at position 20"),
        ("0110614141000729" + "10Aé", r"'é' \(U\+00E9\) at position 20"),
        ("]d1" + "0110614141000729", r"Symbology identifier '\]d1' is not a GS1 symbology"),
        ("]d2", r"no GS1 element strings"),
        ("]C1" + GS + GS, r"no GS1 element strings"),
        ("]d2" + "0110614141000729" + "10", r"\(10\) batch has no data"),
        ("]d2" + "0110614141000729" + "10" + GS + "21X", r"\(10\) batch has no data"),
        (
            "]d2" + "0110614141000729" + "10A" + GS + "10B",
            r"appears twice with different values \('A' and 'B'\)",
        ),
        ("(01)10614141000729(999)x", r"\(999\) is not a known GS1 Application Identifier"),
        ("(01)10614141000729(10)", r"\(10\) batch has no data"),
        ("(01)10614141000729(10)A(99)", r"\(99\) .* has no data"),
        (
            "(01)10614141000729junk(10)A",
            r"\(01\) GTIN '10614141000729junk' must contain only digits",
        ),
        ("(01)10614141000729)x", r"in parentheses, such as \(01\), at position 19 \(found '\)x'\)"),
        ("(0x1)10614141000729", r"Expected a GS1 Application Identifier in parentheses"),
        ("(01)10614141000729(10)BB 2406", r"\(10\) batch 'BB 2406' contains ' ' \(U\+0020\)"),
        ("(01)10614141000729(10)B" + GS + "x", r"contains '\\x1d' \(U\+001D\)"),
        ("(01)10614141000729(10)" + "A" * 21, r"at most 20 are allowed\. \(biip"),
    ],
)
@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_invalid_structure(raw: str, message: str) -> None:
    with pytest.raises(Gs1Error, match=message):
        # Not all of these pass is_gs1(); parse_gs1 must refuse them cleanly anyway.
        parse_gs1(check_raw_barcode(raw))


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_bare_gtin_is_not_read_as_element_strings() -> None:
    # As element strings "4006381333931" would be AI 400 (customer purchase order) "6381333931".
    with pytest.raises(Gs1Error, match="looks like a bare GTIN-13"):
        scan("4006381333931")
    with pytest.raises(Gs1Error, match="looks like a bare GTIN-14"):
        scan("10614141000729")


@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_gs1_errors_are_value_errors() -> None:
    assert issubclass(Gs1Error, ValueError)
    assert issubclass(BarcodeFormatError, ValueError)


# --------------------------------------------------------------------------- raw scans


def test_check_raw_barcode_accepts_and_strips_one_line_ending() -> None:
    assert check_raw_barcode("U-7K3M9QXP2A") == "U-7K3M9QXP2A"
    assert check_raw_barcode("U-7K3M9QXP2A\r\n") == "U-7K3M9QXP2A"
    assert check_raw_barcode("L-000042\n") == "L-000042"
    assert check_raw_barcode("L-000042\r") == "L-000042"
    assert check_raw_barcode(DATAMATRIX) == DATAMATRIX
    assert check_raw_barcode("x" * 512) == "x" * 512


@pytest.mark.parametrize(("length", "shown"), [(513, "513"), (10_000, "10000")])
@pytest.mark.req("URS-003", "URS-016", "URS-006", negative=True)
def test_too_long(length: int, shown: str) -> None:
    with pytest.raises(
        BarcodeFormatError, match=rf"^Barcode has {shown} characters; at most 512 are allowed\.$"
    ):
        check_raw_barcode("0" * length)


@pytest.mark.req("URS-003", "URS-016", "URS-006", negative=True)
def test_length_limit_counts_the_line_ending() -> None:
    with pytest.raises(BarcodeFormatError, match="514 characters"):
        check_raw_barcode("x" * 512 + "\r\n")


@pytest.mark.parametrize(
    ("raw", "code", "position"),
    [
        ("0110614141000729\x0010A", "0000", 17),
        ("ABCD\x07", "0007", 5),
        ("U-7K3M\r9QXP2A", "000D", 7),
        ("U-7K3M\n9QXP2A", "000A", 7),
        ("L-000042\n\n", "000A", 9),
        ("L-000042\r\n\r\n", "000D", 9),
        ("\tL-000042", "0009", 1),
        ("L-000042\x7f", "007F", 9),
        ("L-000042\x85", "0085", 9),
    ],
)
@pytest.mark.req("URS-003", "URS-016", "URS-006", negative=True)
def test_control_characters(raw: str, code: str, position: int) -> None:
    with pytest.raises(
        BarcodeFormatError,
        match=(
            rf"^Barcode contains control character U\+{code} at position {position}; "
            r"only GS \(U\+001D\) and a trailing CR/LF are allowed\.$"
        ),
    ):
        check_raw_barcode(raw)


@pytest.mark.parametrize("raw", ["", "\r\n", "\n", "\r"])
@pytest.mark.req("URS-003", "URS-016", "URS-006", negative=True)
def test_empty(raw: str) -> None:
    with pytest.raises(BarcodeFormatError, match=r"^Barcode is empty\.$"):
        check_raw_barcode(raw)


# --------------------------------------------------------------------------- GTIN helpers


@pytest.mark.parametrize(
    "gtin", ["4006381333931", "10614141000729", "00614141003198", "614141003198", "96385074"]
)
def test_valid_gtins(gtin: str) -> None:
    assert is_valid_gtin(gtin)
    assert gtin_check_digit(gtin[:-1]) == int(gtin[-1])
    assert normalise_gtin(gtin) == gtin.zfill(14)
    assert len(normalise_gtin(gtin)) == 14


def test_check_digits() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("1061414100072") == 9
    assert gtin_check_digit("0061414100319") == 8
    assert gtin_check_digit("9638507") == 4


@pytest.mark.parametrize(
    "gtin",
    [
        "4006381333932",  # wrong check digit
        "10614141000720",
        "00000000000000",  # all zeros
        "061414100319",  # wrong check digit, 12 digits
        "1234567",  # wrong length
        "123456789012345",
        "",
        " 4006381333931",
        "4006381333931\n",
        "400638133393\u0661",  # Arabic-Indic digit one: isdigit() is True, not a GTIN
        "²006381333931",
    ],
)
@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_invalid_gtins(gtin: str) -> None:
    assert not is_valid_gtin(gtin)
    with pytest.raises(ValueError, match="GTIN"):
        normalise_gtin(gtin)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "40063813339311",
        "12345678",
        "40063813339A",
        "\u0664\u0660\u0660\u0666\u0663\u0668\u0661",
    ],
)
@pytest.mark.req("URS-003", "URS-016", negative=True)
def test_check_digit_needs_a_gtin_body(body: str) -> None:
    with pytest.raises(ValueError, match="not the body of a GTIN"):
        gtin_check_digit(body)


# --------------------------------------------------------------------------- labels


@pytest.mark.req("URS-037")
def test_label_line() -> None:
    line = gs1_element_string_for_label("614141003198", date(2028, 2, 29), "CB-0227-X", "L-000042")
    assert line == "(01)00614141003198(17)280229(10)CB-0227-X(91)L-000042"
    data = scan(line)
    assert data.gtin == "00614141003198"
    assert data.expiry == date(2028, 2, 29)
    assert data.batch == "CB-0227-X"
    assert data.internal == "L-000042"


@pytest.mark.req("URS-037")
def test_label_line_skips_missing_parts() -> None:
    assert gs1_element_string_for_label(None, None, None, "L-000042") == "(91)L-000042"
    assert (
        gs1_element_string_for_label("10614141000729", None, "BB2406-17A", None)
        == "(01)10614141000729(10)BB2406-17A"
    )


@pytest.mark.parametrize(
    ("gtin", "expiry", "batch", "internal", "message"),
    [
        (None, None, None, None, "at least one"),
        ("10614141000720", None, None, None, "wrong check digit"),
        (None, None, "A" * 21, None, r"\(10\) batch must be 1 to 20"),
        (None, None, "", None, r"\(10\) batch must be 1 to 20"),
        (None, None, "LOT 1", None, r"\(10\) batch 'LOT 1' contains ' '"),
        (None, None, "LOT(1)", None, "parenthesis"),
        (None, None, None, "I" * 91, r"\(91\) internal must be 1 to 90"),
        (None, date(2099, 1, 1), None, None, "would take it for 1999-01-01"),
    ],
)
@pytest.mark.req("URS-037", negative=True)
def test_label_line_refuses_bad_parts(
    gtin: str | None, expiry: date | None, batch: str | None, internal: str | None, message: str
) -> None:
    with pytest.raises(Gs1Error, match=message):
        gs1_element_string_for_label(gtin, expiry, batch, internal)
