"""The OpenAPI document as the service really behaves: its credentials (an API key, a sign-in
session cookie, a station's cookie), and a `Problem` on every error response an operation can
give, each with the codes it can carry.

Most of it is derived, so that a new route gets it without a word: 401 with the credential codes
on every operation under /api/v1 but the public ones (api/policy.py PUBLIC, which declare their
own); 403 `ROLE_NOT_ALLOWED` when api/policy.py excludes a role, the CSRF codes on writes, and
the signature codes when the body takes a `signature`; 404 when the path names a record; 422
`VALIDATION_ERROR` when the operation takes parameters or a body; 400 and 413 for bodies. A
route adds what only it knows with `responses=problems({409: ["ILLEGAL_TRANSITION"], ...})`: a
status it declares lists exactly its codes (an enum in the schema; the tests hold every answer
to it). A status only derived lists the codes known to be possible as examples, not as an enum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from api.policy import API_PREFIX, PUBLIC, STATION, allowed_roles
from models.scans import ScanFlag
from models.users import Role
from services.trust.access import STATION_COOKIE

PROBLEM_JSON = "application/problem+json"
REF = "#/components/schemas/"
CODES_KEY = "x-problem-codes"

# A signature refused: the password at a desk, or badge and PIN at a station.
SIGNATURE_CODES = [
    "SIGNATURE_INVALID",
    "SIGNING_LOCKED",
    "PASSWORD_CHANGE_REQUIRED",
    "BADGE_UNKNOWN",
    "BADGE_REVOKED",
    "USER_INACTIVE",
    "PIN_NOT_SET",
    "PIN_LOCKED",
]
# The signature's components do not suit the place (badge and PIN at a station, else password).
SIGNATURE_422 = ["BADGE_AND_PIN_REQUIRED", "PASSWORD_REQUIRED"]
# A credential that does not work (services/trust/access.py): a key, a session, a station's.
CREDENTIAL_401 = [
    "UNAUTHORIZED",
    "SESSION_INVALID",
    "SESSION_ENDED",
    "SESSION_EXPIRED",
    "STATION_INVALID",
]
STATION_401 = ["STATION_REQUIRED", "STATION_INVALID"]
# A state-changing request made with a cookie without its CSRF token (api/deps.py).
CSRF_403 = ["CSRF_TOKEN_MISSING", "CSRF_TOKEN_INVALID"]
# The record a path parameter names, and the code of the 404 when there is none.
PATH_RECORDS: dict[str, list[str]] = {
    "lot_id": ["LOT_NOT_FOUND"],
    "barcode": ["UNIT_NOT_FOUND"],
    "batch_number": ["BATCH_NOT_FOUND"],
    "code": ["COMPONENT_TYPE_NOT_FOUND"],
    "scan_id": ["SCAN_NOT_FOUND"],
    "flag_id": ["FLAG_NOT_FOUND"],
    "recall_id": ["RECALL_NOT_FOUND"],
    "username": ["USER_NOT_FOUND"],
    "key_id": ["KEY_NOT_FOUND"],
    "job_id": ["PRINT_JOB_NOT_FOUND"],
    "session_id": ["SESSION_NOT_FOUND"],
    "badge_id": ["BADGE_NOT_FOUND"],
}
# What every receipt can be refused for (typed in, scanned, or made by a batch).
RECEIPT_409 = ["SUPPLIER_LOT_RECALLED"]
RECEIPT_422 = [
    "UNKNOWN_COMPONENT_TYPE",
    "ASSEMBLY_NOT_RECEIVABLE",
    "EXPIRY_CONFLICT",
    "VALIDATION_ERROR",
]
# A supplier's GS1 label that cannot be received.
BARCODE_422 = [
    "INVALID_BARCODE",
    "NOT_GS1",
    "UNPARSEABLE_BARCODE",
    "NOT_A_SUPPLIER_LABEL",
    "GTIN_MISSING",
    "BATCH_MISSING",
    "UNKNOWN_GTIN",
]
TITLES = {
    400: "The URL or the body could not be read.",
    401: "No credential, or one that no longer works: an unknown or revoked key, an ended "
    "session, a deactivated user.",
    403: "The role may not do this, or the signature was refused.",
    404: "The record the path names does not exist.",
    409: "Refused by a rule of the domain; nothing was changed.",
    413: "The body is over 1 MiB.",
    503: "The database could not complete the request; nothing was saved: send it again.",
    422: "The input is not valid; `errors` names each field.",
    501: "Not available in this installation.",
}


def problems(
    declared: Mapping[int, Iterable[str]], descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The error answers a route knows it gives, status -> codes, for `responses=`."""
    return {
        status: {
            "description": (descriptions or {}).get(status, TITLES.get(status, "Refused.")),
            CODES_KEY: list(codes),
        }
        for status, codes in declared.items()
    }


def merge(*responses: Mapping[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    merged: dict[int | str, dict[str, Any]] = {}
    for part in responses:
        for status, answer in part.items():
            merged.setdefault(status, {}).update(answer)
    return merged


def install(app: FastAPI) -> None:
    """Serve the derived document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(_problem_schemas(schemas))
    # HTTPBearer (API keys) and APIKeyCookie (sign-in sessions) come from api/deps.py; the
    # station's own credential is read by the station routes themselves.
    components.setdefault("securitySchemes", {})["StationCookie"] = {
        "type": "apiKey",
        "in": "cookie",
        "name": STATION_COOKIE,
        "description": "An enrolled station's credential (POST /api/v1/station/enrol).",
    }
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if path.startswith(API_PREFIX):
                _secure(method.upper(), path, operation, schemas)
            else:
                _declared_only(operation)
    return schema


def _problem_schemas(existing: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "ScanFlag" not in existing:
        flag = TypeAdapter(ScanFlag).json_schema(ref_template=REF + "{model}")
        found.update(flag.pop("$defs", {}))
        found["ScanFlag"] = flag
    found["FieldError"] = {
        "type": "object",
        "title": "FieldError",
        "required": ["field", "message"],
        "properties": {
            "field": {
                "type": "string",
                "description": "Dotted path of the field, e.g. bom.0.quantity",
            },
            "message": {"type": "string"},
        },
    }
    found["Problem"] = {
        "type": "object",
        "title": "Problem",
        "description": "An error as application/problem+json (RFC 9457), with a stable `code`. "
        "Known extra members are typed here; others may be added, never renamed.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "description": "A URI naming the problem's kind."},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "A sentence a person can act on."},
            "code": {"type": "string", "description": "Stable machine code."},
            "errors": {"type": "array", "items": {"$ref": REF + "FieldError"}},
            "flags": {
                "type": "array",
                "items": {"$ref": REF + "ScanFlag"},
                "description": "A refused scan or override: every flag, blocking and warning.",
            },
            "scan_id": {
                "type": "integer",
                "description": "The stored scan (blocked, or the "
                "earlier one an idempotency key names).",
            },
            "outcome": {"type": "string", "enum": ["blocked"]},
            "lines": {
                "type": "array",
                "description": "BOM_INCOMPLETE: the lines not fully consumed.",
                "items": {
                    "type": "object",
                    "required": ["step", "component_type", "quantity", "consumed"],
                    "properties": {
                        "step": {"type": ["string", "null"]},
                        "component_type": {"type": "string"},
                        "quantity": {"type": "integer"},
                        "consumed": {"type": "integer"},
                    },
                },
            },
            "lot": {"type": "integer", "description": "EXPIRY_CONFLICT: the earlier lot."},
            "lot_code": {"type": "string"},
            "open_flags": {
                "type": "array",
                "description": "OPEN_FLAGS: the batch's open blocking flags, oldest first.",
                "items": {
                    "type": "object",
                    "required": ["id", "code", "message", "scan_id"],
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "scan_id": {"type": ["integer", "null"]},
                    },
                },
            },
            "recall": {"type": "integer", "description": "SUPPLIER_LOT_RECALLED: the recall."},
            "serials": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": True,
    }
    return found


def _secure(method: str, path: str, operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    if _kind(method, path) == "station":
        operation["security"] = [{"StationCookie": []}]
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared: dict[int, list[str]] = {}
    for status, answer in list(responses.items()):
        if CODES_KEY in answer:
            declared[int(status)] = answer.pop(CODES_KEY)
        elif status == "422":  # FastAPI's HTTPValidationError: replaced by the problem below
            del responses[status]
    derived = _derived(method, path, operation, schemas)
    # Derived codes are the whole list for these statuses; a route adds its own 403s and 404s
    # (a signature refused for a domain reason, a record named in the body) by declaring them.
    exhaustive = {400, 401, 403, 413, 503}
    path_params = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]
    if all(name in PATH_RECORDS for name in path_params):
        exhaustive.add(404)
    for code_status in sorted(set(declared) | set(derived)):
        codes = list(dict.fromkeys([*derived.get(code_status, []), *declared.get(code_status, [])]))
        strict = code_status in declared or code_status in exhaustive
        _answer_problem(responses, code_status, codes, strict=strict)


def _declared_only(operation: dict[str, Any]) -> None:
    """An operation outside /api/v1 (health, metrics): only the problems it declares itself."""
    responses: dict[str, Any] = operation.get("responses", {})
    for status, answer in list(responses.items()):
        if CODES_KEY in answer:
            _answer_problem(responses, int(status), answer.pop(CODES_KEY), strict=True)


def _answer_problem(
    responses: dict[str, Any], status: int, codes: list[str], *, strict: bool
) -> None:
    answer = responses.setdefault(str(status), {"description": TITLES.get(status, "")})
    answer["description"] = (
        answer.get("description") or TITLES.get(status, "")
    ) + f" Codes: {', '.join(codes)}."
    code_schema: dict[str, Any] = {"enum": codes} if strict else {"examples": codes}
    content = answer.setdefault("content", {})
    content.pop("application/json", None)
    content[PROBLEM_JSON] = {
        **content.get(PROBLEM_JSON, {}),
        "schema": {"allOf": [{"$ref": REF + "Problem"}], "properties": {"code": code_schema}},
    }


def _derived(
    method: str, path: str, operation: dict[str, Any], schemas: dict[str, Any]
) -> dict[int, list[str]]:
    has_body = "requestBody" in operation
    params = operation.get("parameters", [])
    kind = _kind(method, path)
    out: dict[int, list[str]] = {
        400: ["INVALID_URL", *(["MALFORMED_BODY"] if has_body else [])],
    }
    # A public operation (sign-in, enrolment) declares the 401s of its own secret itself.
    if kind != "public":
        out[401] = CREDENTIAL_401 if kind == "secured" else STATION_401
    forbidden: list[str] = []
    roles = allowed_roles(method, path)
    if kind == "secured" and roles != frozenset(Role):
        forbidden.append("ROLE_NOT_ALLOWED")
    if kind != "public" and method != "GET":
        forbidden += CSRF_403
    signed = has_body and "signature" in _body_properties(operation, schemas)
    if signed:
        forbidden += SIGNATURE_CODES
    if forbidden:
        out[403] = forbidden
    missing = [
        code for p in params if p.get("in") == "path" for code in PATH_RECORDS.get(p["name"], [])
    ]
    if missing:
        out[404] = missing
    if method != "GET":
        out[409] = ["CONFLICT"]  # a write that met another at the same moment (integrity)
    if has_body or params:
        out[422] = [
            "VALIDATION_ERROR",
            *(["INVALID_VALUE"] if method != "GET" else []),
            *(SIGNATURE_422 if signed else []),
        ]
    if has_body:
        out[413] = ["BODY_TOO_LARGE"]
    out[503] = ["DATABASE_UNAVAILABLE"]  # unreachable, busy or a deadlock: rolled back, retry
    return out


def _kind(method: str, path: str) -> str:
    """Who the operation is for: "public" (before anyone is known), "station" (an enrolled
    station's own credential), or "secured" (a key or a sign-in session, and a role)."""
    op = (method, path.removeprefix(API_PREFIX))
    if op in PUBLIC:
        return "public"
    return "station" if op in STATION else "secured"


def _body_properties(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    body = operation["requestBody"].get("content", {}).get("application/json", {})
    schema: dict[str, Any] = body.get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith(REF):
        schema = schemas.get(ref.removeprefix(REF), {})
    properties: dict[str, Any] = schema.get("properties", {})
    return properties
