"""GTINs: the GS1 mod-10 check digit, validation, and the 14-digit form used for storage."""

from __future__ import annotations

ASCII_DIGITS = frozenset("0123456789")
GTIN_LENGTHS = (8, 12, 13, 14)


def is_ascii_digits(value: str) -> bool:
    # str.isdigit() also accepts "²" and Arabic-Indic digits.
    return bool(value) and all(char in ASCII_DIGITS for char in value)


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for a GTIN without its check digit (7, 11, 12 or 13 digits).

    Raises:
        ValueError: if `body` is not 7, 11, 12 or 13 ASCII digits.
    """
    if not is_ascii_digits(body) or len(body) + 1 not in GTIN_LENGTHS:
        msg = (
            f"{body!r} is not the body of a GTIN; expected 7, 11, 12 or 13 digits "
            "(the GTIN without its check digit)."
        )
        raise ValueError(msg)
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_problem(gtin: str) -> str | None:
    """Why `gtin` is not a valid GTIN-8/12/13/14, or None when it is."""
    if not is_ascii_digits(gtin) or len(gtin) not in GTIN_LENGTHS:
        return f"GTIN {gtin!r} must be 8, 12, 13 or 14 digits."
    if set(gtin) == {"0"}:
        return f"GTIN {gtin} is all zeros, which is not a GTIN."
    expected = gtin_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        return f"GTIN {gtin} has a wrong check digit; expected {expected}."
    return None


def is_valid_gtin(gtin: str) -> bool:
    """Whether `gtin` is a GTIN-8, -12, -13 or -14: ASCII digits only, right check digit."""
    return gtin_problem(gtin) is None


def normalise_gtin(gtin: str) -> str:
    """The 14-digit form of a GTIN (left-padded with zeros), for storage and lookup.

    Raises:
        ValueError: if `gtin` is not a valid GTIN.
    """
    problem = gtin_problem(gtin)
    if problem is not None:
        raise ValueError(problem)
    return gtin.zfill(14)
