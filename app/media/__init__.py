"""Media pipeline (no routes): ffprobe inspection, validation, one-run transcoding, posters."""

from app.media.exceptions import MediaRejected, RejectCode
from app.media.pipeline import MediaOutputs, process_video
from app.media.probe import Orientation, ProbeResult, probe
from app.media.transcode import Rendition, TranscodeResult, plan_ladder, transcode
from app.media.validate import MediaLimits, validate

__all__ = [
    "MediaLimits", "MediaOutputs", "MediaRejected", "Orientation", "ProbeResult", "RejectCode",
    "Rendition", "TranscodeResult", "plan_ladder", "probe", "process_video", "transcode", "validate",
]  # fmt: skip
