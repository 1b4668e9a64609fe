"""Upload API (Mux/S3 conventions), clip routes and, for the local backend, the media route."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from stat import S_ISREG
from typing import Annotated, Any

from botocore.exceptions import ClientError
from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse
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
from app.config import get_settings
from app.db import SessionDep, as_utc, session_scope
from app.errors import NotFound, Unauthorized, problem_responses
from app.storage import LocalStorage, get_storage
from app.storage.keys import PLAYLIST_SUFFIXES, MediaKey, MediaKind, classify
from app.storage.playlists import rewrite_m3u8, rewrite_vtt, target_key, with_query
from app.storage.s3 import S3Storage
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


# --- media ---------------------------------------------------------------------------------------

MEDIA_DESCRIPTION = """Published media: a clip's renditions (HLS playlists and segments, MP4, poster,
thumbnails, storyboard), avatars and product images.

**Who may call it:** anyone for a public, ready clip's renditions, avatars and product images;
for any other clip (private, unlisted, not ready), only with the signed `token` of a playback URL
the API issued to someone allowed to see the clip (`GET /v1/clips/{id}`), until it expires. A
clip's original upload and catalog import files are never served, whatever the spelling of the
path. Refusals answer 404 as for a missing file.

Playlists (`.m3u8`) and storyboards (`.vtt`) are answered by the API with every reference
rewritten so that the player's next request is authorised too (the token carried, or presigned
URLs on S3). Other files are streamed (local storage; HTTP `Range`, `ETag`, `If-None-Match`,
`If-Modified-Since`) or redirected to a short-lived presigned GET (S3). `HEAD` is answered like
`GET` without a body. Public renditions are cacheable (`public, max-age=..., immutable`; playlists
briefly); signed ones are `private, no-store`."""


def _cache_control(token: str | None, playlist: bool) -> str:
    settings = get_settings()
    if token is not None:
        return "private, no-store"
    if playlist:
        return f"public, max-age={settings.media_playlist_max_age_seconds}"
    return f"public, max-age={settings.media_cache_max_age_seconds}, immutable"


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _not_modified(request: Request, etag: str, mtime: float | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etag)
    since = request.headers.get("if-modified-since")
    if since and mtime is not None:
        try:
            return int(mtime) <= int(parsedate_to_datetime(since).timestamp())
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
    return False


def _rewriter(item: MediaKey, token: str | None) -> Callable[[str], str]:
    storage = get_storage()
    on_s3 = isinstance(storage, S3Storage)
    prefix = service.clip_prefix(item.clip_id) if item.clip_id else ""

    def resolve(uri: str) -> str:
        target = target_key(item.key, uri)
        if target is None or not target.startswith(prefix) or classify(target) is None:
            return uri  # absolute, or not an object we serve: left as written
        if on_s3 and not target.endswith(PLAYLIST_SUFFIXES):
            assert isinstance(storage, S3Storage)
            return storage.presign_get(target)  # segments, images: straight from the bucket
        return with_query(uri, "token", token) if token else uri

    return resolve


def _playlist_response(request: Request, item: MediaKey, token: str | None) -> Response:
    storage = get_storage()
    try:
        with storage.open(item.key) as handle:
            text = handle.read(4 * 1024 * 1024).decode("utf-8")
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        raise NotFound("No such media file.")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise NotFound("No such media file.")
        raise
    rewrite = rewrite_vtt if item.suffix == ".vtt" else rewrite_m3u8
    body = rewrite(text, _rewriter(item, token)).encode()
    etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": _cache_control(token, True), "Vary": "Origin"}
    if _not_modified(request, etag, None):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(media_type=item.media_type, headers=headers)
    return Response(body, media_type=item.media_type, headers=headers)


def _file_response(request: Request, item: MediaKey, token: str | None) -> Response:
    storage = get_storage()
    cache = _cache_control(token, item.is_playlist)
    if isinstance(storage, S3Storage):
        # Signed late: the URL handed out stays valid; each fetch gets a fresh presigned GET.
        settings = get_settings()
        redirect_cache = (
            cache
            if token is not None
            else f"public, max-age={min(300, settings.presign_expiry_seconds // 4)}"
        )
        return RedirectResponse(
            storage.presign_get(item.key),
            status_code=status.HTTP_307_TEMPORARY_REDIRECT,
            headers={"Cache-Control": redirect_cache},
        )
    if not isinstance(storage, LocalStorage):
        raise NotFound("No such media file.")
    try:
        path = storage.path_for(item.key)
        stat = path.stat()
    except (ValueError, OSError):
        raise NotFound("No such media file.")
    if not S_ISREG(stat.st_mode):
        raise NotFound("No such media file.")
    etag = f'"{hashlib.md5(f"{stat.st_mtime}-{stat.st_size}".encode(), usedforsecurity=False).hexdigest()}"'
    headers = {
        "ETag": etag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Cache-Control": cache,
    }
    if _not_modified(request, etag, stat.st_mtime):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return FileResponse(path, media_type=item.media_type, headers=headers, stat_result=stat)


_MEDIA_ROUTE: dict[str, Any] = {
    "response_class": FileResponse,
    "responses": {
        200: {"description": "The file (HTTP Range supported on local storage)"},
        304: {"description": "Not modified (`If-None-Match` / `If-Modified-Since`)"},
        307: {"description": "S3: a short-lived presigned GET of the object"},
        **problem_responses(404, 416, 422),
    },
    "description": MEDIA_DESCRIPTION,
}


@media.head(
    "/{key:path}", operation_id="media_head_file", summary="Headers of a published media file", **_MEDIA_ROUTE
)
@media.get(
    "/{key:path}",
    operation_id="media_get_file",
    summary="Published media: renditions, playlists, images",
    **_MEDIA_ROUTE,
)
def get_media(
    key: str,
    request: Request,
    session: SessionDep,
    token: Annotated[
        str | None, Query(max_length=64, description="Signed playback token (non-public clips)")
    ] = None,
) -> Response:
    item = classify(key)
    if item is None:
        raise NotFound("No such media file.")
    grant: str | None = None
    if item.kind is MediaKind.clip:
        assert item.clip_id is not None
        try:
            grant = service.media_grant(session, item.clip_id, token)
        except ClipNotFound:
            raise NotFound("No such media file.")
        session.rollback()  # no transaction held while the file streams
    storage = get_storage()
    if item.is_playlist and (grant is not None or isinstance(storage, S3Storage)):
        return _playlist_response(request, item, grant)
    return _file_response(request, item, grant)


router.include_router(uploads)
router.include_router(clips)
router.include_router(me)
router.include_router(media)
