"""Field types shared by request schemas.

``Omittable[T]``: a field of a partial update (PATCH) that may be left out but, when sent, must be
a ``T``: an explicit ``null`` is a 422 (the column cannot be empty), and the OpenAPI schema does not
offer ``null``. Booleans in request bodies are ``StrictBool``: ``0``/``"yes"`` are refused."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, StrictBool
from pydantic.json_schema import SkipJsonSchema

T = TypeVar("T")


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


Omittable = Annotated[T | SkipJsonSchema[None], AfterValidator(_refuse_null)]

__all__ = ["Omittable", "StrictBool"]
