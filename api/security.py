"""API keys and roles.

A key is sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. The store keeps
only its sha256. Roles: ``hr`` may do everything; ``manager`` simulations, rule sets and
statements; ``payroll`` runs, lines and exports. No key or an unknown/revoked key → 401, a
key whose role is not allowed → 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError
from .store import Actor, KeyInfo, Store

HR, MANAGER, PAYROLL = "hr", "manager", "payroll"

_bearer = HTTPBearer(auto_error=False, description="an API key from `incentive keys create`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key, as a header")

Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
HeaderKey = Annotated[str | None, Depends(_header)]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def require(*roles: str) -> Callable[..., KeyInfo]:
    """A dependency: the caller's key, which must be active and have one of `roles`."""
    allowed = frozenset(roles) | {HR}

    def dependency(request: Request, bearer: Bearer, header_key: HeaderKey) -> KeyInfo:
        secret = bearer.credentials if bearer is not None else header_key
        challenge = {"WWW-Authenticate": 'Bearer realm="incentive"'}
        if not secret:
            raise ApiError(401, "an API key is required (Authorization: Bearer <key> or X-API-Key)",
                           path="header.Authorization", headers=challenge)
        key = store_of(request).authenticate(secret)
        if key is None:
            raise ApiError(401, "the API key is not valid (unknown or revoked)", path="header.Authorization",
                           headers=challenge)
        request.state.key = key
        if key.role not in allowed:
            need = " or ".join(sorted(allowed))
            raise ApiError(403, f"the key {key.name!r} has role {key.role!r}; this needs {need}",
                           path="header.Authorization")
        return key

    return dependency


def actor(request: Request, key: KeyInfo | None) -> Actor:
    return Actor(key_id=key.key_id if key else None, key_name=key.name if key else None,
                 role=key.role if key else None, request_id=getattr(request.state, "request_id", None),
                 method=request.method, path=request.url.path)
