from __future__ import annotations

import asyncio
import email.message
import json
import uuid
from functools import lru_cache, partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app import ratelimit
from app.accounts.dependencies import CurrentUser
from app.db import SessionDep, on_commit, session_scope
from app.errors import DomainError, Unauthorized, problem_responses
from app.feed import fastevents, pages, service
from app.feed.dependencies import feed_viewer, sender_context
from app.feed.runtime import Reads, get_runtime, ready_runtime
from app.feed.schemas import (
    EVENT_BATCH_SCHEMA,
    EventBatch,
    EventBatchResult,
    FeedPage,
    FollowRead,
    ValidEventBatch,
)
from app.feed.writer import get_writer
from app.notifications import service as notifications_service
from app.ratelimit import rate_limit
from app.social import service as social_service

router = APIRouter(tags=["feed"])
# The feed's routes are the busiest of the service: mounted first, they are matched first.
ROUTER_PRIORITY = 0


@router.get(
    "/v1/feed",
    response_model=FeedPage,
    responses=problem_responses(400, 401),
    summary="The next page of the viewer's personalised feed",
    description=(
        "Without `cursor`, starts a new feed session: a ranked list fixed for the session, so "
        "paging never repeats or skips a clip. Pass `next_cursor` back for the next page. Works "
        "for guests and anonymous viewers. Tags carry live price and stock."
    ),
    openapi_extra={"x-access": "public"},
)
async def get_feed(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    # Deliberately not a nested response model: the page is stitched from cached JSON fragments
    # (see app/feed/pages.py); its shape is FeedPage, checked against the schema in the tests.
    user_id = feed_viewer(request)
    await ready_runtime()  # a cold process waits for its engine rather than answering from nothing
    db = Reads()
    try:
        body = pages.build_page(db, user_id, cursor, limit)
    finally:
        db.close()
    return Response(body, media_type="application/json")


@router.post(
    "/v1/events",
    response_model=EventBatchResult,
    responses={
        207: {"model": EventBatchResult, "description": "Some events were rejected (listed by index)"},
        **problem_responses(401, 413, 422, 429),
    },
    openapi_extra={
        "x-access": "authenticated",
        "requestBody": {"required": True, "content": {"application/json": {"schema": EVENT_BATCH_SCHEMA}}},
    },
    summary="Send a batch of up to 500 feed events (idempotent per event_id)",
    description=(
        "Any signed-in account or guest. Optional header `X-Device-Id`: an opaque id the app keeps "
        "per installation (`[A-Za-z0-9._:-]`, at most 64 characters; anything else is ignored), "
        "recorded with each event for the engagement-authenticity checks, with the client "
        "address (`X-Forwarded-For` is honoured only from `CLIPSHOP_ANALYTICS_TRUSTED_PROXIES`) "
        "and the account's kind and age."
    ),
)
async def post_events(request: Request) -> Response:
    # The body is read here rather than by FastAPI (see read_event_batch).
    body = await _read_body(request)
    # The cached token check of the feed (as for GET /v1/feed). A token it refuses is answered
    # after the body's checks, as before the fast path existed.
    refused: DomainError | None = None
    try:
        user_id = feed_viewer(request)
    except DomainError as exc:
        user_id, refused = None, exc
    context = sender_context(request, user_id) if user_id is not None else None

    if user_id is not None and _LIKE in body:  # likes are rate limited (one byte search otherwise)
        ratelimit.check("like", account=user_id, ip=ratelimit.client_ip(request), cost=body.count(_LIKE))
    if user_id is not None and body and _is_json(request.headers.get("content-type")):
        # the usual batch, every event clean: checked from the bytes (app/feed/fastevents.py)
        clean = fastevents.clean_batch(user_id, body, context=context)
        if clean is not None:
            stored = await asyncio.wrap_future(get_writer().submit_prepared(clean.prepared))
            if any(stored):
                _events_committed(user_id)
            return Response(clean.answer(stored), media_type="application/json")
    events = await read_event_batch(request)
    if refused is not None:
        raise refused
    if user_id is None:
        raise Unauthorized("Sign in or start a guest session")
    batch = service.check_events(user_id, events, context=context)
    if batch.needs_database:  # references the in-memory engine cannot answer: a read
        await run_in_threadpool(service.resolve_with_database, batch)
    # the process's event writer commits this batch with whatever else is queued (group commit)
    stored = await asyncio.wrap_future(get_writer().submit(batch.rows()))
    shared = batch.share_views(stored)  # events carrying a share_code never take the clean path
    if shared:
        await run_in_threadpool(_record_share_views, shared)
    result = batch.result(stored)
    if result.accepted:
        _events_committed(user_id)
    code = status.HTTP_207_MULTI_STATUS if result.rejected else status.HTTP_200_OK
    return Response(orjson.dumps(result.model_dump()), status_code=code, media_type="application/json")


async def _read_body(request: Request) -> bytes:
    try:
        return await request.body()
    except Exception as exc:  # as FastAPI answers a body it could not read
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


@lru_cache(maxsize=64)
def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def read_event_batch(request: Request) -> list[Any]:
    """The events of the body: ``EventIn`` items, or raw JSON values for the per-event checks.

    The usual batch (every event valid) is validated straight from the JSON bytes, in one call.
    Anything else takes the path FastAPI takes for a body parameter of type ``EventBatch``
    (the same content-type rule, ``json.loads``, the same model), so malformed bodies get the
    same 400/422 problems and a bad event is still reported on its own, by index."""
    body = await _read_body(request)  # (read once: starlette keeps it)
    content_type = request.headers.get("content-type")
    if not body:
        error: dict[str, Any] = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([error])
    value: Any = body  # not declared JSON: validated as the bytes, as FastAPI does
    if _is_json(content_type):
        try:
            return list(ValidEventBatch.model_validate_json(body).events)
        except ValidationError:
            pass
        try:
            value = json.loads(body)
        except json.JSONDecodeError as exc:
            invalid: dict[str, Any] = {
                "type": "json_invalid",
                "loc": ("body", exc.pos),
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": exc.msg},
            }
            raise RequestValidationError([invalid], body=exc.doc) from exc
        except Exception as exc:  # e.g. bytes that are no Unicode text
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
    try:
        return EventBatch.model_validate(value).events
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=value) from exc


_LIKE = b'"like"'


def _record_share_views(views: list[tuple[str, uuid.UUID, uuid.UUID]]) -> None:
    with session_scope() as session:
        social_service.record_share_views(session, views)


def _events_committed(user_id: uuid.UUID) -> None:
    get_runtime().events_committed(user_id)


def _set_follow(
    request: Request, session: SessionDep, user: CurrentUser, handle: str, following: bool
) -> FollowRead:
    creator_id = service.record_follow(session, user.id, handle, following, sender_context(request, user.id))
    if following:
        profile = user.creator_profile
        notifications_service.new_follower(
            session,
            creator_id=creator_id,
            follower_id=user.id,
            name=f"@{profile.handle}" if profile else user.display_name,
        )
    on_commit(session, partial(_events_committed, user.id))  # the next session reflects it
    return FollowRead(creator_id=creator_id, handle=handle.lower(), following=following)


FOLLOW_ERRORS = problem_responses(401, 404, 422, 429)


@router.post(
    "/v1/creators/{handle}/follow",
    response_model=FollowRead,
    responses=FOLLOW_ERRORS,
    dependencies=[Depends(rate_limit("follow"))],
    summary="Follow a creator",
)
def follow(handle: str, request: Request, session: SessionDep, user: CurrentUser) -> FollowRead:
    return _set_follow(request, session, user, handle, True)


@router.delete(
    "/v1/creators/{handle}/follow",
    response_model=FollowRead,
    responses=FOLLOW_ERRORS,
    dependencies=[Depends(rate_limit("follow"))],
    summary="Unfollow a creator",
)
def unfollow(handle: str, request: Request, session: SessionDep, user: CurrentUser) -> FollowRead:
    return _set_follow(request, session, user, handle, False)
