from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.schema_types import Omittable, StrictBool


class InterestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    parent_slug: str | None = None


class InterestNode(BaseModel):
    slug: str
    name: str
    children: list[InterestRead]


class InterestTree(BaseModel):
    items: list[InterestNode]


class MyInterestsUpdate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"slugs": ["beauty.skincare", "fashion.sneakers", "tech"]}}
    )

    slugs: list[str] = Field(max_length=50, description="Interest slugs the viewer picked")


class MyInterest(BaseModel):
    slug: str
    name: str
    weight: float
    selected: bool


class MyInterests(BaseModel):
    items: list[MyInterest]


class InterestCreate(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)?$", max_length=64)
    name: str = Field(min_length=1, max_length=80)


class InterestUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Omittable[Annotated[str, Field(min_length=1, max_length=80)]] = None
    is_active: Omittable[StrictBool] = None
