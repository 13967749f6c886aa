"""The sutrace domain, free of FastAPI, in packages by who owns the work.

Lower packages never import higher ones (tests/services/test_layers.py checks it):

    trust      users, keys, passwords, signatures, the audit trail and its event stream
    barcodes   GS1 parsing, GTINs, the codes the service assigns, labels
    dock       component types, receipts, lots, units, assemblies, and whether they may be used
    line       batches, the scan (go / no-go), reading scans, reversals
    genealogy  where a lot went, what a batch contains, a unit's history, the batch record
    quality    QA's lot status machine, recalls, batch flags, overrides as deviations

Beside them, modules every package may use: `errors`, `config`, `db`, `clock` and `cache`.
"""
