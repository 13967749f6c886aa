"""One document, two renderings: a self-contained HTML page and a PDF that reads on paper.

The executed validation report and the IQ record are built as a `Document` of headings,
paragraphs, field lists, tables and a signature block; `to_html` and `to_pdf` lay it out. The
PDF is A4 with a running header and `page n of m`; tables wrap their text and repeat their
headings on every page. PDF core fonts are Latin-1: other characters are written as `\\uXXXX`
(the HTML keeps them as they are).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fpdf import FPDF, FontFace

TONE_HTML = {"ok": "#dff3e3", "bad": "#fbd9d7", "warn": "#fdf0c8"}
TONE_PDF = {"ok": (223, 243, 227), "bad": (251, 217, 215), "warn": (253, 240, 200)}
GREY = (235, 235, 235)
_TYPOGRAPHY = {
    "\u2014": "-",  # em dash
    "\u2013": "-",  # en dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2192": "->",
    "\u2026": "...",
}


@dataclass
class Cell:
    text: str
    tone: str | None = None  # ok, bad, warn
    bold: bool = False
    link: str | None = None  # an anchor in the HTML (`URS-014`); the PDF shows the text only


Text = str | Cell


@dataclass
class Heading:
    text: str
    level: int = 1  # 1 a section (a new page in the PDF when asked), 2 a subsection
    anchor: str | None = None
    new_page: bool = False


@dataclass
class Paragraph:
    text: str
    small: bool = False


@dataclass
class Fields:
    """A two-column list of names and values."""

    rows: Sequence[tuple[str, Text]]


@dataclass
class Table:
    headings: list[str]
    widths: list[float]  # relative
    rows: Sequence[Sequence[Text]]
    small: bool = False


@dataclass
class Signatures:
    """Empty lines for the people who sign the paper copy."""

    roles: list[str]


Block = Heading | Paragraph | Fields | Table | Signatures


@dataclass
class Document:
    title: str
    subtitle: str
    running_head: str  # printed at the top of every PDF page
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #1b1b1b; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 1px solid #999; }
h3 { margin: 1.4em 0 .4em; font-size: 1.05em; }
.subtitle { color: #555; margin-top: 0; } .small { font-size: .85em; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #ebebeb; } td { overflow-wrap: anywhere; }
table.fields th { width: 28%; font-weight: 600; } table.small { font-size: .82em; }
.sign td { height: 3em; }
@media print { thead { display: table-header-group; } h2 { break-before: page; } }
"""


def _cell_html(value: Text, tag: str = "td") -> str:
    cell = value if isinstance(value, Cell) else Cell(value)
    text = html.escape(cell.text)
    if cell.link:
        text = f'<a href="#{html.escape(cell.link)}">{text}</a>'
    if cell.bold:
        text = f"<b>{text}</b>"
    style = f' style="background:{TONE_HTML[cell.tone]}"' if cell.tone else ""
    return f"<{tag}{style}>{text}</{tag}>"


def _table_html(table: Table) -> str:
    total = sum(table.widths)
    columns = "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in table.widths)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headings)
    body = "".join("<tr>" + "".join(_cell_html(c) for c in row) + "</tr>" for row in table.rows)
    kind = ' class="small"' if table.small else ""
    return f"<table{kind}><colgroup>{columns}</colgroup><thead><tr>{head}</tr></thead>" + (
        f"<tbody>{body}</tbody></table>"
    )


def to_html(document: Document) -> str:
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(document.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(document.title)}</h1>",
        f'<p class="subtitle">{html.escape(document.subtitle)}</p>',
    ]
    for block in document.blocks:
        if isinstance(block, Heading):
            tag = "h2" if block.level == 1 else "h3"
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            parts.append(f"<{tag}{anchor}>{html.escape(block.text)}</{tag}>")
        elif isinstance(block, Paragraph):
            kind = ' class="small"' if block.small else ""
            parts.append(f"<p{kind}>{html.escape(block.text)}</p>")
        elif isinstance(block, Fields):
            rows = "".join(
                f"<tr><th>{html.escape(name)}</th>{_cell_html(value)}</tr>"
                for name, value in block.rows
            )
            parts.append(f'<table class="fields"><tbody>{rows}</tbody></table>')
        elif isinstance(block, Table):
            parts.append(_table_html(block))
        else:
            rows = "".join(
                f"<tr><td>{html.escape(r)}</td><td></td><td></td><td></td></tr>"
                for r in block.roles
            )
            parts.append(
                '<table class="sign"><thead><tr><th>Role</th><th>Name</th><th>Signature</th>'
                f"<th>Date</th></tr></thead><tbody>{rows}</tbody></table>"
            )
    parts.append("</body></html>\n")
    return "\n".join(parts)


# --- PDF ---------------------------------------------------------------------------------------


def latin1(text: str) -> str:
    """Text the PDF core fonts can show: typographic marks simplified, the rest escaped."""
    for mark, plain in _TYPOGRAPHY.items():
        text = text.replace(mark, plain)
    return "".join(c if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)


class _Pdf(FPDF):
    def __init__(self, running_head: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.running_head = latin1(running_head)
        self.set_margins(14, 16, 14)
        self.set_auto_page_break(auto=True, margin=16)
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font("Helvetica", size=7)
        self.set_text_color(90, 90, 90)
        self.set_y(8)
        self.cell(0, 4, self.running_head, align="L")
        self.set_text_color(0, 0, 0)
        self.set_y(16)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("Helvetica", size=7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def room_for(self, height: float) -> None:
        """Start a new page unless `height` mm fit on this one (keeps a heading with its text)."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()


def _pdf_table(pdf: _Pdf, table: Table) -> None:
    size = 6.5 if table.small else 7.5
    pdf.set_font("Helvetica", size=size)
    with pdf.table(
        col_widths=tuple(table.widths),
        width=pdf.epw,
        text_align="LEFT",
        v_align="TOP",
        line_height=size * 0.45,
        padding=(0.7, 1.0),
        headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
        repeat_headings=1,
    ) as grid:
        heading = grid.row()
        for title in table.headings:
            heading.cell(latin1(title))
        for values in table.rows:
            row = grid.row()
            for value in values:
                cell = value if isinstance(value, Cell) else Cell(value)
                style = FontFace(
                    emphasis="BOLD" if cell.bold else None,
                    fill_color=TONE_PDF[cell.tone] if cell.tone else None,
                )
                row.cell(latin1(cell.text), style=style)
    pdf.ln(3)


def _pdf_fields(pdf: _Pdf, fields: Fields) -> None:
    rows: list[list[Text]] = [[Cell(name, bold=True), value] for name, value in fields.rows]
    pdf.set_font("Helvetica", size=8)
    with pdf.table(
        col_widths=(28, 72),
        width=pdf.epw,
        text_align="LEFT",
        v_align="TOP",
        line_height=3.6,
        padding=(0.8, 1.2),
        first_row_as_headings=False,
    ) as grid:
        for values in rows:
            row = grid.row()
            for value in values:
                cell = value if isinstance(value, Cell) else Cell(value)
                style = FontFace(
                    emphasis="BOLD" if cell.bold else None,
                    fill_color=TONE_PDF[cell.tone] if cell.tone else None,
                )
                row.cell(latin1(cell.text), style=style)
    pdf.ln(3)


def _pdf_signatures(pdf: _Pdf, signatures: Signatures) -> None:
    pdf.room_for(16 * (len(signatures.roles) + 1))
    pdf.set_font("Helvetica", size=8)
    with pdf.table(
        col_widths=(22, 30, 30, 18),
        width=pdf.epw,
        text_align="LEFT",
        v_align="TOP",
        line_height=4.5,
        headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
    ) as grid:
        heading = grid.row()
        for title in ("Role", "Name", "Signature", "Date"):
            heading.cell(title)
        for role in signatures.roles:
            row = grid.row()
            for text in (latin1(role) + "\n\n\n", "", "", ""):  # room to write by hand
                row.cell(text)
    pdf.ln(3)


def to_pdf(document: Document) -> bytes:
    pdf = _Pdf(document.running_head)
    pdf.set_title(latin1(document.title))
    pdf.set_creator("sutrace validation")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 7, latin1(document.title), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font("Helvetica", size=9)
    pdf.set_text_color(70, 70, 70)
    pdf.multi_cell(0, 4.5, latin1(document.subtitle), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    for block in document.blocks:
        _pdf_block(pdf, block)
    output: Any = pdf.output()
    return bytes(output)


def _pdf_block(pdf: _Pdf, block: Block) -> None:
    if isinstance(block, Heading):
        if block.new_page:
            pdf.add_page()
        else:
            pdf.room_for(30 if block.level == 1 else 22)
        pdf.set_font("Helvetica", "B", 13 if block.level == 1 else 10)
        pdf.ln(1 if block.level == 1 else 2)
        pdf.multi_cell(
            0,
            6 if block.level == 1 else 5,
            latin1(block.text),
            new_x="LMARGIN",
            new_y="NEXT",
            align="L",
        )
        pdf.ln(1)
    elif isinstance(block, Paragraph):
        pdf.set_font("Helvetica", size=7.5 if block.small else 9)
        pdf.multi_cell(
            0,
            3.6 if block.small else 4.4,
            latin1(block.text),
            new_x="LMARGIN",
            new_y="NEXT",
            align="L",
        )
        pdf.ln(1.5)
    elif isinstance(block, Fields):
        _pdf_fields(pdf, block)
    elif isinstance(block, Table):
        _pdf_table(pdf, block)
    else:
        _pdf_signatures(pdf, block)
