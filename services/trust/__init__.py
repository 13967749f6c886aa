"""Trust and audit: who may act (users, API keys, passwords), electronic signatures and their
lockout, and the tamper-evident audit trail with the event stream read from it."""
