"""Barcodes: reading what scanners send (GS1 element strings, GTINs), the codes the service
assigns (lot codes, unit barcodes), and the labels it prints. Knows nothing of lots or batches
beyond the values it is given."""
