"""Serve the real app with uvicorn in a child process, for tests that need real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_log() -> int:
    """Where served apps write their log: SUTRACE_SERVED_LOG to keep it, else nowhere."""
    path = os.environ.get("SUTRACE_SERVED_LOG")
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND) if path else subprocess.DEVNULL


def start(
    env: dict[str, str],
    *,
    workers: int = 1,
    app: str = "api.main:app",
    port: int | None = None,
    wait: float = 30,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start uvicorn in its own process group and wait up to `wait` seconds for /healthz;
    returns it and its URL."""
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=_server_log(),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not answer /healthz within {wait:g} s")
        time.sleep(0.1)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and its workers at once: no shutdown, no flush, as a power cut."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
