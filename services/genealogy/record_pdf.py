"""The batch component record as a PDF for a QA reviewer: every table wraps its text inside its
cells (fpdf2 tables), repeats its heading on each page, and shows times in the site's zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from models.genealogy import BatchRecord

HEADING = FontFace(emphasis="BOLD", fill_color=(225, 230, 238))
GREY = (90, 90, 90)


class _Record(FPDF):
    def __init__(self, record: BatchRecord) -> None:
        super().__init__(orientation="L", format="A4")
        self.record = record
        self.zone = ZoneInfo(record.zone)
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=16)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Helvetica", size=7)
        self.set_text_color(*GREY)
        self.cell(0, 4, _latin(f"Batch component record {self.record.batch} (continued)"))
        self.set_text_color(0, 0, 0)
        self.ln(6)

    def footer(self) -> None:
        head = self.record.audit_head
        self.set_y(-13)
        self.set_font("Helvetica", size=7)
        self.set_text_color(*GREY)
        self.multi_cell(
            0,
            3.5,
            _latin(
                f"Generated {self.local(self.record.generated_at)} by sutrace. Audit chain head: "
                f"seq {head.seq}, hash {head.hash}. Page {self.page_no()}/{{nb}}"
            ),
        )
        self.set_text_color(0, 0, 0)

    def local(self, at: datetime | str | None) -> str:
        """A time in the site's zone, with the zone's abbreviation: 2026-11-30 10:14:03 CET."""
        if at is None:
            return "-"
        moment = datetime.fromisoformat(at.replace("Z", "+00:00")) if isinstance(at, str) else at
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def section(self, title: str) -> None:
        if self.get_y() > self.h - 45:  # keep a heading with the start of its table
            self.add_page()
        self.ln(3)
        self.set_font("Helvetica", "B", 10)
        self.cell(0, 6, _latin(title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=7)

    def table_of(self, widths: tuple[int, ...], header: list[str], rows: list[list[str]]) -> None:
        if not rows:
            self.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
            return
        self.set_font("Helvetica", size=7)
        with self.table(
            col_widths=widths,
            headings_style=HEADING,
            line_height=3.6,
            text_align="LEFT",
            padding=1,
        ) as table:
            for values in [header, *rows]:
                row = table.row()
                for value in values:
                    row.cell(_latin(value))


def to_pdf(record: BatchRecord) -> bytes:
    pdf = _Record(record)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _latin(f"Batch component record: {record.batch}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(
        0,
        5,
        _latin(
            f"Product: {record.product}    COI: {record.coi or '-'}    Status: {record.status}    "
            f"Times in {record.zone}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    _lifecycle(pdf, record)
    _bom(pdf, record)
    _items(pdf, record)
    _lots(pdf, record)
    _flags(pdf, record)
    _blocked(pdf, record)
    _output_labels(pdf, record)
    pdf.ln(8)
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(
        0,
        6,
        "Reviewed by (QA): ______________________   Date: ____________   "
        "Signature: ______________________",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())


def _signed(signature: dict[str, Any] | None, pdf: _Record) -> str:
    if not signature:
        return "-"
    return (
        f"{signature.get('full_name')} ({signature.get('username')}), "
        f'{pdf.local(signature.get("at"))}: "{signature.get("meaning")}"'
    )


def _lifecycle(pdf: _Record, record: BatchRecord) -> None:
    pdf.section("Batch")
    rows = [
        [
            e.event,
            pdf.local(e.at),
            f"{e.full_name or '-'} ({e.by or '-'})",
            _signed(e.signature, pdf),
            e.reason or "-",
        ]
        for e in record.lifecycle
    ]
    pdf.table_of((16, 30, 40, 80, 111), ["Event", "When", "By", "Signature", "Reason"], rows)
    if record.status == "completed":
        pdf.ln(1)
        pdf.multi_cell(
            0,
            4,
            _latin(f"Completion justification: {record.justification or 'none (BOM complete)'}"),
            new_x="LMARGIN",
            new_y="NEXT",
        )


def _bom(pdf: _Record, record: BatchRecord) -> None:
    pdf.section("Bill of materials: planned and consumed")
    rows = [
        [
            line["step"] or "any",
            line["component_type"],
            str(line["quantity"]),
            str(line["consumed"]),
            str(line["remaining"]),
        ]
        for line in record.bom
    ]
    pdf.table_of(
        (40, 80, 25, 25, 25), ["Step", "Component type", "Planned", "Consumed", "Remaining"], rows
    )


def _items(pdf: _Record, record: BatchRecord) -> None:
    pdf.section("Components used (backward trace, every depth)")
    names = {c.lot: c.name for c in record.components}
    rows = [
        [
            str(i.depth),
            f"{names.get(i.lot, '')} ({i.component_type})",
            i.unit or "-",
            i.lot_code,
            i.supplier_lot,
            str(i.quantity),
            i.expiry_date.isoformat() if i.expiry_date else "-",
            f"{i.status_at_use or '-'} / {i.status_now}",
            pdf.local(i.at),
            f"{record.people.get(i.operator, '-')} ({i.operator})",
            f"{i.step or '-'} / {i.station or '-'}",
            i.used_in,
            "; ".join(
                [f["code"] for f in i.flags]
                + [f"deviation {d['deviation_ref']}" for d in i.deviations if d["deviation_ref"]]
            )
            or "-",
        ]
        for i in record.items
    ]
    header = [
        "D",
        "Component",
        "Unit",
        "Lot",
        "Supplier lot",
        "Qty",
        "Expiry",
        "Status at use / now",
        "Used at",
        "Operator",
        "Step / station",
        "Used in",
        "Flags at scan",
    ]
    pdf.table_of((5, 34, 18, 16, 20, 8, 17, 24, 27, 30, 22, 20, 36), header, rows)


def _lots(pdf: _Record, record: BatchRecord) -> None:
    pdf.section("Lots")
    rows = [
        [
            c.lot_code,
            f"{c.name} ({c.component_type})",
            c.gtin or "-",
            c.supplier or "-",
            c.supplier_lot,
            c.coa_ref or "-",
            c.expiry_date.isoformat() if c.expiry_date else "-",
            c.status_now,
            _signed(c.released_by, pdf),
        ]
        for c in record.components
    ]
    header = [
        "Lot",
        "Component",
        "GTIN",
        "Supplier",
        "Supplier lot",
        "CoA",
        "Expiry",
        "Now",
        "Released by",
    ]
    pdf.table_of((16, 45, 25, 30, 22, 25, 17, 17, 80), header, rows)


def _flags(pdf: _Record, record: BatchRecord) -> None:
    pdf.section("Flags and deviations")
    flags: dict[int, dict[str, Any]] = {f["id"]: f for f in record.flags}
    for item in record.items:  # deviations of the batches that made what went in
        for deviation in item.deviations:
            flags.setdefault(deviation["id"], {**deviation, "batch": item.used_in})
    rows = []
    for flag in flags.values():
        resolution = flag.get("resolution") or {}
        rows.append(
            [
                flag.get("batch") or record.batch,
                flag["code"],
                flag["status"],
                flag["message"],
                flag.get("unit") or flag.get("lot_code") or "-",
                flag.get("deviation_ref") or "-",
                pdf.local(flag.get("raised_at")) if flag.get("raised_at") else "-",
                resolution.get("reason") or "-",
                _signed(resolution.get("signature"), pdf),
            ]
        )
    header = [
        "Batch",
        "Code",
        "Status",
        "Message",
        "Unit / lot",
        "Deviation",
        "Raised",
        "Resolution reason",
        "Signed",
    ]
    pdf.table_of((16, 49, 14, 47, 18, 20, 27, 38, 48), header, rows)


def _blocked(pdf: _Record, record: BatchRecord) -> None:
    pdf.section("Blocked attempts")
    rows = []
    for b in record.blocked:
        override = b.override
        rows.append(
            [
                str(b.scan_id),
                pdf.local(b.at),
                f"{b.operator_name or '-'} ({b.operator})",
                b.barcode.replace("\x1d", "<GS>"),
                f"{b.step or '-'} / {b.station or '-'}",
                "; ".join(f"{f['code']}: {f['message']}" for f in b.flags),
                (
                    f"Overridden as {override['deviation_ref']} by "
                    f"{record.people.get(override['by'], override['by'])}: {override['reason']}"
                )
                if override
                else "Not used",
            ]
        )
    header = ["Scan", "At", "Operator", "Barcode", "Step / station", "Flags", "Outcome"]
    pdf.table_of((12, 27, 32, 40, 22, 90, 54), header, rows)


def _output_labels(pdf: _Record, record: BatchRecord) -> None:
    """21 CFR 211.130: the labels issued for what the batch made, reconciled."""
    pdf.section("Labels of the lots this batch made")
    pdf.set_font("Helvetica", size=8)
    if not record.output_labels:
        pdf.cell(0, 5, "No lot made yet.", new_x="LMARGIN", new_y="NEXT")
    for made in record.output_labels:
        balance = "balanced" if made.outstanding == 0 else f"{made.outstanding} outstanding"
        line = (
            f"{made.lot_code}: issued {made.issued} = applied {made.applied} + voided "
            f"{made.voided} + outstanding {made.outstanding} ({made.reprints} reprints); {balance}."
        )
        pdf.cell(0, 5, _latin(line), new_x="LMARGIN", new_y="NEXT")


def _latin(text: str) -> str:
    """The PDF core fonts are Latin-1: anything else is shown as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")
