"""Row locks: the one order every request takes them in, and the query option that makes a lock
re-read its row.

A rule that must hold when two requests meet is decided where they meet (STYLE.md, "The database
decides"): under a row lock taken before the row is read, or in the WHERE of the statement that
writes. On PostgreSQL (READ COMMITTED) a lock waits for the transaction holding the row, then
returns the row as that transaction committed it; SQLAlchemy would hand back the object already
in the session instead, so every lock goes through `locked()`, which re-reads it. On SQLite every
transaction begins IMMEDIATE (one writer at a time) and these clauses are not rendered.

The order, outermost first; a request takes only the locks it needs, never one earlier in the
list while holding a later one:

1. the scan row (`FOR UPDATE`): an override or a reversal of it;
2. the batch row: its status changes (start, complete, abort) and recording its outputs take
   `FOR UPDATE`; a scan, an override and a reversal into it take `FOR SHARE`, so that the batch's
   status cannot change while they decide and write, and they wait for a change under way;
3. the unit row: a scan, an override or a reversal takes it by its conditional `UPDATE` (consumed
   only while available), or `FOR UPDATE` before deciding; discards and assembly builds (their
   part units, in id order) likewise. A scan or an override of an assembly takes its unit
   `FOR UPDATE` (re-read) before it reads the parts, so that it holds no lot when it waits here;
4. the lot rows, in id order: QA's status changes (release, reject, quarantine, recall of the
   lot, and of every lot of a supplier lot), corrections, write-offs and label printing take
   `FOR UPDATE`; a scan takes the lot row by its consuming `UPDATE`, which takes stock only while
   the lot is released and in date (PostgreSQL re-checks the WHERE on the row the lock returned);
   an override takes `FOR UPDATE` before its re-check. On PostgreSQL a scan's unit and lot
   `UPDATE`s are one statement (services.line.recording) whose lot part runs only after the
   unit part took the unit, so the order holds there too. An assembly's rules read its parts'
   lots `FOR SHARE` (services.dock.parts), in id order, before the scan's (or the override's)
   lock on the assembly's own in-house lot: that lot was made by the build after every part lot
   existed, so its id is greater than theirs and the id order holds. An assembly build takes its
   part lots' stock by conditional `UPDATE`s in id order (only while released or quarantined and
   in date) after its part units; the new in-house lot is its own until it commits. A unit
   registration takes its lot by its `UPDATE` of the count registered;
5. the counter rows, the `lot` counter before the `unit` counter: a new lot's code (a receipt, a
   batch's output after its batch row, a build after its parts), then new units' barcodes (a
   registration after its lot, a build after its new lot); whoever holds a counter then waits
   for nothing: the rows its inserts refer to it holds already, or they are catalog rows, whose
   `FOR KEY SHARE` only a key change or a delete would wait for;
6. the flag rows (`FOR UPDATE`, in id order): QA resolving them.

A lot's status change computes who used the lot (`services.genealogy.forward`) in statements that
start after it holds the lot's lock: every scan that took stock from the lot committed before the
lock was granted, so it is seen and its batch flagged; every scan after it waits for the change
and then finds the lot unusable. A scan of an assembly takes stock from the assembly's own lot,
not its parts'; its `FOR SHARE` on the part lots is what makes a part lot's change wait for it
(and the walk reach its batch through the assembly) or makes it wait for the change (and refuse
the part). A build that took a part lot's stock is waited for by the change the same way; no batch
has used the new assembly yet, so there is nothing to flag, and from then on the assembly is
refused at the line by that part (services.dock.parts). Raising a flag
inserts a row that refers to a batch, which takes PostgreSQL's `FOR KEY SHARE` on that batch
after the lot: it conflicts only with a batch's own status change and outputs, which hold no
unit, lot or flag lock while they wait for it; an output then waits only for the `lot` counter,
whose holder waits for nothing, so no cycle can form. (A build that took the counter before its
parts could wait for a part lot whose status change waits for a batch whose output waits for
the counter: hence the counters after the lots.)

No cycle between builds, registrations and the line: a build holds its part units, then its part
lots, then the counters; a registration holds one lot, then the `unit` counter; a scan or an
override of an assembly holds its unit, then the part lots (shared), then the assembly's lot. Each
takes its locks in the order above, and none holding a counter waits for anything but rows it
holds (events are inserted without a lock; the sequencer chains them after commit). Builds,
receipts and outputs are serialised on the `lot` counter from the moment they take it until they
commit.

Known limit: a lot made by a batch is refused while that batch has an open blocking flag
(`SOURCE_BATCH_FLAGGED`, at the line and for an assembly's parts). Such a flag is raised only by
a status change of a lot the batch used (the after-use walk), and the check reads the flags
without a lock. A scan of the batch's output into batch Y that reads no flag while that change
holds its lot, and commits after the change's walk has read the scans, is accepted, and Y is not
flagged: the walk reaches Y (through the batch and its output) only through uses committed before
it. The use stays in the genealogy: a where-used trace of the changed lot run afterwards lists Y.
Closing it as the parts of an assembly are closed would take, on every scan of an output, a
backward walk and `FOR SHARE` on every lot upstream; those lots are not in id order with the
scanned one (a batch may use lots received after its output was recorded), so a build or a scan
taking the same lots in id order could deadlock with it. Locking the source batch instead would
take `FOR UPDATE` (the only lock the flag's `FOR KEY SHARE` waits for): it would serialise every
scan of the batch's outputs with the scans into the batch, and two batches using each other's
outputs would deadlock two scans, each holding its own batch `FOR SHARE`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

T = TypeVar("T", bound=Select[Any])


def locked(query: T, *, share: bool = False, of: Any = None) -> T:
    """`query` as a row lock (`FOR UPDATE`, or `FOR SHARE`) that re-reads the rows it locks;
    `of` limits the lock to one table's rows (a query that outer-joins others)."""
    return query.with_for_update(read=share, of=of).execution_options(populate_existing=True)
