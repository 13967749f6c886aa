"""Raw printing: bytes to a label printer's TCP port (9100 by convention), with a deadline.

Zebra-compatible printers take ZPL on a plain socket and answer nothing, so "sent" means the
printer accepted every byte and the connection closed cleanly; whether the labels came out is
for the person at the printer to see. Refused connections, unknown hosts and the deadline
passing are outcomes, not exceptions: the dock records them on the print job.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

__all__ = ["SendOutcome", "send"]


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    reason: str | None = None


async def send(host: str, port: int, payload: bytes, *, seconds: float) -> SendOutcome:
    """Connect, write `payload`, close; everything within `seconds`."""
    where = f"{host}:{port}"
    try:
        async with asyncio.timeout(seconds):
            _, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(payload)
                await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
            finally:
                writer.close()
                await writer.wait_closed()
    except TimeoutError:
        return SendOutcome(False, f"Printer {where} did not take the job within {seconds:g} s.")
    except socket.gaierror as exc:
        return SendOutcome(False, f"Printer host {host!r} cannot be resolved ({exc.strerror}).")
    except ConnectionRefusedError:
        return SendOutcome(False, f"Printer {where} refused the connection; is it on and online?")
    except OSError as exc:
        return SendOutcome(False, f"Printer {where} cannot be reached: {exc.strerror or exc}.")
    return SendOutcome(True)
