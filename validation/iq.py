"""Installation qualification: check a deployed sutrace instance and write a dated IQ record.

    DATABASE_URL=... SITE_TIMEZONE=... BACKUP_DIR=... python -m validation.iq \\
        [--expect-timezone Europe/Berlin] [--backup-max-age-hours 26] [--out iq-records]

Reads the same environment as the service (DATABASE_URL, SITE_TIMEZONE, ...) and BACKUP_DIR, the
folder backups are written to (scripts/backup.py). Checks the installation (version, Python,
dependencies), the settings that decide outcomes (site time zone, time zone data), the database
(reachable, migrations at head, schema matching the models, audit chain verifies, append-only
triggers present and refusing) and the backups (a recent one, of this database); changes
nothing. Writes iq.html, iq.pdf, iq.json and MANIFEST.sha256 into a dated folder under --out.
Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from validation import environment
from validation.iq_checks import FAIL, INFO, PASS, Check, Options, database, installation, settings
from validation.manifest import write_manifest
from validation.render import Cell, Document, Fields, Heading, Paragraph, Signatures, Table

MEANING = [
    (
        "Migrations at head",
        "The database's Alembic revision is the newest migration shipped with this version, and "
        "the tables match the models exactly (as `alembic check`).",
    ),
    (
        "Audit chain verifies",
        "GET /audit/verify's check: every event's hash and link, in seq order, up to the head "
        "row; events not yet sequenced are counted, not checked.",
    ),
    (
        "Append-only triggers",
        "The triggers of migration 0004 exist and are enabled, and a DELETE of the newest event "
        "is refused by the database (attempted in a transaction that is rolled back).",
    ),
    (
        "Backups configured",
        "BACKUP_DIR names a folder; its newest *.backup file is younger than the allowed age; "
        "and it is a backup of this database: its audit head (seq and hash) is an event of the "
        "live chain.",
    ),
    (
        "SITE_TIMEZONE",
        "Decides 'today' for every expiry and retest decision; with --expect-timezone the record "
        "checks it is the site's zone, otherwise the reviewer confirms it.",
    ),
]


@dataclass
class Record:
    checks: list[Check]
    instance: list[tuple[str, str]]
    executed: datetime

    @property
    def passed(self) -> bool:
        return all(c.result != FAIL for c in self.checks)


async def inspect(env: Mapping[str, str], options: Options) -> Record:
    """Run every check against the instance `env` describes."""
    executed = datetime.now(UTC)
    checks = installation()
    found, read = settings(env, options)
    checks += found
    if read is not None:
        checks += await database(read, options, env)
    head = environment.commit()
    instance = [
        ("sutrace version", environment.sutrace_version()),
        ("Git commit", head.describe() if head.sha != "unknown" else "not a git checkout"),
        ("Database", environment.without_password(env.get("DATABASE_URL", "(default)"))),
        ("Schema revision shipped (Alembic head)", environment.alembic_head()),
        ("Python", environment.python()),
        *environment.host(),
    ]
    return Record(checks, instance, executed)


def document(record: Record) -> Document:
    failed = [c for c in record.checks if c.result == FAIL]
    verdict = "PASS" if record.passed else "FAIL"
    version = environment.sutrace_version()
    doc = Document(
        title=f"sutrace {version}: installation qualification record",
        subtitle=f"{socket.gethostname()}, executed {record.executed:%Y-%m-%d %H:%M:%S} UTC.",
        running_head=f"sutrace {version} - IQ {record.executed:%Y-%m-%dT%H%MZ} - {verdict}",
    )
    summary = (
        Cell("PASS: every check passed", "ok", bold=True)
        if record.passed
        else Cell(
            f"FAIL: {len(failed)} check(s) failed: " + ", ".join(c.name for c in failed),
            "bad",
            bold=True,
        )
    )
    tones = {PASS: "ok", FAIL: "bad", INFO: None}
    rows: list[list[str | Cell]] = [
        [
            c.section,
            Cell(c.name, bold=True),
            c.expected,
            c.found,
            Cell(c.result.upper(), tones[c.result], bold=c.result == FAIL),
        ]
        for c in record.checks
    ]
    doc.add(
        Heading("1 Result"),
        Fields([("Verdict", summary), *record.instance]),
        Heading("2 Checks"),
        Paragraph(
            "INFO rows record a value for the reviewer to confirm; they pass or fail "
            "nothing by themselves. The IQ changes nothing in the instance."
        ),
        Table(
            ["Section", "Check", "Expected", "Found", "Result"],
            [13, 17, 28, 34, 8],
            rows,
            small=True,
        ),
        Heading("3 What the checks mean"),
        Fields([(name, text) for name, text in MEANING]),
        Heading("4 Approval"),
        Paragraph(
            "By signing, the reviewer confirms the INFO values (the site's time zone, the "
            "server clock) and that every failed check was resolved or assessed."
        ),
        Signatures(["Executed by", "Reviewed by (QA)", "Approved by (QA)"]),
    )
    return doc


def write_record(record: Record, root: Path) -> Path:
    from validation.render import to_html, to_pdf

    root.mkdir(parents=True, exist_ok=True)
    base = f"{record.executed:%Y-%m-%dT%H%MZ}-{socket.gethostname()}"
    folder = root / base
    attempt = 1
    while folder.exists():
        attempt += 1
        folder = root / f"{base}-{attempt}"
    folder.mkdir()
    doc = document(record)
    (folder / "iq.html").write_text(to_html(doc), encoding="utf-8")
    (folder / "iq.pdf").write_bytes(to_pdf(doc))
    body = {
        "executed": record.executed.isoformat(),
        "passed": record.passed,
        "instance": dict(record.instance),
        "checks": [asdict(c) for c in record.checks],
    }
    (folder / "iq.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    write_manifest(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--expect-timezone",
        metavar="ZONE",
        help="the site's IANA time zone: SITE_TIMEZONE must be this",
    )
    parser.add_argument(
        "--backup-max-age-hours",
        type=float,
        default=26.0,
        metavar="HOURS",
        help="how old the newest backup may be (default 26)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("iq-records"),
        metavar="DIR",
        help="where the dated record folder goes (default iq-records)",
    )
    args = parser.parse_args(argv)
    options = Options(args.expect_timezone, args.backup_max_age_hours)
    record = asyncio.run(inspect(os.environ, options))
    for check in record.checks:
        print(f"{check.result.upper():4}  {check.section} / {check.name}: {check.found}")
    folder = write_record(record, args.out)
    print(f"IQ {'PASSED' if record.passed else 'FAILED'}; record: {folder}")
    return 0 if record.passed else 1


if __name__ == "__main__":
    sys.exit(main())
