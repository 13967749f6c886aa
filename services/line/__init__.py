"""The line: batches and their BOMs, the scan that consumes a unit or lot quantity into a batch
(or refuses it with every reason), reading scans, and reversals of scans into the wrong batch."""
