"""Thin routes: parse, authorise, call a service, shape the answer."""

from fastapi import APIRouter, Depends

from api.deps import authorize


def secured_router(tag: str) -> APIRouter:
    """A router whose every route requires a key and one of its declared roles."""
    return APIRouter(tags=[tag], dependencies=[Depends(authorize)])
