"""The scan station's answer time: from the Enter key to the answer in the page, in Debian's
chromium, alone and while API clients send scans from other stations.

    .venv/bin/python -m bench.station_page [--db postgresql|sqlite] [--rate 100] [--scans 30]

Serves the app (uvicorn, two workers) on a fresh database, enrols a station in the browser,
badges in and scans a lot code into a batch, timing each scan inside the page (keydown of Enter
to htmx's swap of the answer, `performance.now()`). Then the same while threads post scans to
`/api/v1/scans` at `--rate` per second into another batch. Prints both, and the rate the load
reached. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.harness import fresh_database, machine, summary
from tests.served import kill, start
from tests.support import ADMIN_KEY, BAG_GTIN
from tests.web.conftest import CHROMIUM
from tests.web.plant import PIN, Plant

TIMER = """() => {
  window.samples = [];
  const scan = document.getElementById('scan');
  scan.addEventListener('keydown', e => { if (e.key === 'Enter') window.t0 = performance.now(); });
  document.body.addEventListener('htmx:afterSwap',
    () => window.samples.push(performance.now() - window.t0));
}"""


def _station(page: Page, plant: Plant) -> None:
    page.goto(f"{plant.base}/station")
    page.get_by_label("Enrolment code").fill(plant.station_code("LINE-1"))
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Badge in").wait_for()
    page.get_by_label("Badge").fill("BADGE-1")
    page.get_by_label("PIN").fill(PIN)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Pick a batch").wait_for()
    page.goto(f"{plant.base}/station?batch=B-1")
    page.evaluate(TIMER)


def _scans(page: Page, barcode: str, count: int) -> list[float]:
    page.evaluate("() => { window.samples = []; }")
    for n in range(count):
        page.keyboard.type(barcode)
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => window.samples.length > {n}")
    samples: list[float] = page.evaluate("() => window.samples")
    return samples


def _load(base: str, key: str, barcode: str, rate: float, stop: threading.Event) -> list[int]:
    """Threads posting scans, each paced to its share of `rate`; returns answers per thread."""
    threads = 8
    done = [0] * threads

    def run(i: int) -> None:
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as http:
            period = threads / rate
            next_at = time.monotonic()
            while not stop.is_set():
                body = {"barcode": barcode, "batch": "B-LOAD", "station": f"API-{i}"}
                r = http.post("/scans", json=body, headers={"Authorization": f"Bearer {key}"})
                if r.status_code == 201:
                    done[i] += 1
                next_at += period
                time.sleep(max(0.0, next_at - time.monotonic()))

    for i in range(threads):
        threading.Thread(target=run, args=(i,), daemon=True).start()
    return done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--scans", type=int, default=30)
    args = parser.parse_args()
    print(machine())
    with fresh_database(args.db) as url:
        process, base = start({"DATABASE_URL": url, "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}, workers=2)
        plant = Plant(base)
        try:
            qa = plant.person("qa1", "qa")
            warehouse = plant.person("warehouse1", "warehouse")
            supervisor = plant.person("supervisor1", "supervisor")
            operator = plant.person("operator1", "operator")
            plant.badge(operator, "BADGE-1")
            plant.component_type(qa, "BAG-500", BAG_GTIN)
            lot = plant.release(
                qa, plant.lot(warehouse, "BAG-500", "SL-1", quantity=1_000_000)["id"]
            )
            plant.batch(supervisor, "B-1", [])
            plant.batch(supervisor, "B-LOAD", [])
            key = operator.headers["Authorization"].removeprefix("Bearer ")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        "--no-sandbox",
                        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                    ],
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                _station(page, plant)
                _scans(page, lot["code"], 5)  # warm-up
                alone = _scans(page, lot["code"], args.scans)
                stop = threading.Event()
                answered = _load(base, key, lot["code"], args.rate, stop)
                time.sleep(2)  # let the load reach its pace
                before, started = sum(answered), time.monotonic()
                loaded = _scans(page, lot["code"], args.scans)
                reached = (sum(answered) - before) / (time.monotonic() - started)
                stop.set()
                browser.close()
        finally:
            plant.close()
            kill(process)
    print(f"{args.db}, uvicorn 2 workers, station Enter -> answer in the page")
    print(f"  alone:                {summary(alone)}")
    print(
        f"  with API scan load:   {summary(loaded)}; load reached {reached:.0f} scans/s "
        f"(asked {args.rate:.0f})"
    )


if __name__ == "__main__":
    os.environ.setdefault("SUTRACE_SERVED_LOG", os.devnull)
    main()
