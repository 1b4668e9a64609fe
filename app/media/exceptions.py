"""Why a media file was refused: a stable machine-readable code plus a human message."""

from __future__ import annotations

from enum import StrEnum


class RejectCode(StrEnum):
    NOT_A_VIDEO = "not_a_video"
    NO_VIDEO_STREAM = "no_video_stream"
    UNSUPPORTED_CODEC = "unsupported_codec"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    TOO_LARGE = "too_large"
    CORRUPT = "corrupt"
    TRANSCODE_FAILED = "transcode_failed"


class MediaRejected(Exception):
    """The file cannot become a playable clip; `code` is shown to clients as `failure_code`."""

    def __init__(self, code: RejectCode | str, message: str) -> None:
        super().__init__(message)
        self.code = RejectCode(code)
        self.message = message

    def __repr__(self) -> str:
        return f"MediaRejected({self.code.value!r}, {self.message!r})"
