"""FastAPI dependencies, as typed aliases the routes annotate their parameters with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from platform_defs.api.errors import FORBIDDEN, UNAUTHORIZED, ApiError
from platform_defs.api.settings import Settings
from platform_defs.ops.store import OpsStore
from platform_defs.ops.usage import ApiKeyInfo, authenticate_token

bearer = HTTPBearer(
    scheme_name="ApiKey",
    description=(
        "An API key from `floe api create-key`: `Authorization: Bearer floe_<id>_<secret>`."
    ),
    auto_error=False,
)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> OpsStore:
    store: OpsStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[OpsStore, Depends(get_store)]


def get_session(store: StoreDep) -> Iterator[Session]:
    """A read-only session; on SQLite a plain (deferred) BEGIN, which never blocks writers."""
    with Session(store.engine) as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_api_key(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKeyInfo:
    """The caller's live API key, or 401."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        message = "missing API key: send Authorization: Bearer <key>"
        raise ApiError(401, UNAUTHORIZED, message, headers=challenge)
    with Session(store.engine) as session, session.begin():
        key = authenticate_token(session, credentials.credentials)
    if key is None:
        raise ApiError(401, UNAUTHORIZED, "invalid or revoked API key", headers=challenge)
    return key


ApiKeyDep = Annotated[ApiKeyInfo, Depends(get_api_key)]


def require_port(key: ApiKeyInfo, output_port_id: uuid.UUID) -> None:
    """403 unless ``key`` is scoped to the port."""
    if output_port_id not in key.output_port_ids:
        raise ApiError(
            403,
            FORBIDDEN,
            f"API key {key.key_id} is not scoped to output port {output_port_id}",
        )


def request_id_header(
    x_request_id: Annotated[
        str | None,
        Header(
            alias="X-Request-Id",
            description="Your id for this request (1-128 of A-Za-z0-9._:-), echoed in the "
            "response header and error bodies; one is made when absent or unusable.",
        ),
    ] = None,
) -> None:
    """Declares the header in the OpenAPI document; the middleware does the work."""


__all__ = [
    "ApiKeyDep",
    "SessionDep",
    "SettingsDep",
    "StoreDep",
    "bearer",
    "get_api_key",
    "get_session",
    "get_settings",
    "get_store",
    "request_id_header",
    "require_port",
]


def no_unknown_query_parameters(request: Request) -> None:
    """A query parameter the operation does not declare is refused (422), as an unknown
    body field is: a typo (``granularty=week``) would otherwise be silently ignored."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        known |= {param.alias for param in sub.query_params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown query parameter (known: {', '.join(sorted(known)) or 'none'})",
                    "type": "extra_forbidden",
                    "input": request.query_params.get(name),
                }
                for name in unknown
            ]
        )
