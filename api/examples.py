"""Examples shown in /docs and /openapi.json for the main operations: a supplier's raw GS1 string
(with its GS separator, JSON-escaped as \\u001d) and the answers it gets."""

from __future__ import annotations

from typing import Any

RAW_GS1 = "]d20110614141000729172712310BB2406-17A\u001d21SN000123"

RECEIPT_SCAN: dict[str, Any] = {
    "gs1_with_serial": {
        "summary": "A supplier's GS1 DataMatrix: GTIN, expiry, lot, then GS and a serial",
        "value": {
            "barcode": RAW_GS1,
            "quantity": 1,
            "supplier": "Example Cryo Ltd",
            "coa_ref": "COA-BB2406-17A",
        },
    }
}

SCAN: dict[str, Any] = {
    "supplier_gs1": {
        "summary": "A supplier's GS1 string, as the scanner sent it (GS between (10) and (21))",
        "value": {"barcode": RAW_GS1, "batch": "B-2026-0042", "step": "fill", "station": "BSC-2"},
    },
    "unit_label": {
        "summary": "One of our unit labels",
        "value": {"barcode": "U-00000001", "batch": "B-2026-0042", "client_scan_id": "tab7-0001"},
    },
    "lot_quantity": {
        "summary": "A lot-tracked component by its lot label, two of them",
        "value": {"barcode": "L-000003", "batch": "B-2026-0042", "quantity": 2},
    },
}

SCAN_ACCEPTED: dict[str, Any] = {
    "id": 17,
    "outcome": "accepted",
    "flags": [
        {
            "code": "EXPIRES_SOON",
            "severity": "warn",
            "message": "Lot 'L-000003' expires on 2026-12-20, within 30 days.",
        }
    ],
    "unit": None,
    "lot": 3,
    "lot_code": "L-000003",
    "component_type": "TUBESET-A",
    "batch": "B-2026-0042",
    "quantity": 2,
    "step": "fill",
    "station": "BSC-2",
    "at": "2026-11-30T09:14:03.512204Z",
}

SCAN_BLOCKED: dict[str, Any] = {
    "type": "https://sutrace.dev/problems/scan-blocked",
    "title": "Scan blocked",
    "status": 409,
    "detail": "Lot 'L-000002' is quarantined; only released lots may be used.",
    "code": "SCAN_BLOCKED",
    "scan_id": 18,
    "outcome": "blocked",
    "flags": [
        {
            "code": "QUARANTINED",
            "severity": "block",
            "message": "Lot 'L-000002' is quarantined; only released lots may be used.",
        }
    ],
}

SCAN_UNKNOWN: dict[str, Any] = {
    "type": "https://sutrace.dev/problems/scan-blocked",
    "title": "Scan blocked",
    "status": 404,
    "detail": "Barcode 'X-123' matches no unit, lot or GS1 label known here.",
    "code": "SCAN_BLOCKED",
    "scan_id": 19,
    "outcome": "blocked",
    "flags": [
        {
            "code": "UNKNOWN_BARCODE",
            "severity": "block",
            "message": "Barcode 'X-123' matches no unit, lot or GS1 label known here.",
        }
    ],
}
