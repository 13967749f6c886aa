"""Test helpers: users of each role with their own keys and passwords, problem assertions."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from models.users import Role, UserCreate
from services.trust import enrolment, users

ADMIN_KEY = "test-bootstrap-admin-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    username: str
    role: Role
    key: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def signature(self, meaning: str = "Approved", password: str | None = None) -> dict[str, str]:
        return {"password": password or self.password, "meaning": meaning}


class Actors:
    """Creates users on demand through the services, with passwords of their own."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self._made: dict[str, Actor] = {}
        self.admin = Actor("admin", Role.admin, ADMIN_KEY, "")

    async def get(self, role: Role | str, name: str | None = None) -> Actor:
        role = Role(role)
        username = name or f"{role.value}1"
        if username in self._made:
            return self._made[username]
        async with self.app.state.sessionmaker() as session, session.begin():
            # As in real use: the admin creates the user, the user exchanges the enrolment
            # code for their own password and key.
            data = UserCreate(username=username, full_name=f"Test {username.title()}", role=role)
            now = datetime.now(UTC)
            _, _, code = await users.create_user(session, "admin", data, now, timedelta(hours=1))
            done = await enrolment.exchange(
                session, username, code, now, password=PASSWORD, want_key=True
            )
            assert done.key is not None
            key = done.key[1]
        actor = Actor(username, role, key, PASSWORD)
        self._made[username] = actor
        return actor


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code: a status alone would pass
    for any refusal of that class, including one for another reason."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert {"type", "title", "code"} <= body.keys()
    assert body["code"] == code, body
    return body


# --- warehouse and QA: component types, lots, units, the audit trail ------------------------

GS = "\x1d"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}
INSPECTION_OK = {"coa_reviewed": True, "packaging_intact": True, "label_correct": True}
LOT_FIELDS = {
    "id",
    "code",
    "component_type",
    "supplier_lot",
    "supplier",
    "quantity_received",
    "quantity_left",
    "expiry_date",
    "retest_date",
    "manufactured_on",
    "coa_ref",
    "status",
    "received_at",
    "received_by",
    "source_batch",
    "release",
    "labels",
}


def audited_lot(lot: dict[str, Any]) -> dict[str, Any]:
    """A lot as the API shows it, as its audit snapshots hold it: without the label counts
    (each label has its own events) and a receipt's warnings and registered units."""
    return {k: v for k, v in lot.items() if k not in {"labels", "warnings", "units"}}


UNIT_FIELDS = {
    "id",
    "barcode",
    "serial",
    "lot",
    "lot_code",
    "component_type",
    "status",
    "expiry_date",
    "usable",
    "blocking",
}
_DEFAULT_EXPIRY = date.min  # a sentinel: "a year from today"


def site_today() -> date:
    """Today as the service sees it: the date in SITE_TIMEZONE (UTC in the tests)."""
    return datetime.now(UTC).date()


async def create_type(
    client: httpx.AsyncClient,
    qa: Actor,
    code: str,
    *,
    tracking: str = "lot",
    gtin: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Register a component type as QA; returns the created type."""
    body: dict[str, Any] = {
        "code": code,
        "name": f"{code} name",
        "category": "bag",
        "tracking": tracking,
        "risk": "high",
        **extra,
    }
    if gtin is not None:
        body["gtin"] = gtin
    r = await client.post("/component-types", json=body, headers=qa.headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def receive_lot(
    client: httpx.AsyncClient,
    warehouse: Actor,
    component_type: str,
    supplier_lot: str = "SL-1",
    quantity: int = 10,
    expiry: date | None = _DEFAULT_EXPIRY,
    **extra: Any,
) -> dict[str, Any]:
    """Receive a lot (POST /lots) as the warehouse; expiry defaults to a year from today."""
    if expiry == _DEFAULT_EXPIRY:
        expiry = site_today() + timedelta(days=365)
    body: dict[str, Any] = {
        "component_type": component_type,
        "supplier_lot": supplier_lot,
        "quantity": quantity,
        **extra,
    }
    if expiry is not None:
        body["expiry_date"] = expiry.isoformat()
    r = await client.post("/lots", json=body, headers=warehouse.headers)
    assert r.status_code == 201, r.text
    lot: dict[str, Any] = r.json()
    return lot


async def change_status(
    client: httpx.AsyncClient,
    qa: Actor,
    lot_id: int,
    status: str,
    *,
    reason: str = "QA decision",
    inspection: dict[str, bool] | None = None,
    password: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "signature": qa.signature(f"Lot {status}", password),
    }
    if inspection is not None:
        body["inspection"] = inspection
    return await client.post(f"/lots/{lot_id}/status", json=body, headers=qa.headers)


async def release_lot(client: httpx.AsyncClient, qa: Actor, lot_id: int) -> dict[str, Any]:
    """Release a lot that has a coa_ref, with a complete inspection."""
    r = await change_status(client, qa, lot_id, "released", inspection=INSPECTION_OK)
    assert r.status_code == 200, r.text
    lot: dict[str, Any] = r.json()
    return lot


async def audit_seq(client: httpx.AsyncClient) -> int:
    """The audit head's seq, read with the admin key."""
    r = await client.get("/audit/head", headers=ADMIN_HEADERS)
    assert r.status_code == 200, r.text
    seq: int = r.json()["seq"]
    return seq


async def audit_events(
    client: httpx.AsyncClient, entity_type: str, entity_id: str | int, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every audit event of one entity, newest first."""
    r = await client.get(
        "/audit",
        params={"entity_type": entity_type, "entity_id": str(entity_id), "limit": 500},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def events_since(client: httpx.AsyncClient, seq: int) -> list[dict[str, Any]]:
    """Audit events after `seq`, oldest first (admin key)."""
    r = await client.get("/audit", params={"limit": 500}, headers=ADMIN_HEADERS)
    assert r.status_code == 200, r.text
    return sorted((e for e in r.json()["items"] if e["seq"] > seq), key=lambda e: e["seq"])


async def lot_total(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    r = await client.get("/lots", headers=headers)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


# --- the line: batches, scans, GS1 strings ---------------------------------------------------

BAG_GTIN = "10614141000729"
SET_GTIN = "00614141003198"
KIT_GTIN = "04006381333931"


def yymmdd(day: date) -> str:
    """A date as a GS1 (17)/(11) field."""
    return day.strftime("%y%m%d")


def gs1_string(
    gtin: str,
    *,
    expiry: date | None = None,
    lot: str | None = None,
    serial: str | None = None,
    internal: str | None = None,
    prefix: str = "]C1",
    suffix: str = "",
) -> str:
    """A GS1 element string as a scanner sends it: fixed-length fields first, each
    variable-length field but the last ended by GS."""
    fixed = "01" + gtin + (("17" + yymmdd(expiry)) if expiry is not None else "")
    variable = [
        ai + value
        for ai, value in (("10", lot), ("21", serial), ("91", internal))
        if value is not None
    ]
    return prefix + fixed + GS.join(variable) + suffix


def lot_label(gtin: str, lot: dict[str, Any], prefix: str = "]C1", suffix: str = "") -> str:
    """Our own GS1-128 lot label: (01)(17)(10)(91)<lot code>."""
    expiry = date.fromisoformat(lot["expiry_date"]) if lot["expiry_date"] else None
    return gs1_string(
        gtin,
        expiry=expiry,
        lot=lot["supplier_lot"],
        internal=lot["code"],
        prefix=prefix,
        suffix=suffix,
    )


async def released_lot(
    client: httpx.AsyncClient,
    qa: Actor,
    warehouse: Actor,
    component_type: str,
    supplier_lot: str = "SL-1",
    quantity: int = 10,
    expiry: date | None = _DEFAULT_EXPIRY,
    **extra: Any,
) -> dict[str, Any]:
    """Receive a lot with a CoA and release it; returns the released lot."""
    extra.setdefault("coa_ref", f"COA-{supplier_lot}")
    lot = await receive_lot(
        client, warehouse, component_type, supplier_lot, quantity, expiry, **extra
    )
    return await release_lot(client, qa, lot["id"])


async def add_units(
    client: httpx.AsyncClient, warehouse: Actor, lot_id: int, count: int = 1
) -> list[str]:
    """Register `count` units of a serial lot; returns their barcodes."""
    r = await client.post(f"/lots/{lot_id}/units", json={"count": count}, headers=warehouse.headers)
    assert r.status_code == 201, r.text
    return [u["barcode"] for u in r.json()["items"]]


async def record_output(
    client: httpx.AsyncClient,
    supervisor: Actor,
    batch: str,
    component_type: str,
    supplier_lot: str,
    *,
    quantity: int = 10,
    days: int = 90,
) -> dict[str, Any]:
    """A lot made by `batch` (POST /batches/{n}/outputs, with a CoA); returns it, quarantined."""
    body = {
        "component_type": component_type,
        "supplier_lot": supplier_lot,
        "quantity": quantity,
        "expiry_date": (site_today() + timedelta(days=days)).isoformat(),
        "coa_ref": f"COA-{supplier_lot}",
    }
    r = await client.post(f"/batches/{batch}/outputs", json=body, headers=supervisor.headers)
    assert r.status_code == 201, r.text
    lot: dict[str, Any] = r.json()
    return lot


async def assemble(
    client: httpx.AsyncClient,
    warehouse: Actor,
    component_type: str,
    parts: list[str | dict[str, Any]],
) -> dict[str, Any]:
    """Build an assembly from unit barcodes and `{lot_id, quantity}` parts; returns its unit."""
    components = [{"barcode": p} if isinstance(p, str) else p for p in parts]
    r = await client.post(
        "/assemblies",
        json={"component_type": component_type, "components": components},
        headers=warehouse.headers,
    )
    assert r.status_code == 201, r.text
    unit: dict[str, Any] = r.json()
    return unit


async def get_json(client: httpx.AsyncClient, path: str, actor: Actor, **params: Any) -> Any:
    """GET a resource that must exist; returns its JSON."""
    r = await client.get(path, params=params or None, headers=actor.headers)
    assert r.status_code == 200, (path, r.text)
    return r.json()


async def create_batch(
    client: httpx.AsyncClient,
    supervisor: Actor,
    batch_number: str,
    *,
    bom: list[dict[str, Any]] | None = None,
    coi: str | None = None,
    start: bool = True,
) -> dict[str, Any]:
    """Plan a batch (and start it unless told otherwise); returns the batch as it now is."""
    body: dict[str, Any] = {"batch_number": batch_number, "product": "CAR-T autologous"}
    if bom is not None:
        body["bom"] = bom
    if coi is not None:
        body["coi"] = coi
    r = await client.post("/batches", json=body, headers=supervisor.headers)
    assert r.status_code == 201, r.text
    batch: dict[str, Any] = r.json()
    if start:
        r = await client.post(f"/batches/{batch_number}/start", headers=supervisor.headers)
        assert r.status_code == 200, r.text
        batch = r.json()
    return batch


async def complete_batch(
    client: httpx.AsyncClient,
    supervisor: Actor,
    batch_number: str,
    justification: str | None = None,
    password: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"signature": supervisor.signature("Batch complete", password)}
    if justification is not None:
        body["justification"] = justification
    return await client.post(
        f"/batches/{batch_number}/complete", json=body, headers=supervisor.headers
    )


async def abort_batch(
    client: httpx.AsyncClient, supervisor: Actor, batch_number: str, reason: str = "Cells lost"
) -> httpx.Response:
    body = {"reason": reason, "signature": supervisor.signature("Batch aborted")}
    return await client.post(
        f"/batches/{batch_number}/abort", json=body, headers=supervisor.headers
    )


async def post_scan(
    client: httpx.AsyncClient, actor: Actor, barcode: str, batch: str, **extra: Any
) -> httpx.Response:
    """POST /scans with the raw barcode; `extra` adds step, station, quantity, client_scan_id."""
    body = {"barcode": barcode, "batch": batch, **extra}
    return await client.post("/scans", json=body, headers=actor.headers)


async def scan_ok(
    client: httpx.AsyncClient, actor: Actor, barcode: str, batch: str, **extra: Any
) -> dict[str, Any]:
    """A scan that must be accepted; returns the answer."""
    r = await post_scan(client, actor, barcode, batch, **extra)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert body["outcome"] == "accepted", body
    return body


def assert_blocked(response: httpx.Response, status: int, *codes: str) -> dict[str, Any]:
    """A blocked scan: a SCAN_BLOCKED problem with its stored scan id and exactly these
    blocking flag codes (in any order); returns the problem body."""
    body = assert_problem(response, status, "SCAN_BLOCKED")
    assert isinstance(body["scan_id"], int), body
    assert body["outcome"] == "blocked", body
    blocking = sorted(f["code"] for f in body["flags"] if f["severity"] == "block")
    assert blocking == sorted(codes), body["flags"]
    for flag in body["flags"]:
        assert set(flag) >= {"code", "severity", "message"}, flag
        assert flag["message"], flag
    return body


def flag_message(body: dict[str, Any], code: str) -> str:
    """The message of the one flag with this code in a scan answer or problem."""
    [message] = [f["message"] for f in body["flags"] if f["code"] == code]
    assert isinstance(message, str)
    return message


async def batch_scans(client: httpx.AsyncClient, actor: Actor, batch: str) -> list[dict[str, Any]]:
    """The batch's stored scans, oldest first."""
    page = await get_json(client, f"/batches/{batch}/scans", actor, limit=500)
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    return items


async def batch_flags(
    client: httpx.AsyncClient, actor: Actor, batch: str, status: str | None = None
) -> list[dict[str, Any]]:
    """The batch's flags (GET /flags?batch=), optionally of one status."""
    params: dict[str, Any] = {"batch": batch, "limit": 500}
    if status is not None:
        params["status"] = status
    page = await get_json(client, "/flags", actor, **params)
    items: list[dict[str, Any]] = page["items"]
    return items


_shared_password_hash: list[str] = []


async def staff(actors: Actors, *roles: Role | str) -> list[Actor]:
    """Users of these roles (usernames as `Actors.get` names them: `qa1`, `operator1`), made in
    one transaction, each with a key of their own from the service.

    Hashing a password with argon2 dominates a short test's run time, so the users are stored
    directly with one hash of PASSWORD computed once per run; signing still verifies it with
    argon2. A second user of a role: pass `"qa:qa2"`.
    """
    from models.users import User
    from services.trust.passwords import hash_password

    if not _shared_password_hash:
        _shared_password_hash.append(await hash_password(PASSWORD))
    wanted: list[tuple[str, Role]] = []
    for spec in roles:
        role_text, _, name = str(spec).partition(":")
        role = Role(role_text)
        wanted.append((name or f"{role.value}1", role))
    made: list[Actor] = []
    async with actors.app.state.sessionmaker() as session, session.begin():
        for username, role in wanted:
            if username in actors._made:
                continue
            user = User(
                username=username,
                full_name=f"Test {username.title()}",
                role=role,
                password_hash=_shared_password_hash[0],
                password_temporary=False,
                created_at=datetime.now(UTC),
                created_by="admin",
            )
            session.add(user)
            await session.flush()
            _, key = await users.issue_own_key(session, user, datetime.now(UTC))
            actors._made[username] = Actor(username, role, key, PASSWORD)
    for username, _ in wanted:
        made.append(actors._made[username])
    return made


@dataclass
class Line:
    """The people at the line: one user of each production role."""

    qa: Actor
    warehouse: Actor
    supervisor: Actor
    operator: Actor


async def line_staff(actors: Actors) -> Line:
    await staff(actors, "qa", "warehouse", "supervisor", "operator")
    return Line(
        qa=await actors.get("qa"),
        warehouse=await actors.get("warehouse"),
        supervisor=await actors.get("supervisor"),
        operator=await actors.get("operator"),
    )


# --- label printers ---------------------------------------------------------------------------


class FakePrinter:
    """A label printer on 127.0.0.1: a thread takes each connection's bytes as one job."""

    def __init__(self, port: int = 0) -> None:
        self._socket = socket.create_server(("127.0.0.1", port))
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self.jobs: list[bytes] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FakePrinter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
            with self._changed:
                self.jobs.append(b"".join(chunks))
                self._changed.notify_all()

    def received(self, count: int) -> list[bytes]:
        """The first `count` jobs, waiting (boundedly) for the thread to finish reading them."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.jobs) >= count, timeout=10)
            assert len(self.jobs) >= count, f"the printer received {len(self.jobs)} jobs"
            return self.jobs[:count]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port: int = probe.getsockname()[1]
    return port


async def register_templates(client: httpx.AsyncClient, qa: Actor) -> None:
    """QA registers every ZPL template as deployed (what a fresh installation does first)."""
    for name in ("lot", "unit"):
        r = await client.post(
            f"/label-templates/{name}/register",
            json={"reason": "Initial label design", "signature": qa.signature("Approved")},
            headers=qa.headers,
        )
        assert r.status_code == 201, r.text


async def create_printer(
    client: httpx.AsyncClient, port: int, *, name: str = "dock-1", **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "host": "127.0.0.1", "port": port, "dpi": 203, "stock": "4x2in", **extra}
    r = await client.post("/printers", json=body, headers=ADMIN_HEADERS)
    assert r.status_code == 201, r.text
    printer: dict[str, Any] = r.json()
    return printer


@contextmanager
def statements(app: FastAPI, left_out: Callable[[str], bool]) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile (whitespace collapsed), apart from those
    `left_out` names: the audit sequencer runs on its own every 0.2 s, and its rounds can fall
    inside what a test counts."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        sql = " ".join(str(args[2]).split())
        if not left_out(sql):
            seen.append(sql)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
