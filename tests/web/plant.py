"""A plant set up over HTTP on a served app, as its admin, QA and warehouse would do it with
their API keys, so that the browser tests start where people would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from tests.support import ADMIN_HEADERS, BAG_GTIN, PASSWORD, SET_GTIN, site_today

PIN = "482916"


@dataclass
class Person:
    username: str
    headers: dict[str, str]
    password: str = PASSWORD


class Plant:
    """The served app at `base`, talked to with API keys (admin first)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=f"{base}/api/v1", timeout=30)

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, headers: dict[str, str], status: int = 200, **kw: Any
    ) -> Any:
        r = self.http.request(method, path, headers=headers, **kw)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def person(self, username: str, role: str) -> Person:
        """The admin creates the user; the user enrols with their own password and a key."""
        made = self.call(
            "POST",
            "/users",
            ADMIN_HEADERS,
            201,
            json={"username": username, "full_name": f"{username.title()} Person", "role": role},
        )
        done = self.call(
            "POST",
            "/enrolment",
            {},
            json={
                "username": username,
                "code": made["enrolment"]["code"],
                "password": PASSWORD,
                "pin": PIN,
                "key": True,
            },
        )
        return Person(username, {"Authorization": f"Bearer {done['key']['key']}"})

    def line_staff(self) -> tuple[Person, Person, Person, Person]:
        """QA, warehouse, a supervisor and an operator: who a line's scans need."""
        return (
            self.person("qa1", "qa"),
            self.person("warehouse1", "warehouse"),
            self.person("supervisor1", "supervisor"),
            self.person("operator1", "operator"),
        )

    def badge(self, person: Person, badge: str) -> None:
        self.call(
            "POST", f"/users/{person.username}/badges", ADMIN_HEADERS, 201, json={"badge": badge}
        )

    def station_code(self, name: str) -> str:
        made = self.call(
            "POST",
            "/stations",
            ADMIN_HEADERS,
            201,
            json={"name": name, "location": f"{name} location", "kind": "line"},
        )
        code: str = made["enrolment"]["code"]
        return code

    def component_type(self, qa: Person, code: str, gtin: str, tracking: str = "lot") -> None:
        body = {
            "code": code,
            "name": f"{code} name",
            "category": "bag",
            "tracking": tracking,
            "risk": "high",
            "gtin": gtin,
        }
        self.call("POST", "/component-types", qa.headers, 201, json=body)

    def lot(
        self,
        warehouse: Person,
        component_type: str,
        supplier_lot: str,
        *,
        quantity: int = 10,
        expiry: date | None = None,
    ) -> dict[str, Any]:
        body = {
            "component_type": component_type,
            "supplier_lot": supplier_lot,
            "quantity": quantity,
            "expiry_date": (expiry or site_today() + timedelta(days=365)).isoformat(),
            "coa_ref": f"COA-{supplier_lot}",
        }
        lot: dict[str, Any] = self.call("POST", "/lots", warehouse.headers, 201, json=body)
        return lot

    def release(self, qa: Person, lot_id: int) -> dict[str, Any]:
        body = {
            "status": "released",
            "reason": "Incoming inspection passed",
            "inspection": {"coa_reviewed": True, "packaging_intact": True, "label_correct": True},
            "signature": {"password": qa.password, "meaning": "Released for use"},
        }
        lot: dict[str, Any] = self.call("POST", f"/lots/{lot_id}/status", qa.headers, json=body)
        return lot

    def units(self, warehouse: Person, lot_id: int, count: int) -> list[str]:
        made = self.call(
            "POST", f"/lots/{lot_id}/units", warehouse.headers, 201, json={"count": count}
        )
        return [u["barcode"] for u in made["items"]]

    def batch(self, supervisor: Person, number: str, bom: list[dict[str, Any]]) -> None:
        body = {
            "batch_number": number,
            "product": "CAR-T autologous",
            "bom": bom,
            "coi": f"COI-{number}",
        }
        self.call("POST", "/batches", supervisor.headers, 201, json=body)
        self.call("POST", f"/batches/{number}/start", supervisor.headers)


__all__ = ["BAG_GTIN", "PIN", "SET_GTIN", "Person", "Plant"]
