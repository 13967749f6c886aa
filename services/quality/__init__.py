"""Quality decisions: QA's lot status machine (release, reject, quarantine, recall), supplier
recalls and their impact, batch flags raised after use and resolved with a signature, and
overrides of blocked scans as signed deviations."""
