"""Verifying the audit chain: every sequenced event recomputed in `seq` order against the
hashes and the head row that services.trust.audit wrote."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import GENESIS_HASH, ChainHead, VerifyResult
from services.trust.audit import chain_head

VERIFY_CHUNK = 20_000

# Verify reads each event as stored text: the JSON columns hold canonical JSON (the engine's
# serialiser, services.db), and `at` is formatted by the database, so the hashed form is put
# together by concatenation instead of parsing and re-serialising a million events.
_VERIFY_ROWS = {
    "postgresql": """
SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action,
       entity_type, entity_id, CAST(before AS TEXT), CAST(after AS TEXT), reason,
       CAST(signature AS TEXT), prev_hash, hash, CAST(credential AS TEXT)
FROM audit_event WHERE seq >= :start ORDER BY seq LIMIT :chunk""",
    "sqlite": """
SELECT seq, replace(at, ' ', 'T') || 'Z', actor, action, entity_type, entity_id, before, after,
       reason, signature, prev_hash, hash, credential
FROM audit_event WHERE seq >= :start ORDER BY seq LIMIT :chunk""",
}


_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _quote(value: str | None) -> str:
    """A JSON string as json.dumps(ensure_ascii=False) writes it, without its cost for the
    common case of nothing to escape."""
    if value is None:
        return "null"
    if _ESCAPE.search(value) is None:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def _stored_canonical(row: Any) -> str:
    """The canonical JSON of a stored event (keys in sorted order), from its stored text."""
    seq, at, actor, action, entity_type, entity_id, before, after, reason, signature = row[:10]
    credential = row[12]
    via = "" if credential in (None, "null") else f'"credential":{credential},'
    return (
        f'{{"action":{_quote(action)},"actor":{_quote(actor)},"after":{after or "null"},'
        f'"at":"{at}","before":{before or "null"},{via}"entity_id":{_quote(entity_id)},'
        f'"entity_type":{_quote(entity_type)},"reason":{_quote(reason)},"seq":{seq},'
        f'"signature":{signature or "null"}}}'
    )


async def verify(session: AsyncSession) -> VerifyResult:
    """Recompute the whole chain in `seq` order, in chunks, and compare it with the head row.

    Finds an event altered (its hash no longer matches), removed (a gap in `seq`, or a tail
    shorter than the head), or reordered (its `prev_hash` no longer links to its predecessor).
    Events not yet sequenced are not part of the chain yet and are not checked.
    """
    query = text(_VERIFY_ROWS[session.get_bind().dialect.name])
    expected_seq = 1
    prev = GENESIS_HASH
    while True:
        rows = (await session.execute(query, {"start": expected_seq, "chunk": VERIFY_CHUNK})).all()
        if not rows:
            break
        for row in rows:
            seq, stored_prev, stored_hash = row[0], row[10], row[11]
            if seq != expected_seq:
                return _bad(expected_seq, f"Event {expected_seq} is missing from the chain.")
            digest = hashlib.sha256((prev + _stored_canonical(row)).encode("utf-8")).hexdigest()
            if stored_prev != prev or digest != stored_hash:
                return _bad(seq, f"Event {seq} does not match its hash or its link.")
            prev = stored_hash
            expected_seq += 1
    count = expected_seq - 1
    head = await chain_head(session)
    if head.seq != count or head.hash != prev:
        return _bad(
            min(head.seq, count) + 1,
            f"The chain ends at event {count} but its head row says {head.seq}.",
        )
    return VerifyResult(ok=True, events=count, head=ChainHead(seq=count, hash=prev))


def _bad(seq: int, detail: str) -> VerifyResult:
    return VerifyResult(ok=False, first_bad_seq=seq, detail=detail)
