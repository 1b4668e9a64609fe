from __future__ import annotations

from functools import partial

from fastapi import APIRouter, status

from app.accounts.dependencies import AdminUser, CurrentUser
from app.db import SessionDep, on_commit
from app.errors import problem_responses
from app.interests import service
from app.interests.models import Interest
from app.interests.schemas import (
    InterestCreate,
    InterestNode,
    InterestRead,
    InterestTree,
    InterestUpdate,
    MyInterest,
    MyInterests,
    MyInterestsUpdate,
)

router = APIRouter(tags=["interests"])


def _tree(interests: list[Interest]) -> InterestTree:
    by_id = {i.id: i for i in interests}
    nodes: dict[int, InterestNode] = {}
    for interest in interests:
        if interest.parent_id is None:
            nodes[interest.id] = InterestNode(slug=interest.slug, name=interest.name, children=[])
    for interest in interests:
        if interest.parent_id is not None and interest.parent_id in nodes:
            parent = by_id[interest.parent_id]
            nodes[interest.parent_id].children.append(
                InterestRead(id=interest.id, slug=interest.slug, name=interest.name, parent_slug=parent.slug)
            )
    return InterestTree(items=list(nodes.values()))


@router.get(
    "/v1/interests",
    response_model=InterestTree,
    summary="The interest taxonomy (two levels)",
    openapi_extra={"x-access": "public"},
)
def list_interests(session: SessionDep) -> InterestTree:
    return _tree(service.list_interests(session))


def _mine(session: SessionDep, user: CurrentUser) -> MyInterests:
    return MyInterests(
        items=[
            MyInterest(slug=i.slug, name=i.name, weight=round(ui.weight, 4), selected=ui.selected)
            for i, ui in service.get_user_interests(session, user.id)
        ]
    )


@router.get("/v1/me/interests", response_model=MyInterests, responses=problem_responses(401))
def my_interests(session: SessionDep, user: CurrentUser) -> MyInterests:
    return _mine(session, user)


@router.put(
    "/v1/me/interests",
    response_model=MyInterests,
    responses=problem_responses(401, 422),
    summary="Onboarding: pick interests (guests too)",
)
def set_my_interests(data: MyInterestsUpdate, session: SessionDep, user: CurrentUser) -> MyInterests:
    service.set_user_interests(session, user.id, data.slugs)
    on_commit(session, partial(service.picks_changed, user.id))
    return _mine(session, user)


@router.post(
    "/v1/admin/interests",
    response_model=InterestRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 422),
)
def create_interest(data: InterestCreate, _: AdminUser, session: SessionDep) -> InterestRead:
    interest = service.create_interest(session, data.slug, data.name)
    return InterestRead(id=interest.id, slug=interest.slug, name=interest.name)


@router.patch(
    "/v1/admin/interests/{slug}",
    response_model=InterestRead,
    responses=problem_responses(401, 403, 404, 422),
)
def update_interest(slug: str, data: InterestUpdate, _: AdminUser, session: SessionDep) -> InterestRead:
    interest = service.get_interest(session, slug)
    if data.name is not None:
        interest.name = data.name
    if data.is_active is not None:
        interest.is_active = data.is_active
    session.flush()
    return InterestRead(id=interest.id, slug=interest.slug, name=interest.name)
