"""The batch genealogy as a spreadsheet (CSV) and a layered graph (SVG). Each lists exactly the
items of the JSON trace; the PDF is the batch component record (`record_pdf`)."""

from __future__ import annotations

import csv
import io
from html import escape

from models.genealogy import Genealogy, GenealogyItem

CSV_COLUMNS = [
    "depth",
    "path",
    "used_in",
    "kind",
    "unit",
    "lot",
    "lot_code",
    "component_type",
    "supplier_lot",
    "quantity",
    "status_at_use",
    "status_now",
    "unit_status_now",
    "expiry_date",
    "at",
    "operator",
    "station",
    "step",
    "scan_id",
    "flags",
    "deviations",
]


def to_csv(genealogy: Genealogy) -> bytes:
    """One row per consumed item, the path as one column; UTF-8 with a BOM so that spreadsheet
    programs open it cleanly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in genealogy.items:
        writer.writerow([_cell(item, column) for column in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(item: GenealogyItem, column: str) -> str:
    value = getattr(item, column)
    if column == "path":
        return " > ".join(value)
    if column == "flags":
        return "; ".join(f"{f['code']}" for f in value)
    if column == "deviations":
        return "; ".join(
            f"{d['code']} {d['status']}"
            + (f" ({d['deviation_ref']})" if d["deviation_ref"] else "")
            for d in value
        )
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A cell starting with =, +, - or @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and column != "depth" else text


def to_svg(genealogy: Genealogy) -> bytes:
    """A layered graph: the batch on top, what went into it one layer down, and so on."""
    layers: dict[int, list[str]] = {0: [f"batch {genealogy.batch}"]}
    edges: set[tuple[str, str]] = set()
    for item in genealogy.items:
        for depth, (parent, child) in enumerate(zip(item.path, item.path[1:], strict=False), 1):
            if child not in layers.setdefault(depth, []):
                layers[depth].append(child)
            edges.add((parent, child))
    box_w, box_h, gap_x, gap_y = 170, 34, 24, 70
    width = max(len(nodes) for nodes in layers.values()) * (box_w + gap_x) + gap_x
    height = len(layers) * (box_h + gap_y) + gap_y
    where: dict[str, tuple[float, float]] = {}
    parts: list[str] = []
    for depth, nodes in sorted(layers.items()):
        row_w = len(nodes) * (box_w + gap_x) - gap_x
        for i, node in enumerate(nodes):
            x = (width - row_w) / 2 + i * (box_w + gap_x)
            y = gap_y / 2 + depth * (box_h + gap_y)
            where[node] = (x, y)
    for parent, child in sorted(edges):
        (px, py), (cx, cy) = where[parent], where[child]
        parts.append(
            f'<line x1="{px + box_w / 2:.0f}" y1="{py + box_h:.0f}" '
            f'x2="{cx + box_w / 2:.0f}" y2="{cy:.0f}" stroke="#555" '
            'marker-start="url(#arrow)"/>'
        )
    colours = {"batch": "#dbe9ff", "assembly": "#ffe9c7", "lot": "#e6f4e6", "unit": "#f2f2f2"}
    for node, (x, y) in where.items():
        kind = node.split(" ", 1)[0]
        parts.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" height="{box_h}" rx="6" '
            f'fill="{colours.get(kind, "#fff")}" stroke="#333"/>'
        )
        parts.append(
            f'<text x="{x + box_w / 2:.0f}" y="{y + 21:.0f}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="12">{escape(node)}</text>'
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">'
        f"<title>Genealogy of batch {escape(genealogy.batch)}</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>' + "".join(parts) + "</svg>"
    )
    return svg.encode("utf-8")
