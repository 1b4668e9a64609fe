from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response, status

from app.accounts.dependencies import CurrentUser
from app.db import SessionDep, on_commit
from app.errors import Unauthorized, problem_responses
from app.feed import pages, service
from app.feed.dependencies import feed_viewer
from app.feed.runtime import Reads, get_runtime
from app.feed.schemas import EventBatch, EventBatchResult, FeedPage, FollowRead

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
)
async def get_feed(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    # Deliberately not a nested response model: the page is stitched from cached JSON fragments
    # (see app/feed/pages.py); its shape is FeedPage, checked against the schema in the tests.
    user_id = feed_viewer(request)
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
        **problem_responses(401, 413, 422),
    },
    summary="Send a batch of up to 500 feed events (idempotent per event_id)",
)
def post_events(body: EventBatch, request: Request) -> Response:
    # The cached token check of the feed (no query, so no lock held before the insert itself).
    user_id = feed_viewer(request)
    if user_id is None:
        raise Unauthorized("Sign in or start a guest session")
    # its own short unit of work (SQLite: behind the process's writer lock), committed here
    result, inserted = service.store_events(user_id, body.events)
    if inserted:
        get_runtime().events_committed(user_id)
    code = status.HTTP_207_MULTI_STATUS if result.rejected else status.HTTP_200_OK
    return Response(orjson.dumps(result.model_dump()), status_code=code, media_type="application/json")


def _events_committed(user_id: uuid.UUID) -> None:
    get_runtime().events_committed(user_id)


def _set_follow(session: SessionDep, user: CurrentUser, handle: str, following: bool) -> FollowRead:
    creator_id = service.record_follow(session, user.id, handle, following)
    on_commit(session, partial(_events_committed, user.id))  # the next session reflects it
    return FollowRead(creator_id=creator_id, handle=handle.lower(), following=following)


FOLLOW_ERRORS = problem_responses(401, 404, 422)


@router.post(
    "/v1/creators/{handle}/follow",
    response_model=FollowRead,
    responses=FOLLOW_ERRORS,
    summary="Follow a creator",
)
def follow(handle: str, session: SessionDep, user: CurrentUser) -> FollowRead:
    return _set_follow(session, user, handle, True)


@router.delete(
    "/v1/creators/{handle}/follow",
    response_model=FollowRead,
    responses=FOLLOW_ERRORS,
    summary="Unfollow a creator",
)
def unfollow(handle: str, session: SessionDep, user: CurrentUser) -> FollowRead:
    return _set_follow(session, user, handle, False)
