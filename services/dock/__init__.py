"""The dock (warehouse): component types, receipts typed in or scanned off a supplier label, lots
and their corrections and write-offs, units, assemblies built in-house, and the checks that say
whether a lot or unit may be used now (shared with the line, so both say the same)."""
