from __future__ import annotations

from app.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType


class ClipNotFound(NotFound):
    code = "clip_not_found"


class NotClipOwner(Forbidden):
    code = "not_clip_owner"


class UploadNotFound(NotFound):
    code = "upload_not_found"


class NotUploadOwner(Forbidden):
    code = "not_upload_owner"


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"


class UnsupportedUploadType(UnsupportedMediaType):
    code = "unsupported_content_type"


class UploadNotPending(Conflict):
    code = "upload_not_pending"


class UploadExpired(Conflict):
    code = "upload_expired"


class UploadIncomplete(Unprocessable):
    code = "upload_incomplete"


class UploadPartsInvalid(Unprocessable):
    code = "upload_parts_invalid"


class UploadSizeMismatch(Unprocessable):
    code = "upload_size_mismatch"


class UploadChecksumMismatch(Unprocessable):
    code = "upload_checksum_mismatch"


class UploadModeMismatch(Conflict):
    code = "upload_mode_mismatch"


class ClipNotEditable(Conflict):
    code = "clip_not_editable"
