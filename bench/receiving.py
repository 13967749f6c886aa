"""Receipt-scan latency and the time to register 10,000 units, over real HTTP.

    .venv/bin/python -m bench.receiving [--db sqlite|postgresql|both] [--scans 200]

Serves the app with uvicorn on a fresh database built by Alembic, then times sequential
`POST /receipts/scan` calls (each a new lot with a GS1 string as a scanner sends it) and
`POST /lots/{id}/units` with 10,000 units, by count and by serials. Prints figures; asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import time

import httpx

from bench.harness import fresh_database, machine, make_users, served, summary
from models.users import Role

GTIN = "10614141000729"


def run(kind: str, scans: int) -> None:
    with fresh_database(kind) as url:
        keys = make_users(url, [Role.qa, Role.warehouse])
        qa = {"Authorization": f"Bearer {keys[Role.qa]}"}
        wh = {"Authorization": f"Bearer {keys[Role.warehouse]}"}
        with served(url) as base, httpx.Client(base_url=f"{base}/api/v1", timeout=60) as http:
            http.post(
                "/component-types",
                headers=qa,
                json={
                    "code": "BAG",
                    "name": "Bag",
                    "category": "bag",
                    "tracking": "serial",
                    "risk": "high",
                    "gtin": GTIN,
                },
            ).raise_for_status()
            latencies: list[float] = []
            for i in range(scans):
                barcode = f"]d201{GTIN}17280600" + f"10B{i:06d}\x1d21S{i:06d}"
                start = time.perf_counter()
                r = http.post(
                    "/receipts/scan", headers=wh, json={"barcode": barcode, "quantity": 10_000}
                )
                latencies.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 201, r.text
            print(f"[{kind}] receipt scan (new lot + its (21) unit): {summary(latencies)}")
            lot_ids = [
                r["id"] for r in http.get("/lots", headers=wh, params={"limit": 2}).json()["items"]
            ]
            for label, body in (
                ("count", {"count": 9_999}),
                ("serials", {"serials": [f"SER{i:07d}" for i in range(9_999)]}),
            ):
                lot = lot_ids.pop()
                start = time.perf_counter()
                r = http.post(f"/lots/{lot}/units", headers=wh, json=body)
                elapsed = time.perf_counter() - start
                assert r.status_code == 201, r.text
                assert len(r.json()["items"]) == 9_999
                print(
                    f"[{kind}] register 9,999 units by {label} (+1 from the scan = 10,000 in "
                    f"the lot): {elapsed:.2f} s"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scans", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        run(kind, args.scans)


if __name__ == "__main__":
    main()
