"""The trace: where a lot went (forward), what went into a batch (backward), a unit's history,
and the batch component record as CSV, PDF and SVG. Reads only."""
