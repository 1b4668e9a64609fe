from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from app.accounts import service as accounts_service
from app.accounts.dependencies import AdminUser, CurrentUser, OptionalUser
from app.accounts.models import Role
from app.clips import service as clips_service
from app.clips.models import ClipStatus, Visibility
from app.db import SessionDep
from app.errors import NotFound, problem_responses
from app.jobs import enqueue
from app.search import service, tasks
from app.search.exceptions import ClipNotFound, TagSuggestionsForbidden
from app.search.schemas import (
    KIND_OF_TYPE,
    HashtagPage,
    ReindexAccepted,
    SearchPage,
    SearchType,
    SuggestionList,
    TagSuggestionList,
)

router = APIRouter(tags=["search"])

Q = Annotated[
    str,
    Query(
        min_length=1,
        max_length=200,
        description="What the viewer typed",
        examples=["moisturiser for dry skin"],
    ),
]
Limit = Annotated[int, Query(ge=1, le=50, description="Items per page")]
Cursor = Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page")]
Debug = Annotated[bool, Query(description="Explain each score (its parts) in `debug`")]


@router.get(
    "/v1/search",
    operation_id="search_query",
    summary="Search clips, products, creators or hashtags",
    description=(
        "Anyone may call it (signed in or not; a signed-in viewer's blocks are applied). Full text "
        "over captions, hashtags, product titles and brands, creator names and handles, with "
        "English and French stemming, prefix matching of the last word and typo tolerance "
        "(trigrams), plus semantic matches from sentence embeddings (a query can find a clip "
        "that shares no word with it). Ranked by relevance lifted by social signals (followers, "
        "likes, shares, comments, completion) and, for products, live availability. Only "
        "public ready clips, active products and active creators are returned; clips hidden by "
        "moderation never are. `debug=true` explains each score. Problems: `invalid_cursor` "
        "(400), `validation_error` (422)."
    ),
    response_model=SearchPage,
    response_model_exclude_unset=True,
    responses={
        **problem_responses(400, 401),
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "items": [
                            {
                                "type": "clip",
                                "id": "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50",
                                "title": "my hydrating cream routine #skincare",
                                "creator_id": "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                                "handle": "maya.makes",
                                "hashtags": ["skincare"],
                                "likes": 120,
                                "shares": 8,
                                "views": 5400,
                                "comments": 14,
                                "score": 1.42,
                            }
                        ],
                        "next_cursor": "bzoyMA",
                    }
                }
            }
        },
    },
)
def search(
    q: Q,
    session: SessionDep,
    user: OptionalUser,
    type: Annotated[SearchType, Query(description="What to search")] = SearchType.clips,
    limit: Limit = 20,
    cursor: Cursor = None,
    debug: Debug = False,
) -> Any:
    return service.search(
        session,
        q=q,
        kind=KIND_OF_TYPE[type.value],
        viewer_id=user.id if user else None,
        limit=limit,
        cursor=cursor,
        debug=debug,
    )


@router.get(
    "/v1/search/suggest",
    operation_id="search_suggest",
    summary="As-you-type suggestions",
    description=(
        "Anyone may call it. Products, brands, creators (by name or handle) and hashtags whose "
        "words start with what was typed (any word of the name, not only the first), with typo "
        "tolerance on the last word; served from each process's in-memory completion index. "
        "Problems: `validation_error` (422)."
    ),
    response_model=SuggestionList,
    response_model_exclude_unset=True,
    responses={
        **problem_responses(401),
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "items": [
                            {"type": "hashtag", "text": "#skincare", "tag": "skincare", "score": 0.9},
                            {"type": "creator", "text": "Skin by Sam", "handle": "skinbysam", "score": 0.7},
                        ]
                    }
                }
            }
        },
    },
)
def suggest(q: Q, session: SessionDep, limit: Annotated[int, Query(ge=1, le=20)] = 8) -> Any:
    return {"items": service.suggest(session, q, limit)}


@router.get(
    "/v1/hashtags/{tag}",
    operation_id="search_hashtag_page",
    summary="A hashtag's page: its clips, ranked like search",
    description=(
        "Anyone may call it (a signed-in viewer's blocks are applied). Public ready clips whose "
        "caption carries `#tag` (case and accents ignored), ranked by their social signals; "
        "clips hidden by moderation are left out. Problems: `invalid_cursor` (400), "
        "`validation_error` (422)."
    ),
    response_model=HashtagPage,
    response_model_exclude_unset=True,
    responses={
        **problem_responses(400, 401),
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "tag": "skincare",
                        "clips": 1,
                        "items": [
                            {
                                "type": "clip",
                                "id": "0b6c8ad4-8a5f-4b3e-9a53-9c1d2d3e4f50",
                                "title": "my hydrating cream routine #skincare",
                                "handle": "maya.makes",
                                "hashtags": ["skincare"],
                                "likes": 120,
                                "score": 1.3,
                            }
                        ],
                        "next_cursor": None,
                    }
                }
            }
        },
    },
)
def hashtag_page(
    tag: str,
    session: SessionDep,
    user: OptionalUser,
    limit: Limit = 20,
    cursor: Cursor = None,
    debug: Debug = False,
) -> Any:
    return service.hashtag_page(
        session, tag, viewer_id=user.id if user else None, limit=limit, cursor=cursor, debug=debug
    )


@router.get(
    "/v1/clips/{clip_id}/tag-suggestions",
    operation_id="search_tag_suggestions",
    summary="Products to tag in a clip, from its caption and hashtags",
    description=(
        "The clip's creator (any active product with an active SKU, as tagging allows), or a "
        "merchant (its own organisation's products, on public ready clips only, as attaching "
        "allows). Catalogue products whose embedding is closest to the clip's caption and "
        "hashtags (the same vectors as search), helped by words they share, with live price and "
        "availability; sold-out products come last. Problems: `not_authenticated` (401), "
        "`tag_suggestions_forbidden` (403), `clip_not_found` (404)."
    ),
    response_model=TagSuggestionList,
    responses={
        **problem_responses(401, 403, 404),
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "items": [
                            {
                                "product_id": "2a4e1c9b-7d3f-4b8a-9e6c-1f0d2b3a4c5e",
                                "sku_id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
                                "title": "Hydra Boost Day Cream 50 ml",
                                "brand": "Aurora",
                                "price_minor": 2490,
                                "currency": "EUR",
                                "available": 37,
                                "availability": "in_stock",
                                "similarity": 0.61,
                                "score": 0.7,
                            }
                        ]
                    }
                }
            }
        },
    },
)
def tag_suggestions(
    clip_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Any:
    try:
        clip = clips_service.get_clip(session, clip_id)
    except NotFound:
        raise ClipNotFound("No such clip")
    organisation_id = None
    if clip.creator_id != user.id:
        if user.role is not Role.merchant:
            if not clips_service.can_view(clip, user):
                raise ClipNotFound("No such clip")
            raise TagSuggestionsForbidden("Only the clip's creator or a merchant may tag this clip")
        organisation_id = accounts_service.get_merchant_organisation_id(session, user.id)
        public_ready = clip.visibility is Visibility.public and clip.status is ClipStatus.ready
        if organisation_id is None or not public_ready:
            raise TagSuggestionsForbidden("Merchants may only attach their SKUs to public, ready clips")
    items = service.tag_suggestions(
        session, clip_id=clip.id, caption=clip.caption or "", organisation_id=organisation_id, limit=limit
    )
    return {"items": items}


@router.post(
    "/v1/admin/search/reindex",
    operation_id="search_admin_reindex",
    summary="Reread every searchable source and compute missing embeddings",
    description=(
        "Admins only. Queues a job that rebuilds every search document from clips, products and "
        "creators (and their signals) and embeds whatever is stale; each process's in-memory "
        "indexes catch up from the database as it goes. Problems: `not_authenticated` (401), "
        "`role_required` (403)."
    ),
    response_model=ReindexAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **problem_responses(401, 403),
        202: {"content": {"application/json": {"example": {"status": "queued"}}}},
    },
)
def reindex(user: AdminUser, session: SessionDep) -> Any:
    enqueue(session, tasks.reindex)
    return {"status": "queued"}
