"""Upload API (Mux/S3 conventions), clip routes and, for the local backend, the media route."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from app.accounts.dependencies import CreatorUser, CurrentUser, OptionalUser, get_optional_user, oauth2_scheme
from app.clips import service
from app.clips.exceptions import ClipNotFound, UploadSizeMismatch, UploadTooLarge
from app.clips.schemas import (
    ClipPage,
    ClipRead,
    ClipUpdate,
    UploadComplete,
    UploadCreate,
    UploadPartUrl,
    UploadRead,
)
from app.clips.tasks import CONTENT_TYPES
from app.config import get_settings
from app.db import SessionDep, as_utc, session_scope
from app.errors import NotFound, Unauthorized, problem_responses
from app.storage import LocalStorage, get_storage
from app.tags import service as tags_service
from app.tags.schemas import TagRead

router = APIRouter()
uploads = APIRouter(prefix="/v1/uploads", tags=["uploads"])
clips = APIRouter(prefix="/v1/clips", tags=["clips"])
me = APIRouter(prefix="/v1/me/clips", tags=["clips"])
media = APIRouter(prefix="/v1/media", tags=["media"])


def _upload_read(upload: service.UploadSession, parts: list[dict[str, object]] | None = None) -> UploadRead:
    return UploadRead(
        id=upload.id,
        clip_id=upload.clip_id,
        mode=upload.mode,
        status=upload.status,
        size=upload.declared_size,
        expires_at=as_utc(upload.expires_at),
        part_size=upload.part_size,
        parts=[UploadPartUrl.model_validate(p) for p in parts or []],
        **service.upload_urls(upload),
    )


def _clip_reads(session: SessionDep, clips: list[service.Clip]) -> list[ClipRead]:
    ids = [clip.id for clip in clips]
    slugs = service.interest_slugs(session, ids)
    tags = tags_service.active_tags_for_clips(session, ids)
    reads = []
    for clip in clips:
        read = service.clip_read(clip, slugs[clip.id])
        read.tags = [TagRead.model_validate(tag) for tag in tags[clip.id]]
        reads.append(read)
    return reads


def _clip_read(session: SessionDep, clip: service.Clip) -> ClipRead:
    return _clip_reads(session, [clip])[0]


# --- uploads ------------------------------------------------------------------------------------


@uploads.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadRead,
    responses=problem_responses(401, 403, 413, 415, 422),
    summary="Declare an upload and get where to send the file",
)
def create_upload(data: UploadCreate, session: SessionDep, user: CreatorUser) -> UploadRead:
    upload, parts = service.create_upload(session, user, data)
    return _upload_read(upload, parts)


@dataclass(frozen=True)
class _ContentTarget:
    key: str
    content_type: str
    declared_size: int


def _authorize_content(request: Request, token: str | None, upload_id: uuid.UUID) -> _ContentTarget:
    # A short unit of work of its own: no database transaction stays open while bytes stream in.
    with session_scope() as session:
        user = get_optional_user(request, session, token)
        if user is None:
            raise Unauthorized("Sign in to upload")
        upload = service.owned_pending_upload(session, user, upload_id)
        return _ContentTarget(upload.storage_key, upload.content_type, upload.declared_size)


@uploads.put(
    "/{upload_id}/content",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409, 413, 422),
    summary="Stream the file through the API (simple clients; the local backend's upload URL)",
    openapi_extra={
        "x-access": "authenticated+owner",
        "requestBody": {
            "required": True,
            "description": "The file's bytes, exactly the declared size (streamed, never buffered whole)",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def put_upload_content(
    upload_id: uuid.UUID, request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Response:
    target = await run_in_threadpool(_authorize_content, request, token, upload_id)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > target.declared_size:
        raise UploadTooLarge(f"The body is larger than the declared {target.declared_size} bytes.")
    part_size = get_settings().multipart_part_size
    writer = await run_in_threadpool(get_storage().open_writer, target.key, target.content_type)
    buffer = bytearray()
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > target.declared_size:
                raise UploadTooLarge(f"The body is larger than the declared {target.declared_size} bytes.")
            buffer += chunk
            if len(buffer) >= part_size:
                part = bytes(buffer[:part_size])
                del buffer[:part_size]
                await run_in_threadpool(writer.write_part, part)
        if buffer:
            await run_in_threadpool(writer.write_part, bytes(buffer))
            buffer = bytearray()
        if received != target.declared_size:
            raise UploadSizeMismatch(
                f"Received {received} bytes; {target.declared_size} were declared.",
                received_bytes=received,
                declared_bytes=target.declared_size,
            )
        await run_in_threadpool(writer.complete)
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@uploads.post(
    "/{upload_id}/complete",
    response_model=ClipRead,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Verify the uploaded file and start processing",
    openapi_extra={"x-access": "authenticated+owner"},
)
def complete_upload(
    upload_id: uuid.UUID, session: SessionDep, user: CurrentUser, data: UploadComplete | None = None
) -> ClipRead:
    parts = [(p.part_number, p.etag) for p in data.parts] if data and data.parts is not None else None
    clip = service.complete_upload(session, user, upload_id, parts)
    return _clip_read(session, clip)


@uploads.delete(
    "/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409),
    summary="Abort an upload (its clip and any uploaded bytes are removed)",
    openapi_extra={"x-access": "authenticated+owner"},
)
def abort_upload(upload_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    service.abort_upload(session, user, upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- clips --------------------------------------------------------------------------------------


@clips.get("/{clip_id}", response_model=ClipRead, responses=problem_responses(401, 404))
def get_clip(clip_id: uuid.UUID, session: SessionDep, user: OptionalUser) -> ClipRead:
    clip = service.get_clip(session, clip_id)
    if not service.can_view(clip, user):
        raise ClipNotFound("No such clip.")
    return _clip_read(session, clip)


@clips.patch(
    "/{clip_id}", response_model=ClipRead, responses=problem_responses(401, 403, 404, 422), openapi_extra={"x-access": "authenticated+owner"}
)
def update_clip(clip_id: uuid.UUID, data: ClipUpdate, session: SessionDep, user: CurrentUser) -> ClipRead:
    clip = service.update_clip(session, user, clip_id, data)
    return _clip_read(session, clip)


@clips.delete(
    "/{clip_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
    openapi_extra={"x-access": "authenticated+owner"},
)
def delete_clip(clip_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    service.delete_clip(session, user, clip_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me.get("", response_model=ClipPage, responses=problem_responses(401, 403))
def my_clips(
    session: SessionDep,
    user: CreatorUser,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ClipPage:
    rows, next_offset = service.list_creator_clips(session, user, offset, limit)
    return ClipPage(items=_clip_reads(session, rows), next_offset=next_offset)


# --- local media ----------------------------------------------------------------------------------


@media.get(
    "/{key:path}",
    response_class=FileResponse,
    responses={200: {"description": "The file (HTTP Range supported)"}, **problem_responses(404, 416)},
    summary="Media files of the local storage backend (HTTP Range supported)",
)
def get_media(key: str) -> FileResponse:
    storage = get_storage()
    # Upload sources are private; everything else under a clip is published output.
    if not isinstance(storage, LocalStorage) or key.endswith("/source") or "/." in f"/{key}":
        raise NotFound("No such media file.")
    try:
        path = storage.path_for(key)
    except ValueError:
        raise NotFound("No such media file.")
    if not path.is_file():
        raise NotFound("No such media file.")
    return FileResponse(path, media_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"))


router.include_router(uploads)
router.include_router(clips)
router.include_router(me)
router.include_router(media)
