"""``POST /api/v1/output-ports/{output_port_id}/usage-stats``: a producer's push."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from platform_defs.api.deps import (
    ApiKeyDep,
    StoreDep,
    no_unknown_query_parameters,
    request_id_header,
    require_port,
)
from platform_defs.api.errors import (
    IDEMPOTENCY_KEY_REUSED,
    PUSH_IN_PROGRESS,
    ApiError,
    validation_error,
)
from platform_defs.api.requestid import current_request_id
from platform_defs.api.responses import REQUEST_ID_RESPONSE_HEADER, error_responses
from platform_defs.api.schemas import PushAccepted, UsageStatsPush
from platform_defs.api.validation import push_problems
from platform_defs.ops.models import utc_now
from platform_defs.ops.usage import (
    AssetStatRow,
    IdempotencyKeyReusedError,
    PushInProgressError,
    PushRecord,
    QueryStatRow,
    record_push,
    request_hash,
)

REPLAYED_HEADER = "Idempotent-Replayed"

router = APIRouter(
    prefix="/api/v1/output-ports",
    tags=["usage-stats"],
    dependencies=[Depends(request_id_header), Depends(no_unknown_query_parameters)],
)

OutputPortId = Annotated[uuid.UUID, Path(description="The output port the stats are about.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Makes retries safe: the same key and body get the first answer again; "
        "the same key with another body gets 422.",
    ),
]


@router.post(
    "/{output_port_id}/usage-stats",
    operation_id="push_usage_stats",
    summary="Push daily usage stats of an output port",
    status_code=202,
    response_model=PushAccepted,
    responses={
        202: {
            "description": "Committed: both payloads, for every date they cover.",
            "headers": {
                **REQUEST_ID_RESPONSE_HEADER,
                REPLAYED_HEADER: {
                    "description": "`true` when this is the answer of an earlier request "
                    "with the same Idempotency-Key (nothing was written again).",
                    "schema": {"type": "string", "enum": ["true"]},
                },
            },
        },
        **error_responses(401, 403, 404, 409, 413, 422),
    },
)
def push_usage_stats(
    output_port_id: OutputPortId,
    push: UsageStatsPush,
    key: ApiKeyDep,
    store: StoreDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PushAccepted:
    """Replace the port's rows of every date in the push, in both tables, in one transaction.

    The push covers the dates in either list; for each, the stored rows of both tables are
    replaced by the pushed ones. Nothing is written unless everything is.
    """
    require_port(key, output_port_id)
    problems = push_problems(push)
    if problems:
        raise validation_error(problems)
    canonical = json.dumps(push.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    received = utc_now()
    try:
        with store.session() as session:
            outcome = record_push(
                session,
                output_port_id=output_port_id,
                producer=key.producer,
                query_stats=[
                    QueryStatRow(row.date, row.consumer_id, row.query_count)
                    for row in push.query_stats
                ],
                asset_stats=[
                    AssetStatRow(row.date, row.tech_asset_id, row.consumer_id, row.query_count)
                    for row in push.asset_stats
                ],
                body_hash=request_hash(canonical.encode()),
                idempotency_key=idempotency_key,
                key_id=key.key_id,
                request_id=current_request_id(),
                received_at=received,
            )
    except PushInProgressError:
        raise ApiError(
            409,
            PUSH_IN_PROGRESS,
            "a push with this Idempotency-Key is being committed: retry in a moment",
            headers={"Retry-After": "1"},
        ) from None
    except IdempotencyKeyReusedError as exc:
        raise ApiError(
            422,
            IDEMPOTENCY_KEY_REUSED,
            f"this Idempotency-Key was used by push {exc.existing.push_id} with another "
            "body: use a new key for a new push",
        ) from None
    if outcome.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return accepted(outcome.record)


def accepted(record: PushRecord) -> PushAccepted:
    return PushAccepted(
        push_id=record.push_id,
        output_port_id=record.output_port_id,
        status="committed",
        dates=list(record.dates),
        query_stats_rows=record.query_stats_rows,
        asset_stats_rows=record.asset_stats_rows,
    )
