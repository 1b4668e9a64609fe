"""Media pipeline (no routes): safe ffprobe inspection, validation, two-pass transcoding, stills."""

from app.media.exceptions import MediaRejected, RejectCode
from app.media.pipeline import FirstPlayable, MediaJob, MediaOutputs, Remainder, process_video
from app.media.probe import Orientation, ProbeResult, probe
from app.media.transcode import Rendition, master_playlist, plan_ladder
from app.media.validate import MediaLimits, validate

__all__ = [
    "FirstPlayable", "MediaJob", "MediaLimits", "MediaOutputs", "MediaRejected", "Orientation",
    "ProbeResult", "RejectCode", "Remainder", "Rendition", "master_playlist", "plan_ladder", "probe",
    "process_video", "validate",
]  # fmt: skip
