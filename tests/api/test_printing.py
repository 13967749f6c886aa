"""Labels at the printer over HTTP: printers, template versions, print jobs to a fake printer on
127.0.0.1, what the ZPL it received encodes, failures and retries, and label reconciliation."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from services.barcodes import gs1
from services.barcodes.zpl import TEMPLATE_DIR
from services.config import Settings
from tests.support import (
    ADMIN_HEADERS,
    ADMIN_KEY,
    BAG_GTIN,
    Actor,
    Actors,
    FakePrinter,
    assert_problem,
    audit_events,
    change_status,
    closed_port,
    create_batch,
    create_printer,
    create_type,
    receive_lot,
    record_output,
    register_templates,
    yymmdd,
)
from tests.zpl_reader import (
    GS,
    code128_content,
    code128_png,
    code128_values,
    datamatrix_content,
    formats,
)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The app reads its templates from a copy, so a test can change one as a deployment would."""
    folder = tmp_path / "zpl"
    shutil.copytree(TEMPLATE_DIR, folder)
    return Settings(
        database_url=db_url,
        bootstrap_admin_key=ADMIN_KEY,
        label_template_dir=folder,
        printer_timeout_s=3.0,
    )


async def _ready(client: httpx.AsyncClient, actors: Actors) -> tuple[Actor, Actor]:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await register_templates(client, qa)
    await create_type(
        client, qa, "BAG", tracking="serial", gtin=BAG_GTIN, name="Bioreactor bag 2 L"
    )
    await create_type(client, qa, "TUBE", name="Tubing set")
    return qa, warehouse


async def _print(
    client: httpx.AsyncClient, warehouse: Actor, lot_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/lots/{lot_id}/print-jobs",
        json={"printer": "dock-1", **body},
        headers=warehouse.headers,
    )


async def _counts(client: httpx.AsyncClient, actor: Actor, lot_id: int) -> dict[str, int]:
    r = await client.get(f"/lots/{lot_id}", headers=actor.headers)
    assert r.status_code == 200, r.text
    counts: dict[str, int] = r.json()["labels"]
    assert counts["issued"] == counts["applied"] + counts["voided"] + counts["outstanding"]
    return counts


@pytest.mark.req("URS-055")
async def test_lot_labels_reach_the_printer_as_gs1_datamatrix(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB2406-17A", quantity=20)
    with FakePrinter() as printer:
        await create_printer(client, printer.port, dpi=203, stock="4x2in")
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=3)
        assert r.status_code == 201, r.text
        (payload,) = printer.received(1)
    job = r.json()
    assert job["status"] == "sent" and job["output"] == "printer" and job["attempts"] == 1
    assert job["template"]["name"] == "lot" and job["template"]["version"] == 1
    assert job["lot_status"] == "quarantined" and len(job["labels"]) == 3

    (label,) = formats(payload)
    assert label.param("PW") == "812" and label.param("LL") == "406"  # 4 x 2 in at 203 dpi
    assert label.param("PQ").split(",")[0] == "3"
    symbol = label.symbol()
    assert symbol.command == "BX" and symbol.params[:3] == ["N", "6", "200"]  # 0.75 mm modules
    is_gs1, data = datamatrix_content(symbol)
    assert is_gs1, "FNC1 first: a GS1 DataMatrix"
    expiry = yymmdd(_day(lot["expiry_date"]))
    assert data == f"01{BAG_GTIN}17{expiry}10BB2406-17A{GS}91{lot['code']}"
    # what the line's scanner would send for it resolves to this very lot
    parsed = gs1.parse_gs1("]d2" + data)
    assert (parsed.gtin, parsed.batch, parsed.internal) == (BAG_GTIN, "BB2406-17A", lot["code"])
    texts = label.texts
    assert "Bioreactor bag 2 L" in texts and f"Lot {lot['code']}" in texts
    assert "Supplier lot BB2406-17A" in texts and "QUARANTINE" in texts

    assert await _counts(client, qa, lot["id"]) == {
        "issued": 3, "applied": 0, "voided": 0, "outstanding": 3, "reprints": 0,
    }  # fmt: skip
    actions = [e["action"] for e in await audit_events(client, "print_job", job["id"], qa.headers)]
    assert actions == ["print_job.sent", "print_job.create"]


def _day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


@pytest.mark.req("URS-055")
async def test_unit_labels_at_300_dpi_on_2x1_stock(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-7", quantity=3)
    r = await client.post(
        f"/lots/{lot['id']}/units",
        json={"serials": ["SN000777", "SN000778"]},
        headers=warehouse.headers,
    )
    barcodes = [u["barcode"] for u in r.json()["items"]]
    with FakePrinter() as printer:
        await create_printer(client, printer.port, dpi=300, stock="2x1in")
        r = await _print(client, warehouse, lot["id"], kind="unit")
        assert r.status_code == 201, r.text
        r2 = await _print(
            client, warehouse, lot["id"], kind="unit", units=[barcodes[0]],
            symbology="datamatrix", reprint_reason="Smudged on the bag",
        )  # fmt: skip
        assert r2.status_code == 201, r2.text
        linear, matrix = printer.received(2)
    assert r.json()["units"] == barcodes and r2.json()["reprint"] is True

    labels = formats(linear)
    assert len(labels) == 2  # one format per unit
    for label, barcode, serial in zip(labels, barcodes, ["SN000777", "SN000778"], strict=True):
        assert label.param("PW") == "600" and label.param("LL") == "300"
        symbol = label.symbol()
        assert symbol.command == "BC" and symbol.params[-1] == "N"  # mode N: we spell it out
        values = code128_values(symbol.data)
        assert code128_content(values) == (False, barcode)
        # the bars the printer draws from those values decode to the unit barcode
        (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(code128_png(values))))
        assert decoded.text == barcode
        assert f"Serial {serial}" in label.texts
        assert not any("SN SN" in text for text in label.texts)

    (label,) = formats(matrix)
    is_gs1, data = datamatrix_content(label.symbol())
    expiry = yymmdd(_day(lot["expiry_date"]))
    assert is_gs1 and data == f"01{BAG_GTIN}17{expiry}10BB-7{GS}21SN000777"
    counts = await _counts(client, qa, lot["id"])
    assert counts["issued"] == 3 and counts["reprints"] == 1


@pytest.mark.req("URS-055")
async def test_a_reprint_needs_a_reason_and_is_marked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-9")
    with FakePrinter() as printer:
        await create_printer(client, printer.port)
        assert (await _print(client, warehouse, lot["id"], kind="lot", copies=2)).status_code == 201
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=1)
        assert_problem(r, 409, "REPRINT_REASON_REQUIRED")
        r = await _print(
            client, warehouse, lot["id"], kind="lot", copies=1, reprint_reason="Torn at the dock"
        )
        assert r.status_code == 201, r.text
        _, second = printer.received(2)
    assert r.json()["reprint"] is True and r.json()["reprint_reason"] == "Torn at the dock"
    # a lot without a GTIN: Code 128 of the lot code, which fits the stock
    values = code128_values(formats(second)[0].symbol().data)
    assert code128_content(values) == (False, lot["code"])
    labels = (await client.get(f"/lots/{lot['id']}/labels", headers=qa.headers)).json()
    assert [label["reprint"] for label in labels["labels"]] == [False, False, True]
    assert labels["issued"] == 3 and labels["reprints"] == 1


@pytest.mark.req("URS-055")
async def test_an_unreachable_printer_is_a_plain_failure_and_the_retry_prints_once(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-1")
    port = closed_port()
    await create_printer(client, port)
    r = await _print(client, warehouse, lot["id"], kind="lot", copies=2, client_job_id="job-a")
    body = assert_problem(r, 502, "PRINTER_UNREACHABLE")
    assert "refused" in body["detail"]
    job_id = body["print_job"]
    job = (await client.get(f"/print-jobs/{job_id}", headers=qa.headers)).json()
    assert job["status"] == "failed" and "refused" in job["failure"]
    assert (await _counts(client, qa, lot["id"]))["issued"] == 0  # nothing printed, none issued
    actions = [e["action"] for e in await audit_events(client, "print_job", job_id, qa.headers)]
    assert actions == ["print_job.failed", "print_job.create"]

    with FakePrinter(port) as printer:
        # the client retries its request: the same job is sent again, not a new one
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=2, client_job_id="job-a")
        assert r.status_code == 201, r.text
        assert r.json()["id"] == job_id and r.json()["attempts"] == 2
        # and again, once sent: the job as it is, nothing printed twice
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=2, client_job_id="job-a")
        assert r.status_code == 200 and r.json()["id"] == job_id
        r = await client.post(f"/print-jobs/{job_id}/retry", headers=warehouse.headers)
        assert_problem(r, 409, "JOB_ALREADY_SENT")
        assert len(printer.received(1)) == 1
    assert len(printer.jobs) == 1
    assert (await _counts(client, qa, lot["id"]))["issued"] == 2
    r = await _print(client, warehouse, lot["id"], kind="lot", copies=5, client_job_id="job-a")
    assert_problem(r, 409, "CLIENT_JOB_ID_REUSED")


@pytest.mark.req("URS-055")
async def test_explicit_retry_of_a_failed_job(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-2")
    port = closed_port()
    await create_printer(client, port)
    r = await _print(client, warehouse, lot["id"], kind="lot", copies=1)
    job_id = assert_problem(r, 502, "PRINTER_UNREACHABLE")["print_job"]
    r = await client.post(f"/print-jobs/{job_id}/retry", headers=warehouse.headers)
    assert_problem(r, 502, "PRINTER_UNREACHABLE")
    with FakePrinter(port) as printer:
        r = await client.post(f"/print-jobs/{job_id}/retry", headers=warehouse.headers)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "sent" and r.json()["attempts"] == 3
        (payload,) = printer.received(1)
    stored = (await client.get(f"/lots/{lot['id']}/print-jobs", headers=qa.headers)).json()
    assert [j["id"] for j in stored] == [job_id]
    assert payload.startswith(b"^XA")


@pytest.mark.req("URS-055")
async def test_labels_reconcile_after_prints_reprints_applies_and_voids(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-3", quantity=50)
    lot_id = lot["id"]
    with FakePrinter() as printer:
        await create_printer(client, printer.port)
        assert (await _print(client, warehouse, lot_id, kind="lot", copies=5)).status_code == 201
        printer.received(1)
    path = f"/lots/{lot_id}/labels"
    r = await client.post(f"{path}/apply", json={"count": 3}, headers=warehouse.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["applied"], r.json()["outstanding"]) == (3, 2)
    applied = [label["id"] for label in r.json()["labels"] if label["status"] == "applied"]
    outstanding = [label["id"] for label in r.json()["labels"] if label["status"] == "issued"]

    r = await client.post(f"{path}/apply", json={"labels": applied[:1]}, headers=warehouse.headers)
    assert_problem(r, 409, "LABELS_NOT_OUTSTANDING")
    r = await client.post(f"{path}/apply", json={"count": 3}, headers=warehouse.headers)
    assert_problem(r, 409, "LABELS_NOT_OUTSTANDING")
    void = {"labels": outstanding[:1], "reason": "Printed crooked; destroyed"}
    r = await client.post(
        f"{path}/void",
        json={**void, "signature": warehouse.signature("Voided", "wrong password!!")},
        headers=warehouse.headers,
    )
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert (await _counts(client, qa, lot_id))["voided"] == 0
    r = await client.post(
        f"{path}/void",
        json={**void, "signature": warehouse.signature("Voided")},
        headers=warehouse.headers,
    )
    assert r.status_code == 200, r.text
    voided = next(label for label in r.json()["labels"] if label["id"] == outstanding[0])
    assert voided["status"] == "voided" and voided["void_reason"] == void["reason"]
    r = await client.post(
        f"{path}/void",
        json={"count": 1, "reason": "Surplus", "signature": qa.signature("Voided")},
        headers=qa.headers,
    )
    assert r.status_code == 200, r.text
    assert await _counts(client, qa, lot_id) == {
        "issued": 5, "applied": 3, "voided": 2, "outstanding": 0, "reprints": 0,
    }  # fmt: skip
    events = await audit_events(client, "lot", lot_id, qa.headers)
    signed = [e for e in events if e["action"] == "label.void"]
    assert len(signed) == 2 and all(e["signature"]["meaning"] == "Voided" for e in signed)
    r = await client.post(f"{path}/apply", json={"labels": [999999]}, headers=warehouse.headers)
    assert_problem(r, 422, "LABEL_NOT_IN_LOT")


@pytest.mark.req("URS-055")
async def test_rejected_and_recalled_lots_get_no_new_labels(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-4")
    r = await change_status(client, qa, lot["id"], "rejected", reason="Failed inspection")
    assert r.status_code == 200, r.text
    with FakePrinter() as printer:
        await create_printer(client, printer.port)
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=1)
        assert_problem(r, 409, "LOT_NOT_LABELLABLE")
    assert printer.jobs == []
    r = await client.get(f"/lots/{lot['id']}/label", headers=qa.headers)
    assert b"REJECTED - DO NOT USE" in r.content


@pytest.mark.req("URS-055")
async def test_a_changed_template_prints_only_once_qa_registers_it(
    client: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-5")
    assert settings.label_template_dir is not None
    template = settings.label_template_dir / "lot.zpl"
    template.write_text(template.read_text().replace("^PMN", "^PMN\n^MD5"))  # darker print
    with FakePrinter() as printer:
        await create_printer(client, printer.port)
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=1)
        assert_problem(r, 409, "TEMPLATE_NOT_REGISTERED")
        states = (await client.get("/label-templates", headers=qa.headers)).json()
        lot_state = next(s for s in states if s["name"] == "lot")
        assert lot_state["registered_version"] is None and len(lot_state["versions"]) == 1

        register = {"reason": "Darker print for the new ribbon"}
        r = await client.post(
            "/label-templates/lot/register",
            json={**register, "signature": qa.signature("Approved")},
            headers=qa.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 2 and r.json()["sha256"] == lot_state["file_sha256"]
        r = await client.post(
            "/label-templates/lot/register",
            json={**register, "signature": qa.signature("Approved")},
            headers=qa.headers,
        )
        assert_problem(r, 409, "TEMPLATE_ALREADY_REGISTERED")
        r = await client.post(
            "/label-templates/pallet/register",
            json={**register, "signature": qa.signature("Approved")},
            headers=qa.headers,
        )
        assert_problem(r, 404, "TEMPLATE_NOT_FOUND")
        r = await _print(client, warehouse, lot["id"], kind="lot", copies=1)
        assert r.status_code == 201, r.text
        (payload,) = printer.received(1)
    assert r.json()["template"] == {"name": "lot", "version": 2, "sha256": lot_state["file_sha256"]}
    assert b"^MD5" in payload
    (event,) = await audit_events(client, "label_template", "lot v2", qa.headers)
    assert event["action"] == "label_template.register" and event["signature"] is not None
    assert "^MD5" in event["after"]["body"] and event["before"]["version"] == 1


@pytest.mark.req("URS-055")
async def test_a_pdf_sheet_of_labels_is_issued_and_decodes(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-9")
    body = {"kind": "lot", "copies": 31, "paper": "a4", "stock": "2x1in", "client_job_id": "s-1"}
    r = await client.post(f"/lots/{lot['id']}/label-sheets", json=body, headers=warehouse.headers)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/pdf"
    job_id = int(r.headers["x-print-job"])
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 2  # 3 x 10 labels of 2 x 1 in on an A4 page
    width_mm = float(reader.pages[0].mediabox.width) * 25.4 / 72
    assert round(width_mm) == 210
    (image,) = reader.pages[0].images[:1]
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    assert decoded.format == zxingcpp.BarcodeFormat.DataMatrix
    assert decoded.text.endswith(f"(91){lot['code']}")
    assert (await _counts(client, qa, lot["id"]))["issued"] == 31
    again = await client.post(
        f"/lots/{lot['id']}/label-sheets", json=body, headers=warehouse.headers
    )
    assert again.status_code == 200 and int(again.headers["x-print-job"]) == job_id
    assert again.content == r.content
    assert (await _counts(client, qa, lot["id"]))["issued"] == 31


@pytest.mark.req("URS-055")
async def test_printers_are_registered_by_the_admin(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    printer = await create_printer(client, 9100, name="dock-2", dpi=300, stock="2x1in")
    assert printer["active"] is True and printer["port"] == 9100
    r = await client.post(
        "/printers",
        json={"name": "dock-2", "host": "127.0.0.1", "dpi": 203, "stock": "4x2in"},
        headers=ADMIN_HEADERS,
    )
    assert_problem(r, 409, "PRINTER_EXISTS")
    for bad in ({"dpi": 600}, {"stock": "A4"}, {"port": 0}, {"host": "bad host"}):
        body = {"name": "p-x", "host": "10.0.0.7", "dpi": 203, "stock": "4x2in", **bad}
        assert_problem(
            await client.post("/printers", json=body, headers=ADMIN_HEADERS),
            422,
            "VALIDATION_ERROR",
        )
    r = await client.post("/printers/dock-2/deactivate", headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json()["active"] is False
    lot = await receive_lot(client, warehouse, "TUBE", "TS-6")
    r = await client.post(
        f"/lots/{lot['id']}/print-jobs",
        json={"printer": "dock-2", "kind": "lot", "copies": 1},
        headers=warehouse.headers,
    )
    assert_problem(r, 409, "PRINTER_INACTIVE")
    r = await client.post(
        f"/lots/{lot['id']}/print-jobs",
        json={"printer": "nope", "kind": "lot", "copies": 1},
        headers=warehouse.headers,
    )
    assert assert_problem(r, 422, "UNKNOWN_PRINTER")["errors"][0]["field"] == "printer"
    listed = (await client.get("/printers", headers=warehouse.headers)).json()
    assert [p["name"] for p in listed] == ["dock-2"]
    assert_problem(await client.get("/printers/nope", headers=qa.headers), 404, "PRINTER_NOT_FOUND")
    events = await audit_events(client, "printer", "dock-2", qa.headers)
    assert [e["action"] for e in events] == ["printer.deactivate", "printer.create"]


@pytest.mark.req("URS-055")
async def test_the_batch_record_shows_the_labels_of_the_lots_it_made(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _ready(client, actors)
    supervisor = await actors.get("supervisor")
    await create_batch(client, supervisor, "B-LBL-1")
    made = await record_output(client, supervisor, "B-LBL-1", "TUBE", "OUT-1")
    with FakePrinter() as printer:
        await create_printer(client, printer.port)
        assert (
            await _print(client, warehouse, made["id"], kind="lot", copies=4)
        ).status_code == 201
        printer.received(1)
    r = await client.post(
        f"/lots/{made['id']}/labels/apply", json={"count": 3}, headers=warehouse.headers
    )
    assert r.status_code == 200, r.text
    record = (await client.get("/batches/B-LBL-1/genealogy", headers=qa.headers)).json()
    assert record["output_labels"] == [
        {
            "lot": made["id"], "lot_code": made["code"], "issued": 4, "applied": 3,
            "voided": 0, "outstanding": 1, "reprints": 0,
        }
    ]  # fmt: skip
    r = await client.get("/batches/B-LBL-1/genealogy", params={"format": "pdf"}, headers=qa.headers)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "Labels of the lots this batch made" in text
    assert f"{made['code']}: issued 4 = applied 3 + voided 0 + outstanding 1" in text
