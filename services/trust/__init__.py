"""Trust and audit: who may act and through what (users, API keys, passwords and PINs,
enrolment codes, sign-in sessions, stations and badges, one `access.authenticate` for all),
electronic signatures and their lockout, and the tamper-evident audit trail with the event
stream read from it."""
