"""Who may call what: every operation of the API and its roles, in one place.

The table follows the role table of the HTTP contract; paths are relative to /api/v1. A route
that is served but missing here makes `create_app` fail, so no endpoint ships without roles.
Every role check applies alike to API keys and to people signed in with a session cookie.
"""

from __future__ import annotations

from models.users import Role

OP, S, W, Q, AU, AD = (
    Role.operator,
    Role.supervisor,
    Role.warehouse,
    Role.qa,
    Role.auditor,
    Role.admin,
)
ALL = frozenset(Role)
AUDIT_READERS = frozenset({Q, AU, AD})

POLICY: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/version"): ALL,
    ("GET", "/me"): ALL,
    ("POST", "/me/password"): ALL,
    ("POST", "/me/pin"): ALL,
    ("GET", "/me/keys"): ALL,
    ("POST", "/me/keys"): ALL,
    ("DELETE", "/me/keys/{key_id}"): ALL,
    ("GET", "/me/sessions"): ALL,
    ("DELETE", "/me/sessions/{session_id}"): ALL,
    ("GET", "/sessions/current"): ALL,
    ("DELETE", "/sessions/current"): ALL,
    ("GET", "/sessions"): frozenset({AD}),
    ("DELETE", "/sessions/{session_id}"): frozenset({AD}),
    ("POST", "/users"): frozenset({AD}),
    ("GET", "/users"): frozenset({AD}),
    ("POST", "/users/{username}/enrolment"): frozenset({AD}),
    ("GET", "/users/{username}/keys"): frozenset({AD}),
    ("DELETE", "/users/{username}/keys/{key_id}"): frozenset({AD}),
    ("POST", "/users/{username}/badges"): frozenset({AD}),
    ("GET", "/users/{username}/badges"): frozenset({AD}),
    ("POST", "/badges/{badge_id}/revoke"): frozenset({AD}),
    ("POST", "/stations"): frozenset({AD}),
    ("GET", "/stations"): ALL,
    ("GET", "/stations/{name}"): ALL,
    ("POST", "/stations/{name}/enrolment"): frozenset({AD}),
    ("POST", "/stations/{name}/disable"): frozenset({AD}),
    ("POST", "/users/{username}/deactivate"): frozenset({AD}),
    ("POST", "/users/{username}/unlock"): frozenset({AD}),
    ("POST", "/component-types"): frozenset({Q}),
    ("GET", "/component-types"): ALL,
    ("GET", "/component-types/{code}"): ALL,
    ("POST", "/component-types/{code}/correct"): frozenset({Q}),
    ("POST", "/lots"): frozenset({W}),
    ("GET", "/lots"): ALL,
    ("GET", "/lots/{lot_id}"): ALL,
    ("GET", "/lots/{lot_id}/reconciliation"): ALL,
    ("POST", "/lots/{lot_id}/status"): frozenset({Q}),
    ("POST", "/lots/{lot_id}/correct"): frozenset({W, Q}),
    ("POST", "/lots/{lot_id}/adjust"): frozenset({W}),
    ("GET", "/lots/{lot_id}/label"): ALL,
    ("GET", "/lots/{lot_id}/where-used"): ALL,
    ("POST", "/lots/{lot_id}/units"): frozenset({W}),
    ("GET", "/lots/{lot_id}/units"): ALL,
    ("POST", "/receipts/scan"): frozenset({W}),
    ("POST", "/recalls"): frozenset({Q}),
    ("GET", "/recalls"): ALL,
    ("GET", "/recalls/{recall_id}"): ALL,
    ("GET", "/units"): ALL,
    ("GET", "/units/{barcode}"): ALL,
    ("GET", "/units/{barcode}/label"): ALL,
    ("GET", "/units/{barcode}/history"): ALL,
    ("POST", "/units/{barcode}/discard"): frozenset({OP, S, W, Q}),
    ("POST", "/assemblies"): frozenset({W}),
    ("POST", "/batches"): frozenset({S}),
    ("GET", "/batches"): ALL,
    ("GET", "/batches/{batch_number}"): ALL,
    ("POST", "/batches/{batch_number}/start"): frozenset({S}),
    ("POST", "/batches/{batch_number}/complete"): frozenset({S}),
    ("POST", "/batches/{batch_number}/abort"): frozenset({S}),
    ("POST", "/batches/{batch_number}/outputs"): frozenset({S}),
    ("GET", "/batches/{batch_number}/scans"): ALL,
    ("GET", "/batches/{batch_number}/flags"): ALL,
    ("GET", "/batches/{batch_number}/genealogy"): ALL,
    ("GET", "/batches/{batch_number}/record"): ALL,
    ("GET", "/batches/{batch_number}/audit-bundle"): AUDIT_READERS,
    ("POST", "/scans"): frozenset({OP, S, Q}),
    ("POST", "/scans/check"): frozenset({OP, S, W, Q}),
    ("POST", "/scans/{scan_id}/override"): frozenset({Q}),
    ("POST", "/scans/{scan_id}/reverse"): frozenset({S, Q}),
    ("GET", "/flags"): ALL,
    ("POST", "/flags/{flag_id}/resolve"): frozenset({Q}),
    ("POST", "/flags/resolve"): frozenset({Q}),
    ("POST", "/printers"): frozenset({AD}),
    ("GET", "/printers"): ALL,
    ("GET", "/printers/{name}"): ALL,
    ("POST", "/printers/{name}/deactivate"): frozenset({AD}),
    ("GET", "/label-templates"): frozenset({Q, AU, AD}),
    ("POST", "/label-templates/{name}/register"): frozenset({Q}),
    ("POST", "/lots/{lot_id}/print-jobs"): frozenset({W}),
    ("GET", "/lots/{lot_id}/print-jobs"): ALL,
    ("POST", "/lots/{lot_id}/label-sheets"): frozenset({W}),
    ("GET", "/print-jobs/{job_id}"): ALL,
    ("POST", "/print-jobs/{job_id}/retry"): frozenset({W}),
    ("GET", "/lots/{lot_id}/labels"): ALL,
    ("POST", "/lots/{lot_id}/labels/apply"): frozenset({W}),
    ("POST", "/lots/{lot_id}/labels/void"): frozenset({W, Q}),
    ("GET", "/audit"): AUDIT_READERS,
    ("GET", "/audit/verify"): AUDIT_READERS,
    ("GET", "/audit/head"): AUDIT_READERS,
    # Supervisors follow their line: the stream carries scans, batch flags and lot status
    # changes only, never user or key events (see services/trust/events.py).
    ("GET", "/events"): AUDIT_READERS | {S},
}

# Operations that come before any person is known: they take a secret in the body (a password,
# an enrolment code) and are refused or recorded by the service itself.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/sessions"),
        ("POST", "/enrolment"),
        ("POST", "/station/enrol"),
    }
)
# Operations of an enrolled station itself (its credential cookie), before a person signs in.
STATION: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/station"),
        ("POST", "/station/sessions"),
    }
)

API_PREFIX = "/api/v1"


def allowed_roles(method: str, path: str) -> frozenset[Role] | None:
    """The roles for an operation; `path` is the route template, with or without the prefix."""
    return POLICY.get((method, path.removeprefix(API_PREFIX)))


def declared(method: str, path: str) -> bool:
    """Whether an operation says who may call it: roles, public, or a station's own."""
    op = (method, path.removeprefix(API_PREFIX))
    return op in POLICY or op in PUBLIC or op in STATION
