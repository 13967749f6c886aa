"""Soak: minutes of mixed traffic against the served app, then the invariants.

    .venv/bin/python -m bench.soak [--minutes 3] [--db postgresql|sqlite] [--workers 2]

Warehouse receipts by GS1 scan and unit registration, QA releases, quarantines and recalls,
supervisors' batches, operators' scans (accepted and blocked), auditors' genealogy queries, all
at once. Afterwards: every scan answered 201 is stored and accepted, no unit is consumed twice,
every lot reconciles, GET /audit/verify is ok, and no request got a 5xx. Prints throughput and
error counts.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx

from bench.harness import PASSWORD, fresh_database, machine, make_users, served
from models.users import Role
from services.barcodes.gtin import gtin_check_digit

GTINS = [f"0061414{n:06d}" for n in range(1, 5)]
GTINS = [g + str(gtin_check_digit(g)) for g in GTINS]


class Soak:
    def __init__(self, http: httpx.AsyncClient, keys: dict[Role, str], deadline: float) -> None:
        self.http, self.keys, self.deadline = http, keys, deadline
        self.statuses: Counter[str] = Counter()
        self.accepted: dict[int, dict[str, Any]] = {}
        self.lots: list[int] = []
        self.released: list[int] = []
        self.units: list[str] = []
        self.batches: list[str] = []
        self.rng = random.Random(3)

    async def call(self, role: Role, method: str, path: str, **kwargs: Any) -> httpx.Response:
        r = await self.http.request(
            method, path, headers={"Authorization": f"Bearer {self.keys[role]}"}, **kwargs
        )
        self.statuses[f"{method} {path.split('/')[1]} {r.status_code}"] += 1
        return r

    def signature(self) -> dict[str, str]:
        return {"password": PASSWORD, "meaning": "Soak"}

    async def warehouse(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            n += 1
            gtin = GTINS[n % 2]  # serial types
            expiry = (date.today() + timedelta(days=200)).strftime("%y%m%d")
            barcode = f"]d201{gtin}17{expiry}10SOAK{n:05d}"
            r = await self.call(
                Role.warehouse, "POST", "/receipts/scan", json={"barcode": barcode, "quantity": 40}
            )
            if r.status_code == 201:
                lot = r.json()["id"]
                self.lots.append(lot)
                await self.call(
                    Role.warehouse,
                    "POST",
                    f"/lots/{lot}/correct",
                    json={
                        "changes": {"coa_ref": f"COA-{n}"},
                        "reason": "CoA in",
                        "signature": self.signature(),
                    },
                )
                u = await self.call(
                    Role.warehouse, "POST", f"/lots/{lot}/units", json={"count": 40}
                )
                if u.status_code == 201:
                    self.units.extend(x["barcode"] for x in u.json()["items"])
            await asyncio.sleep(0.2)

    async def qa(self) -> None:
        inspection = {"coa_reviewed": True, "packaging_intact": True, "label_correct": True}
        while time.monotonic() < self.deadline:
            pending = [lot for lot in self.lots if lot not in self.released]
            if pending:
                lot = pending[0]
                r = await self.call(
                    Role.qa,
                    "POST",
                    f"/lots/{lot}/status",
                    json={
                        "status": "released",
                        "reason": "OK",
                        "inspection": inspection,
                        "signature": self.signature(),
                    },
                )
                if r.status_code == 200:
                    self.released.append(lot)
            if self.released and self.rng.random() < 0.1:
                lot = self.rng.choice(self.released)
                await self.call(
                    Role.qa,
                    "POST",
                    f"/lots/{lot}/status",
                    json={
                        "status": self.rng.choice(["quarantined", "recalled"]),
                        "reason": "Soak deviation",
                        "signature": self.signature(),
                    },
                )
            await asyncio.sleep(0.3)

    async def supervisor(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            n += 1
            number = f"SOAK-{n:04d}"
            r = await self.call(
                Role.supervisor,
                "POST",
                "/batches",
                json={"batch_number": number, "product": "CAR-T", "coi": f"COI-{n:05d}"},
            )
            if r.status_code == 201:
                await self.call(Role.supervisor, "POST", f"/batches/{number}/start")
                self.batches.append(number)
            await asyncio.sleep(2.0)

    async def operator(self, index: int) -> None:
        while time.monotonic() < self.deadline:
            if not self.units or not self.batches:
                await asyncio.sleep(0.2)
                continue
            barcode = self.rng.choice(self.units)
            r = await self.call(
                Role.operator,
                "POST",
                "/scans",
                json={
                    "barcode": barcode,
                    "batch": self.rng.choice(self.batches[-5:]),
                    "station": f"ST-{index}",
                },
            )
            if r.status_code == 201:
                self.accepted[r.json()["id"]] = r.json()

    async def auditor(self) -> None:
        while time.monotonic() < self.deadline:
            if self.released:
                await self.call(
                    Role.auditor, "GET", f"/lots/{self.rng.choice(self.released)}/where-used"
                )
            if self.batches:
                await self.call(
                    Role.auditor, "GET", f"/batches/{self.rng.choice(self.batches)}/genealogy"
                )
            await asyncio.sleep(0.5)


async def run(base: str, keys: dict[Role, str], seconds: float) -> Soak:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as http:
        for i, gtin in enumerate(GTINS):
            await http.post(
                "/component-types",
                headers={"Authorization": f"Bearer {keys[Role.qa]}"},
                json={
                    "code": f"T{i}",
                    "name": f"Type {i}",
                    "category": "bag",
                    "tracking": "serial" if i < 2 else "lot",
                    "risk": "high",
                    "gtin": gtin,
                },
            )
        soak = Soak(http, keys, time.monotonic() + seconds)
        await asyncio.gather(
            soak.warehouse(),
            soak.qa(),
            soak.supervisor(),
            soak.auditor(),
            *(soak.operator(i) for i in range(8)),
        )
        return soak


async def invariants(base: str, keys: dict[Role, str], soak: Soak) -> list[str]:
    problems: list[str] = []
    headers = {"Authorization": f"Bearer {keys[Role.auditor]}"}
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=600) as http:
        stored: dict[int, dict[str, Any]] = {}
        for number in soak.batches:
            offset = 0
            while True:
                page = (
                    await http.get(
                        f"/batches/{number}/scans",
                        headers=headers,
                        params={"limit": 500, "offset": offset},
                    )
                ).json()
                stored.update({s["id"]: s for s in page["items"]})
                offset += 500
                if offset >= page["total"]:
                    break
        lost = [i for i in soak.accepted if stored.get(i, {}).get("outcome") != "accepted"]
        if lost:
            problems.append(f"{len(lost)} scans answered 201 are not stored as accepted")
        used = [
            s["unit"]
            for s in stored.values()
            if s["outcome"] == "accepted" and s["unit"] and not s["reversal"]
        ]
        if len(used) != len(set(used)):
            problems.append("a unit was consumed twice")
        for lot in soak.lots:
            r = (await http.get(f"/lots/{lot}/reconciliation", headers=headers)).json()
            if r["received"] != r["consumed"] + r["discarded"] + r["on_hand"]:
                problems.append(f"lot {lot} does not reconcile: {r}")
        verify = (await http.get("/audit/verify", headers=headers)).json()
        if not verify["ok"]:
            problems.append(f"audit verify failed: {verify}")
    server_errors = sum(n for key, n in soak.statuses.items() if key.split()[-1][0] == "5")
    if server_errors:
        problems.append(f"{server_errors} responses were 5xx")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database(args.db) as url:
        keys = make_users(url, list(Role))
        with served(url, workers=args.workers) as base:
            started = time.monotonic()
            soak = asyncio.run(run(base, keys, args.minutes * 60))
            elapsed = time.monotonic() - started
            problems = asyncio.run(invariants(base, keys, soak))
    total = sum(soak.statuses.values())
    print(
        f"{args.db}, {args.workers} workers: {total:,} requests in {elapsed:.0f} s "
        f"({total / elapsed:.0f}/s); {len(soak.lots)} lots, {len(soak.units):,} units, "
        f"{len(soak.batches)} batches, {len(soak.accepted):,} accepted scans"
    )
    for key, count in sorted(soak.statuses.items()):
        print(f"  {key}: {count:,}")
    print("invariants: " + ("all hold" if not problems else "; ".join(problems)))


if __name__ == "__main__":
    main()
