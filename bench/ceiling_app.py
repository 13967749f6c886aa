"""The ceiling for the scan benchmark: one INSERT per request through the same stack as the
product (FastAPI, SQLAlchemy async, psycopg 3, the same pool), and nothing else. Not a route
of the product; served only by bench/scan_load.py."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text

from services.config import Settings
from services.db import make_engine, make_sessionmaker

settings = Settings(database_url=os.environ["DATABASE_URL"])
engine = make_engine(settings)
sessionmaker = make_sessionmaker(engine)
app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/insert", status_code=201)
async def insert(request: Request) -> dict[str, Any]:
    body = await request.json()
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("INSERT INTO bench_ceiling (payload) VALUES (:payload)"),
            {"payload": str(body.get("barcode", ""))},
        )
    return {"ok": True}
