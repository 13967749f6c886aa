"""A reader of the ZPL sutrace sends: label formats, their fields, and what each symbol encodes.

It interprets what a Zebra printer would: ^FO origins, ^BC field data in mode N (invocation codes
for start characters, subsets and FNC1), ^BX quality-200 field data with its escape character,
and ^FH hex escapes in text. The Code 128 symbol values are drawn into modules with the standard
patterns (python-barcode's table), so a test can decode the bars the printer would print.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from barcode.charsets import code128  # type: ignore[import-untyped, unused-ignore]
from PIL import Image

GS = "\x1d"


@dataclass
class Field:
    command: str  # "BC", "BX" or "A" (text)
    origin: tuple[int, int]
    data: str  # raw ^FD content
    params: list[str] = field(default_factory=list)
    hex_indicator: str | None = None

    @property
    def text(self) -> str:
        if self.hex_indicator is None:
            return self.data
        indicator = re.escape(self.hex_indicator)
        raw = re.sub(
            indicator + r"([0-9A-Fa-f]{2})",
            lambda m: f"\x00{m.group(1)}",
            self.data,
        )
        out = bytearray()
        parts = raw.split("\x00")
        out += parts[0].encode("ascii")
        for part in parts[1:]:
            out.append(int(part[:2], 16))
            out += part[2:].encode("ascii")
        return out.decode("utf-8")


@dataclass
class Format:
    commands: list[tuple[str, str]]  # (command, parameters) in order
    fields: list[Field]

    def param(self, command: str) -> str:
        return next(p for c, p in self.commands if c == command)

    @property
    def texts(self) -> list[str]:
        return [f.text for f in self.fields if f.command == "A"]

    def symbol(self) -> Field:
        (found,) = [f for f in self.fields if f.command in ("BC", "BX")]
        return found


def formats(payload: bytes) -> list[Format]:
    text = payload.decode("ascii")
    assert "\x00" not in text
    found = []
    for body in re.findall(r"\^XA(.*?)\^XZ", text, flags=re.S):
        commands: list[tuple[str, str]] = []
        fields: list[Field] = []
        origin = (0, 0)
        command, params, hex_indicator = "", [], None
        for chunk in body.split("^")[1:]:
            name, rest = chunk[:2], chunk[2:].rstrip("\n")
            if name.startswith("A") and name != "A@":
                name, rest = "A", chunk[1:]
            commands.append((name, rest))
            if name == "FO":
                x, y = rest.split(",")[:2]
                origin = (int(x), int(y))
            elif name in ("BC", "BX", "A"):
                command, params = name, rest.split(",")
            elif name == "FH":
                hex_indicator = rest[:1] or "_"
            elif name == "FD":
                fields.append(Field(command, origin, rest, params, hex_indicator))
            elif name == "FS":
                command, params, hex_indicator = "", [], None
        found.append(Format(commands, fields))
    return found


# --- ^BC: Code 128 in mode N -------------------------------------------------------------------

_STARTS = {">9": (103, "A"), ">:": (104, "B"), ">;": (105, "C")}
_SPELLED = {"0": 30, "<": 62, "=": 94}


def code128_values(data: str) -> list[int]:
    """The symbol values (start first) the printer encodes for ^BC mode N field data."""
    start, subset = _STARTS.get(data[:2], (104, "B"))
    i = 2 if data[:2] in _STARTS else 0
    values = [start]
    while i < len(data):
        if data[i] == ">":
            code = data[i + 1]
            i += 2
            if code in _SPELLED and subset != "C":
                values.append(_SPELLED[code])
                continue
            value = 94 + int(code)
            values.append(value)
            if value == 99:
                subset = "C"
            elif value == 100 and subset != "B":
                subset = "B"
            elif value == 101 and subset != "A":
                subset = "A"
        elif subset == "C":
            values.append(int(data[i : i + 2]))
            i += 2
        else:
            values.append(ord(data[i]) - 32)
            i += 1
    return values


def code128_content(values: list[int]) -> tuple[bool, str]:
    """(GS1: FNC1 first, the data with later FNC1s as GS) of Code 128 symbol values."""
    subset = {103: "A", 104: "B", 105: "C"}[values[0]]
    gs1 = len(values) > 1 and values[1] == 102
    out = ""
    for value in values[2 if gs1 else 1 :]:
        if value == 102:
            out += GS
        elif subset == "C" and value < 100:
            out += f"{value:02d}"
        elif value == 99:
            subset = "C"
        elif value == 100 and subset != "B":
            subset = "B"
        elif value == 101 and subset != "A":
            subset = "A"
        else:
            out += chr(value + 32)
    return gs1, out


def code128_png(values: list[int], module: int = 3, height: int = 90) -> bytes:
    """The bars of these symbol values (check character and stop added), as a PNG."""
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    pattern = "".join(code128.CODES[v] for v in [*values, check]) + code128.STOP + "11"
    quiet = 12
    image = Image.new("L", ((len(pattern) + 2 * quiet) * module, height), 255)
    for i, bit in enumerate(pattern):
        if bit == "1":
            x = (quiet + i) * module
            image.paste(0, (x, 10, x + module, height - 10))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- ^BX: Data Matrix, quality 200 -------------------------------------------------------------


def datamatrix_content(field_: Field) -> tuple[bool, str]:
    """(GS1: FNC1 first, the data with later FNC1s as GS) of ^BX field data."""
    escape = field_.params[6] if len(field_.params) > 6 and field_.params[6] else "_"
    data, out, i = field_.data, "", 0
    gs1 = data.startswith(escape + "1")
    if gs1:
        i = 2
    while i < len(data):
        if data[i] == escape:
            nxt = data[i + 1]
            out += escape if nxt == escape else GS if nxt == "1" else f"<{nxt}>"
            i += 2
        else:
            out += data[i]
            i += 1
    return gs1, out
