from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SearchType(StrEnum):
    clips = "clips"
    products = "products"
    creators = "creators"
    hashtags = "hashtags"


KIND_OF_TYPE = {"clips": "clip", "products": "product", "creators": "creator", "hashtags": "hashtag"}


class SearchHit(BaseModel):
    """One result. Which fields are set depends on ``type``: clips carry their caption (title),
    creator and counts; products their brand and live price and availability; creators their
    handle and followers; hashtags their tag and number of clips. Fields that do not apply to an
    item's type are left out."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
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
        }
    )

    type: str = Field(description="`clip`, `product`, `creator` or `hashtag`")
    id: uuid.UUID | None = Field(
        None, description="The clip, product or creator (user) id; null for hashtags"
    )
    title: str = Field(description="Caption, product title, creator display name or `#tag`")
    score: float = Field(description="Ranking score (only comparable within one result list)")
    creator_id: uuid.UUID | None = None
    handle: str | None = None
    hashtags: list[str] | None = None
    tag: str | None = None
    clips: int | None = Field(None, description="Hashtags: public clips carrying it")
    brand: str | None = None
    sku_id: uuid.UUID | None = Field(None, description="Products: the SKU offered (cheapest in stock)")
    price_minor: int | None = None
    currency: str | None = None
    available: int | None = Field(None, description="Products: units available to sell now")
    availability: str | None = Field(None, description="Products: `in_stock`, `low_stock` or `out_of_stock`")
    followers: int | None = None
    likes: int | None = None
    shares: int | None = None
    views: int | None = None
    comments: int | None = None
    debug: dict[str, Any] | None = Field(
        None,
        description="With `debug=true`: the parts of the score (text, trigram, semantic, social "
        "signals and multiplier, availability)",
    )


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None = None


class Suggestion(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"type": "creator", "text": "Maya Makes", "handle": "maya.makes", "score": 0.8}
        }
    )

    type: str = Field(description="`product`, `brand`, `creator` or `hashtag`")
    text: str = Field(description="What to show (and to search for when picked)")
    id: uuid.UUID | None = Field(None, description="Products and creators: the id to open")
    handle: str | None = None
    tag: str | None = None
    score: float


class SuggestionList(BaseModel):
    items: list[Suggestion]


class HashtagPage(BaseModel):
    tag: str
    clips: int = Field(description="Public clips carrying the tag (up to 500 are ranked)")
    items: list[SearchHit]
    next_cursor: str | None = None


class TagSuggestion(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
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
        }
    )

    product_id: uuid.UUID
    sku_id: uuid.UUID = Field(description="A SKU to tag (the cheapest in stock)")
    title: str
    brand: str | None = None
    price_minor: int
    currency: str
    available: int
    availability: str
    similarity: float = Field(description="Cosine similarity of the clip's and the product's embeddings")
    score: float


class TagSuggestionList(BaseModel):
    items: list[TagSuggestion]


class ReindexAccepted(BaseModel):
    status: str = Field(examples=["queued"])
