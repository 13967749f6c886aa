"""A small, fast HTTP/1.1 keep-alive load generator on asyncio streams.

httpx spends more CPU per request than the server under test on a 2-core machine; this client
writes raw requests and reads `Content-Length` bodies, so the figures measure the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base: str) -> Connection:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, f"{parts.hostname}:{parts.port}")

    async def request(self, method: str, path: str, body: bytes, headers: str) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return status, data

    def close(self) -> None:
        self.writer.close()


async def drive(
    base: str,
    connections: int,
    seconds: float,
    next_request: Callable[[int], tuple[str, str, bytes, str]],
) -> Result:
    """`connections` workers send `next_request(worker)` back to back for `seconds`."""
    result = Result()
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        connection = await Connection.open(base)
        try:
            while time.perf_counter() < deadline:
                method, path, body, headers = next_request(index)
                start = time.perf_counter()
                status, _ = await connection.request(method, path, body, headers)
                result.latencies_ms.append((time.perf_counter() - start) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def drive_at_rate(
    base: str,
    connections: int,
    rate: float,
    seconds: float,
    next_request: Callable[[int], tuple[str, str, bytes, str]],
) -> Result:
    """Open loop: `connections` stations together send `rate` requests a second, evenly
    spaced, for `seconds`. Station i sends at i/rate, (i + connections)/rate, ...; a station
    whose answer comes late sends its next request as soon as it can. Latency is counted from
    the time a request was due, not sent, so a slow server cannot hide its queue by delaying
    the requests (coordinated omission)."""
    result = Result()
    started = time.perf_counter() + 0.2  # every connection opened first

    async def station(index: int) -> None:
        connection = await Connection.open(base)
        try:
            turn = 0
            while (due := started + (index + turn * connections) / rate) < started + seconds:
                turn += 1
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                method, path, body, headers = next_request(index)
                status, _ = await connection.request(method, path, body, headers)
                result.latencies_ms.append((time.perf_counter() - due) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            connection.close()

    await asyncio.gather(*(station(i) for i in range(connections)))
    result.seconds = time.perf_counter() - started
    return result
