"""Why a media file was refused: a stable machine-readable code plus a plain sentence.

The sentence is shown to the creator (`failure_message`); `detail` is for the logs only and may
hold tool output or paths, which never reach a client."""

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


PLAIN_MESSAGES: dict[RejectCode, str] = {
    RejectCode.NOT_A_VIDEO: "This file is not a video we can read. Upload an MP4, MOV, WebM, MKV or TS video.",
    RejectCode.NO_VIDEO_STREAM: "This file has sound but no picture. Upload a file with a video track.",
    RejectCode.UNSUPPORTED_CODEC: "This video is compressed in a format we cannot play. Export it as H.264 or HEVC and upload it again.",
    RejectCode.TOO_LONG: "This video is too long.",
    RejectCode.TOO_SHORT: "This video is too short.",
    RejectCode.TOO_LARGE: "This video is too large.",
    RejectCode.CORRUPT: "This video file is damaged and cannot be played. Export it again and upload the new file.",
    RejectCode.TRANSCODE_FAILED: "We could not prepare this video for playback. Try uploading it again; if it fails again, export it in another format.",
}


class MediaRejected(Exception):
    """The file cannot become a playable clip; `code` is shown to clients as `failure_code` and
    `message` (a plain sentence, never tool output) as `failure_message`."""

    def __init__(self, code: RejectCode | str, message: str | None = None, *, detail: str | None = None) -> None:
        self.code = RejectCode(code)
        self.message = message or PLAIN_MESSAGES[self.code]
        self.detail = detail
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"MediaRejected({self.code.value!r}, {self.message!r}, detail={self.detail!r})"
