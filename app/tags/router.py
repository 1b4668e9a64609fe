from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.accounts.dependencies import CurrentUser, OptionalUser
from app.db import SessionDep
from app.errors import problem_responses
from app.tags import service
from app.tags.exceptions import TagNotFound
from app.tags.schemas import TagCreate, TagList, TagRead

router = APIRouter(tags=["tags"])


def _read(session: SessionDep, clip_id: uuid.UUID, tag_id: uuid.UUID, user: CurrentUser) -> TagRead:
    clip = service.visible_clip(session, clip_id, user)
    for item in service.tags_for_viewer(session, clip, user):
        if item["id"] == tag_id:
            return TagRead(**item)
    raise TagNotFound("No such tag on this clip")


@router.post(
    "/v1/clips/{clip_id}/tags",
    response_model=TagRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_tag(clip_id: uuid.UUID, data: TagCreate, user: CurrentUser, session: SessionDep) -> TagRead:
    """Creator on their own clip: active at once. Merchant with its own SKU on a public clip:
    `pending` until the creator accepts."""
    tag = service.create_tag(session, clip_id, user, data)
    return _read(session, clip_id, tag.id, user)


@router.get("/v1/clips/{clip_id}/tags", response_model=TagList, responses=problem_responses(401, 404))
def list_tags(clip_id: uuid.UUID, user: OptionalUser, session: SessionDep) -> TagList:
    """Tags with the SKU's live price, image, availability and a buy action."""
    clip = service.visible_clip(session, clip_id, user)
    return TagList(items=[TagRead(**item) for item in service.tags_for_viewer(session, clip, user)])


@router.post(
    "/v1/clips/{clip_id}/tags/{tag_id}/accept",
    response_model=TagRead,
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra={"x-access": "authenticated+owner"},
)
def accept_tag(clip_id: uuid.UUID, tag_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> TagRead:
    service.decide_tag(session, clip_id, tag_id, user, accept=True)
    return _read(session, clip_id, tag_id, user)


@router.post(
    "/v1/clips/{clip_id}/tags/{tag_id}/reject",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
    openapi_extra={"x-access": "authenticated+owner"},
)
def reject_tag(clip_id: uuid.UUID, tag_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    service.decide_tag(session, clip_id, tag_id, user, accept=False)
    return Response(status_code=204)


@router.delete(
    "/v1/clips/{clip_id}/tags/{tag_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
    openapi_extra={"x-access": "authenticated+owner"},
)
def remove_tag(clip_id: uuid.UUID, tag_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    service.remove_tag(session, clip_id, tag_id, user)
    return Response(status_code=204)
