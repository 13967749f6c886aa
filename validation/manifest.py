"""A SHA-256 manifest of every file in a folder, in `sha256sum` format, and its check.

`sha256sum -c MANIFEST.sha256`, run in the folder, checks it without Python.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MANIFEST = "MANIFEST.sha256"


def write_manifest(folder: Path) -> Path:
    """`sha256sum` format: the hash, two spaces, the file's path in the folder."""
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(folder).as_posix()}"
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    ]
    manifest = folder / MANIFEST
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def verify_manifest(folder: Path) -> list[str]:
    """Files that changed, went missing, or are not listed; empty when the folder is intact."""
    problems: list[str] = []
    listed: set[str] = set()
    for line in (folder / MANIFEST).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed.add(name)
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name} changed")
    for path in folder.rglob("*"):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed:
            problems.append(f"{name} is not in the manifest")
    return problems
