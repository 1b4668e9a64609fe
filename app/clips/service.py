"""Clip lookups, playback URLs and lifecycle changes (services flush; the caller commits)."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.accounts.models import Role, User
from app.clips.exceptions import (
    ClipNotEditable,
    ClipNotFound,
    NotClipOwner,
    NotUploadOwner,
    UnsupportedUploadType,
    UploadChecksumMismatch,
    UploadExpired,
    UploadIncomplete,
    UploadNotFound,
    UploadNotPending,
    UploadPartsInvalid,
    UploadSizeMismatch,
    UploadTooLarge,
)
from app.clips.models import (
    Clip,
    ClipInterest,
    ClipStatus,
    UploadMode,
    UploadSession,
    UploadStatus,
    Visibility,
)
from app.clips.schemas import ClipRead, ClipUpdate, PlaybackRead, RenditionRead, UploadCreate
from app.config import get_settings
from app.db import as_utc, on_commit, utcnow
from app.interests import service as interests_service
from app.interests.models import Interest
from app.jobs import enqueue
from app.storage import get_storage
from app.storage.s3 import S3Storage
from app.storage.signing import sign_prefix, verify_prefix


def clip_prefix(clip_id: uuid.UUID) -> str:
    """Every object of a clip lives under this prefix (deleting the clip deletes the prefix)."""
    return f"clips/{clip_id}/"


def get_clip(session: Session, clip_id: uuid.UUID, *, include_deleted: bool = False) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None or (clip.status is ClipStatus.deleted and not include_deleted):
        raise ClipNotFound("No such clip.")
    return clip


def get_ready_public_clip(session: Session, clip_id: uuid.UUID) -> Clip:
    """A clip anyone may watch (ready, public or unlisted)."""
    clip = get_clip(session, clip_id)
    if clip.status is not ClipStatus.ready or clip.visibility is Visibility.private:
        raise ClipNotFound("No such clip.")
    return clip


def touch_clip(session: Session, clip_id: uuid.UUID) -> None:
    """Mark a clip changed (``updated_at``) without changing it: what reads clips incrementally
    (the feed engine's scan of recently updated clips) looks at it again, e.g. after moderation
    hid or restored it."""
    session.execute(update(Clip).where(Clip.id == clip_id).values(updated_at=utcnow()))


def interest_ids(session: Session, clip_id: uuid.UUID) -> list[int]:
    rows = session.scalars(select(ClipInterest.interest_id).where(ClipInterest.clip_id == clip_id))
    return sorted(rows)


def is_public_playback(clip: Clip) -> bool:
    """Renditions anyone may fetch without a signed URL: public and ready clips only."""
    return clip.status is ClipStatus.ready and clip.visibility is Visibility.public


def media_base_url() -> str:
    """The API's media route (``/v1/media``): playlists are answered (rewritten) there."""
    return f"{get_settings().public_base_url.rstrip('/')}/v1/media"


def public_media_url(key: str) -> str:
    """The stable URL of a public ready clip's object (never expires; see ``playback_url``)."""
    cdn = get_settings().media_base_url
    return f"{(cdn or media_base_url()).rstrip('/')}/{key}"


def playback_token(clip_id: uuid.UUID) -> str:
    """A signed, expiring token for every object under the clip's prefix (checked by the media
    route, carried by rewritten playlists to each variant, segment and sprite)."""
    settings = get_settings()
    return sign_prefix(settings.secret_key, clip_prefix(clip_id), settings.playback_token_ttl_seconds)


def playback_url(clip: Clip, key: str, token: str | None = None) -> str:
    """The URL a player fetches ``key`` (an object under the clip's prefix) at.

    Public ready clips: a stable URL that never expires (the CDN when ``CLIPSHOP_MEDIA_BASE_URL``
    is set, else the API's media route, which answers playlists rewritten and redirects other
    files to fresh presigned GETs on S3), so caches may keep it. Other clips: the media route
    with a signed ``token`` valid ``CLIPSHOP_PLAYBACK_TOKEN_TTL_SECONDS`` from now; pass one
    token for all the URLs of one response."""
    if is_public_playback(clip):
        return public_media_url(key)
    return f"{media_base_url()}/{key}?token={token or playback_token(clip.id)}"


def playback(clip: Clip) -> dict[str, Any]:
    """URLs a player needs: HLS master, MP4 fallback, poster and thumbnails (None until ready).
    Only call it for a viewer who may see the clip (``can_view``): for a clip that is not public
    it issues signed URLs."""
    if clip.status is not ClipStatus.ready:
        return {"hls": None, "mp4": None, "poster": None, "thumbnails": {}, "storyboard": None}
    token = None if is_public_playback(clip) else playback_token(clip.id)
    thumbs: dict[str, dict[str, str]] = {}
    for fmt, by_width in (clip.thumbnail_keys or {}).items():
        thumbs[fmt] = {str(w): playback_url(clip, key, token) for w, key in by_width.items()}
    board = clip.storyboard
    return {
        "hls": playback_url(clip, clip.hls_master_key, token) if clip.hls_master_key else None,
        "mp4": playback_url(clip, clip.mp4_key, token) if clip.mp4_key else None,
        "poster": playback_url(clip, clip.poster_key, token) if clip.poster_key else None,
        "thumbnails": thumbs,
        "storyboard": {
            "vtt": playback_url(clip, board["vtt_key"], token),
            "sprite": playback_url(clip, board["sprite_key"], token),
            **{k: board[k] for k in ("interval_s", "tile_width", "tile_height", "columns", "rows", "count")},
        }
        if board
        else None,
    }


def media_grant(session: Session, clip_id: uuid.UUID, token: str | None) -> str | None:
    """May this request read the clip's published objects? Returns the token to carry into
    rewritten playlists (None: public, nothing to carry); raises ClipNotFound otherwise (as for a
    clip that does not exist: refusals do not reveal that a private clip exists)."""
    clip = session.get(Clip, clip_id)
    if clip is None or clip.status is ClipStatus.deleted:
        raise ClipNotFound("No such media file.")
    if token is not None and verify_prefix(get_settings().secret_key, clip_prefix(clip_id), token):
        return token
    if is_public_playback(clip):
        return None
    raise ClipNotFound("No such media file.")


# --- uploads ------------------------------------------------------------------------------------


def source_key(clip_id: uuid.UUID) -> str:
    return f"{clip_prefix(clip_id)}source"


def _s3() -> S3Storage | None:
    storage = get_storage()
    return storage if isinstance(storage, S3Storage) else None


def create_upload(
    session: Session, user: User, data: UploadCreate
) -> tuple[UploadSession, list[dict[str, Any]]]:
    """Validate the declaration, create the clip (`uploading`) and its upload session.

    Returns the session and, for multipart uploads, the presigned part URLs. Every check happens
    before any URL is issued.
    """
    settings = get_settings()
    if data.size > settings.max_upload_bytes:
        raise UploadTooLarge(
            f"The file is {data.size} bytes; uploads are limited to {settings.max_upload_bytes} bytes.",
            max_bytes=settings.max_upload_bytes,
        )
    content_type = data.content_type.split(";")[0].strip().lower()
    if content_type not in settings.upload_content_types:
        raise UnsupportedUploadType(
            f"Content type {content_type!r} is not accepted for clips.",
            accepted=settings.upload_content_types,
        )
    interests = interests_service.resolve_slugs(session, data.interests)
    clip = Clip(
        id=uuid.uuid4(),
        creator_id=user.id,
        status=ClipStatus.uploading,
        caption=data.caption,
        visibility=data.visibility,
        processing_progress=0,
        processing_attempts=0,
    )
    clip.storage_prefix = clip_prefix(clip.id)
    clip.source_key = source_key(clip.id)
    session.add(clip)
    session.flush()
    for interest in interests:
        session.add(ClipInterest(clip_id=clip.id, interest_id=interest.id))
    s3 = _s3()
    if s3 is None:
        mode = UploadMode.proxy
    elif data.size <= settings.multipart_threshold_bytes:
        mode = UploadMode.single
    else:
        mode = UploadMode.multipart
    upload = UploadSession(
        id=uuid.uuid4(),
        clip_id=clip.id,
        user_id=user.id,
        declared_size=data.size,
        content_type=content_type,
        file_name=data.file_name,
        checksum_sha256=data.checksum_sha256.lower() if data.checksum_sha256 else None,
        mode=mode,
        storage_key=clip.source_key,
        part_size=settings.multipart_part_size if mode is UploadMode.multipart else None,
        expires_at=utcnow() + timedelta(seconds=settings.upload_expiry_seconds),
        status=UploadStatus.pending,
    )
    parts: list[dict[str, Any]] = []
    if mode is UploadMode.multipart:
        assert s3 is not None and upload.part_size
        upload.multipart_upload_id = s3.create_multipart(upload.storage_key, content_type)
        count = math.ceil(data.size / upload.part_size)
        for number in range(1, count + 1):
            size = min(upload.part_size, data.size - (number - 1) * upload.part_size)
            url = s3.presign_part(
                upload.storage_key, upload.multipart_upload_id, number, settings.upload_expiry_seconds
            )
            parts.append({"part_number": number, "url": url, "size": size})
    session.add(upload)
    session.flush()
    return upload, parts


def upload_urls(upload: UploadSession) -> dict[str, Any]:
    """Where the client sends the bytes (S3 presigned URLs, or the API itself for the local backend)."""
    settings = get_settings()
    base = f"{settings.public_base_url}/v1/uploads/{upload.id}"
    urls: dict[str, Any] = {"content_url": f"{base}/content", "complete_url": f"{base}/complete"}
    s3 = _s3()
    if upload.mode is UploadMode.single and s3 is not None:
        url, headers = s3.presign_put(upload.storage_key, upload.content_type, settings.upload_expiry_seconds)
        urls.update(upload_url=url, upload_headers=headers)
    elif upload.mode is UploadMode.proxy:
        urls.update(upload_url=urls["content_url"], upload_headers={"Content-Type": upload.content_type})
    else:
        urls.update(upload_url=None, upload_headers={})
    return urls


def get_upload(session: Session, upload_id: uuid.UUID) -> UploadSession:
    upload = session.get(UploadSession, upload_id)
    if upload is None:
        raise UploadNotFound("No such upload.")
    return upload


def owned_pending_upload(session: Session, user: User, upload_id: uuid.UUID) -> UploadSession:
    upload = get_upload(session, upload_id)
    if upload.user_id != user.id:
        raise NotUploadOwner("This upload belongs to another account.")
    if upload.status is not UploadStatus.pending:
        raise UploadNotPending(f"The upload is {upload.status.value}.")
    if as_utc(upload.expires_at) < utcnow():
        raise UploadExpired("The upload has expired; start a new one.")
    return upload


def _sha256_of(key: str) -> str:
    digest = hashlib.sha256()
    with get_storage().open(key) as body:
        while chunk := body.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def release_multipart(upload: UploadSession) -> None:
    """Abort the presigned multipart upload opened at ``POST /v1/uploads`` when the file reached
    storage another way (streamed through ``PUT .../content``), so no parts are left open."""
    s3 = _s3()
    if s3 is not None and upload.multipart_upload_id:
        s3.abort_multipart(upload.storage_key, upload.multipart_upload_id)
        upload.multipart_upload_id = None


def complete_upload(
    session: Session, user: User, upload_id: uuid.UUID, parts: list[tuple[int, str]] | None = None
) -> Clip:
    """Check the uploaded object, then move the clip to `processing` and enqueue the transcode
    after the transaction commits."""
    from app.clips.tasks import transcode_clip

    upload = owned_pending_upload(session, user, upload_id)
    storage = get_storage()
    if (
        upload.mode is UploadMode.multipart
        and upload.multipart_upload_id
        and not storage.exists(upload.storage_key)
    ):
        s3 = _s3()
        assert s3 is not None
        received = s3.list_parts(upload.storage_key, upload.multipart_upload_id)
        if parts is not None:
            numbers = [n for n, _ in parts]
            if len(set(numbers)) != len(numbers):
                repeated = sorted({n for n in numbers if numbers.count(n) > 1})
                raise UploadPartsInvalid(
                    f"Parts {repeated} are listed more than once; list each part once.", parts=repeated
                )
            # S3 assembles parts in the order listed and refuses any other than ascending
            # (InvalidPartOrder): the file is the parts in part-number order, whatever the listing.
            parts = sorted(parts)
            by_number = {p.part_number: p for p in received}
            chosen = [by_number.get(n) for n, _ in parts]
            if any(
                p is None or p.etag.strip('"') != etag.strip('"')
                for p, (_, etag) in zip(chosen, parts, strict=True)
            ):
                raise UploadIncomplete("Some of the listed parts were not received by storage.")
            received = [p for p in chosen if p is not None]
        if sum(p.size for p in received) != upload.declared_size:
            raise UploadSizeMismatch(
                f"Storage received {sum(p.size for p in received)} bytes in {len(received)} parts; "
                f"{upload.declared_size} were declared.",
                received_bytes=sum(p.size for p in received),
                declared_bytes=upload.declared_size,
            )
        try:
            s3.complete_multipart(upload.storage_key, upload.multipart_upload_id, received)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "NoSuchUpload"):
                raise
            raise UploadPartsInvalid(f"Storage refused to assemble the parts ({code}).") from exc
    elif upload.mode is UploadMode.multipart and upload.multipart_upload_id:
        release_multipart(upload)  # the file came whole (streamed through the API)
    head = storage.head(upload.storage_key)
    if head is None:
        raise UploadIncomplete("No file has been uploaded yet.")
    if head.size != upload.declared_size:
        raise UploadSizeMismatch(
            f"The uploaded file is {head.size} bytes; {upload.declared_size} were declared.",
            received_bytes=head.size,
            declared_bytes=upload.declared_size,
        )
    if upload.checksum_sha256 and _sha256_of(upload.storage_key) != upload.checksum_sha256:
        raise UploadChecksumMismatch("The uploaded file does not match the declared SHA-256 checksum.")
    upload.status = UploadStatus.completed
    upload.completed_at = utcnow()
    clip = get_clip(session, upload.clip_id)
    clip.status = ClipStatus.processing
    clip.processing_progress = 0
    clip.processing_started_at = utcnow()
    session.flush()
    enqueue(session, transcode_clip, str(clip.id))
    return clip


def abort_upload(session: Session, user: User, upload_id: uuid.UUID) -> None:
    upload = owned_pending_upload(session, user, upload_id)
    upload.status = UploadStatus.aborted
    clip = get_clip(session, upload.clip_id, include_deleted=True)
    clip.status = ClipStatus.deleted
    clip.deleted_at = utcnow()
    session.flush()
    prefix = clip.storage_prefix
    on_commit(session, lambda: get_storage().delete_prefix(prefix))


def expire_abandoned_uploads(session: Session, now: datetime | None = None) -> int:
    """Pending uploads past their expiry: mark expired, drop their clip and every stored byte
    (including open multipart parts)."""
    now = now or utcnow()
    stale = list(
        session.scalars(
            select(UploadSession).where(
                UploadSession.status == UploadStatus.pending, UploadSession.expires_at < now
            )
        )
    )
    prefixes = []
    for upload in stale:
        upload.status = UploadStatus.expired
        clip = session.get(Clip, upload.clip_id)
        if clip is not None and clip.status is ClipStatus.uploading:
            clip.status = ClipStatus.deleted
            clip.deleted_at = now
            prefixes.append(clip.storage_prefix)
    session.flush()

    def purge() -> None:
        storage = get_storage()
        for prefix in prefixes:
            storage.delete_prefix(prefix)

    on_commit(session, purge)
    return len(stale)


def abort_orphan_multipart_uploads(session: Session, older_than: timedelta) -> int:
    """Multipart uploads S3 still holds under clips/ with no pending upload session (crashes,
    lost rows): abort them so their parts stop costing storage."""
    s3 = _s3()
    if s3 is None:
        return 0
    pending_ids = set(
        session.scalars(
            select(UploadSession.multipart_upload_id).where(
                UploadSession.status == UploadStatus.pending, UploadSession.multipart_upload_id.is_not(None)
            )
        )
    )
    cutoff = utcnow() - older_than
    aborted = 0
    for item in s3.list_multipart_uploads("clips/"):
        if item.upload_id not in pending_ids and as_utc(item.initiated) < cutoff:
            s3.abort_multipart(item.key, item.upload_id)
            aborted += 1
    return aborted


# --- clips --------------------------------------------------------------------------------------


def can_view(clip: Clip, user: User | None) -> bool:
    if user is not None and (user.id == clip.creator_id or user.role is Role.admin):
        return True
    return clip.status is ClipStatus.ready and clip.visibility is not Visibility.private


def owned_clip(session: Session, user: User, clip_id: uuid.UUID) -> Clip:
    clip = get_clip(session, clip_id)
    if clip.creator_id != user.id and user.role is not Role.admin:
        raise NotClipOwner("Only the clip's creator can change it.")
    return clip


def update_clip(session: Session, user: User, clip_id: uuid.UUID, data: ClipUpdate) -> Clip:
    clip = owned_clip(session, user, clip_id)
    if data.caption is not None:
        clip.caption = data.caption
    if data.visibility is not None:
        clip.visibility = data.visibility
    if data.interests is not None:
        interests = interests_service.resolve_slugs(session, data.interests)
        session.execute(delete(ClipInterest).where(ClipInterest.clip_id == clip.id))
        for interest in interests:
            session.add(ClipInterest(clip_id=clip.id, interest_id=interest.id))
    clip.updated_at = utcnow()
    session.flush()
    return clip


def delete_clip(session: Session, user: User, clip_id: uuid.UUID) -> None:
    """Soft-delete the row (other domains may reference it) and remove every stored object."""
    clip = owned_clip(session, user, clip_id)
    clip.status = ClipStatus.deleted
    clip.deleted_at = utcnow()
    for upload in session.scalars(
        select(UploadSession).where(
            UploadSession.clip_id == clip.id, UploadSession.status == UploadStatus.pending
        )
    ):
        upload.status = UploadStatus.aborted
    session.flush()
    prefix = clip.storage_prefix
    on_commit(session, lambda: get_storage().delete_prefix(prefix))


def list_creator_clips(
    session: Session, user: User, offset: int, limit: int
) -> tuple[list[Clip], int | None]:
    query = (
        select(Clip)
        .where(Clip.creator_id == user.id, Clip.status != ClipStatus.deleted)
        .order_by(Clip.created_at.desc(), Clip.id)
    )
    rows = list(session.scalars(query.offset(offset).limit(limit + 1)))
    next_offset = offset + limit if len(rows) > limit else None
    return rows[:limit], next_offset


def interest_slugs(session: Session, clip_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    result: dict[uuid.UUID, list[str]] = {clip_id: [] for clip_id in clip_ids}
    if not clip_ids:
        return result
    rows = session.execute(
        select(ClipInterest.clip_id, Interest.slug)
        .join(Interest, Interest.id == ClipInterest.interest_id)
        .where(ClipInterest.clip_id.in_(clip_ids))
        .order_by(Interest.slug)
    )
    for clip_id, slug in rows:
        result[clip_id].append(slug)
    return result


def clip_read(clip: Clip, interests: list[str]) -> ClipRead:
    return ClipRead(
        id=clip.id,
        creator_id=clip.creator_id,
        status=clip.status,
        caption=clip.caption,
        visibility=clip.visibility,
        interests=interests,
        processing_progress=clip.processing_progress,
        failure_code=clip.failure_code,
        failure_message=clip.failure_message,
        duration_ms=clip.duration_ms,
        width=clip.width,
        height=clip.height,
        aspect_ratio=clip.aspect_ratio,
        has_audio=clip.has_audio,
        renditions=[
            RenditionRead(**{k: r[k] for k in RenditionRead.model_fields}) for r in clip.renditions or []
        ],
        playback_complete=clip.playback_complete,
        playback=PlaybackRead(**playback(clip)),
        created_at=as_utc(clip.created_at),
        updated_at=as_utc(clip.updated_at),
        ready_at=as_utc(clip.ready_at) if clip.ready_at else None,
    )


def reprocess_clip(session: Session, clip_id: uuid.UUID) -> Clip:
    """Operator action: transcode again from the stored source (after a fix or a settings change).
    Output keys are deterministic, so the new run overwrites the old renditions in place."""
    from app.clips.tasks import transcode_clip

    clip = get_clip(session, clip_id)
    if clip.source_key is None or not get_storage().exists(clip.source_key):
        raise ClipNotEditable("The clip has no stored source to process.")
    if clip.status is ClipStatus.uploading:
        raise ClipNotEditable("The clip's upload has not been completed.")
    clip.status = ClipStatus.processing
    clip.processing_progress = 0
    clip.processing_attempts = 0
    clip.processing_started_at = utcnow()
    clip.failure_code = None
    clip.failure_message = None
    session.flush()
    enqueue(session, transcode_clip, str(clip.id))
    return clip


def public_clips_page(
    session: Session, creator_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Clip]:
    """A creator's ready public clips, newest first, keyset-paged after ``(created_at, id)``."""
    query = select(Clip).where(
        Clip.creator_id == creator_id,
        Clip.status == ClipStatus.ready,
        Clip.visibility == Visibility.public,
    )
    if after is not None:
        at, clip_id = after
        query = query.where((Clip.created_at < at) | ((Clip.created_at == at) & (Clip.id > clip_id)))
    return list(session.scalars(query.order_by(Clip.created_at.desc(), Clip.id).limit(limit)))


def public_clip_count(session: Session, creator_id: uuid.UUID) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count(Clip.id)).where(
                Clip.creator_id == creator_id,
                Clip.status == ClipStatus.ready,
                Clip.visibility == Visibility.public,
            )
        )
        or 0
    )


def public_clip_cards(session: Session, clip_ids: list[uuid.UUID]) -> dict[uuid.UUID, Clip]:
    """Ready public clips among ``clip_ids``."""
    if not clip_ids:
        return {}
    rows = session.scalars(
        select(Clip).where(
            Clip.id.in_(clip_ids), Clip.status == ClipStatus.ready, Clip.visibility == Visibility.public
        )
    )
    return {clip.id: clip for clip in rows}
