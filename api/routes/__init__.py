"""Thin routes: parse, authorise, call a service, shape the answer."""

from fastapi import APIRouter, Depends

from api.bodies import StrictJSONRoute
from api.deps import authorize


def secured_router(tag: str) -> APIRouter:
    """A router whose every route requires a credential (an API key or a sign-in session) and
    one of its declared roles."""
    return APIRouter(tags=[tag], dependencies=[Depends(authorize)], route_class=StrictJSONRoute)


def open_router(tag: str) -> APIRouter:
    """A router for operations listed in api/policy.py PUBLIC or STATION: each route declares
    its own dependency (none, or the station credential)."""
    return APIRouter(tags=[tag], route_class=StrictJSONRoute)
