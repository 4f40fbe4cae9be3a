"""``GET /healthz``: the service is up and its ops store answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from platform_defs.api.deps import StoreDep, request_id_header
from platform_defs.api.errors import SERVICE_UNAVAILABLE, ApiError
from platform_defs.api.responses import REQUEST_ID_RESPONSE_HEADER, error_responses
from platform_defs.api.schemas import Health
from plugins.redact import mask_url_password

router = APIRouter(tags=["health"], dependencies=[Depends(request_id_header)])


@router.get(
    "/healthz",
    operation_id="healthz",
    summary="Liveness and ops-store check",
    response_model=Health,
    responses={
        200: {
            "description": "The service and its ops store answer.",
            "headers": REQUEST_ID_RESPONSE_HEADER,
        },
        **error_responses(422, 503),
    },
)
def healthz(store: StoreDep) -> Health:
    """``{"status": "ok"}`` when a query on the ops store succeeds, else 503."""
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        message = f"the ops store does not answer: {mask_url_password(first_line)}"
        raise ApiError(503, SERVICE_UNAVAILABLE, message) from None
    return Health(status="ok")
