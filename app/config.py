"""Settings: the only place that reads the environment.

Every variable is prefixed ``CLIPSHOP_`` and may also come from a ``.env`` file. With nothing set,
ClipShop runs embedded: a SQLite file, the local ``media/`` folder and an in-process job worker.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"
DEV_WEBHOOK_SECRET = "dev-payment-webhook-secret"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


# "<count>/<seconds>" per action and scope (see Settings.rate_limits).
DEFAULT_RATE_LIMITS = {
    "comment:account": "30/60",
    "comment:ip": "120/60",
    "like:account": "300/60",
    "like:ip": "1200/60",
    "follow:account": "60/60",
    "follow:ip": "240/60",
    "report:account": "20/3600",
    "report:ip": "60/3600",
    "signup:ip": "20/3600",
    "search:account": "120/60",
    "search:ip": "600/60",
    "share:account": "60/60",
    "vote:account": "120/60",
}


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLIPSHOP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- core -------------------------------------------------------------------------------
    environment: Environment = Environment.development
    secret_key: str = PLACEHOLDER_SECRET
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'clipshop.db'}"
    # Apply migrations when the app starts; on by default only in the embedded (SQLite) mode.
    auto_migrate: bool | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_json: bool = True
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Largest request body accepted by ordinary routes; streaming upload routes are exempt and
    # enforce their own declared-size limits.
    max_body_bytes: int = 1_048_576
    body_limit_exempt_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["/v1/uploads/", "/v1/media/", "/v1/merchant/catalog/"]
    )

    # --- accounts ---------------------------------------------------------------------------
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    guest_refresh_token_ttl_seconds: int = 90 * 24 * 3600
    invitation_ttl_seconds: int = 7 * 24 * 3600
    avatar_max_bytes: int = 8 * 1024 * 1024
    image_max_pixels: int = 40_000_000

    # --- storage ----------------------------------------------------------------------------
    media_root: Path = PROJECT_ROOT / "media"

    # --- jobs -------------------------------------------------------------------------------
    redis_url: str | None = None
    # Prefix of the queue keys in Redis (several deployments or test runs can share one server).
    redis_namespace: str = "clipshop"

    # --- feed -------------------------------------------------------------------------------
    # Clips ranked up front for a new feed session (extended on demand, never reordered).
    feed_session_length: int = 100
    feed_session_ttl_seconds: int = 6 * 3600
    # Background catch-up of each process's in-memory engine (new events, clips, stock).
    feed_refresh_seconds: float = 1.0
    feed_background_refresh: bool = True
    # Events replayed into the engine when a process (re)builds it from the database.
    feed_rebuild_events: int = 2_000_000
    # Accepted client timestamps: not further in the future / past than this.
    feed_event_max_skew_seconds: int = 7 * 24 * 3600

    # --- ingest: uploads, storage backends, media limits, transcoding (issue 3) -----------------
    # Upload limits: declared sizes above max_upload_bytes are refused before any URL is issued.
    max_upload_bytes: int = 1024**3
    upload_content_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/mp2t",
            "video/3gpp", "video/x-msvideo", "video/mpeg", "application/octet-stream",
        ]
    )  # fmt: skip
    upload_expiry_seconds: int = 3600
    # Files up to this size get one presigned PUT; larger ones a presigned multipart upload.
    multipart_threshold_bytes: int = 16 * 1024 * 1024
    multipart_part_size: int = 8 * 1024 * 1024  # also the chunk buffered by PUT .../content
    # Media limits checked by ffprobe before transcoding.
    min_duration_seconds: float = 0.5
    max_duration_seconds: float = 180.0
    max_dimension: int = 4096
    transcode_time_limit_seconds: int = 1800
    # Clips stuck in `processing` longer than this are re-enqueued by the recovery sweep.
    stuck_processing_seconds: int = 3600
    sweep_interval_seconds: int = 300
    # Storage backend: `local` (the media/ folder served by the API) or `s3` (AWS, MinIO, R2...).
    storage_backend: str = "local"
    # Public base for media URLs (a CDN in front of the bucket). Unset: presigned GETs on S3,
    # the API's /v1/media route on the local backend.
    media_base_url: str | None = None
    presign_expiry_seconds: int = 3600
    s3_bucket: str = "clipshop"
    s3_endpoint_url: str | None = None
    # Endpoint put into presigned URLs when clients reach S3 elsewhere than the API does.
    s3_public_endpoint_url: str | None = None
    s3_create_bucket: bool = False  # create the bucket on first use (MinIO/dev stacks)
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_addressing_style: str = "auto"  # path | virtual | auto
    s3_connect_timeout_seconds: float = 5.0
    s3_read_timeout_seconds: float = 60.0
    s3_max_attempts: int = 5

    # --- catalog, stock and checkout ---------------------------------------------------------
    # A SKU with this many units or fewer available to sell reads as ``low_stock``.
    low_stock_threshold: int = 5
    # How long an unpaid order holds its stock.
    reservation_ttl_seconds: int = 900
    # Payment provider webhooks: HMAC-SHA256 secret and accepted clock skew of the signature.
    # In production, webhooks are refused (503) until a real secret is set.
    payment_webhook_secret: str = DEV_WEBHOOK_SECRET
    payment_webhook_tolerance_seconds: int = 300
    product_image_max_bytes: int = 15 * 1024 * 1024
    product_image_widths: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [320, 640, 1080])
    catalog_import_max_bytes: int = 20 * 1024 * 1024
    max_checkout_lines: int = 50
    # --- product tags on clips ----------------------------------------------------------------
    max_tags_per_clip: int = 20

    # --- social, moderation, notifications, webhooks and rate limits (issue 15) ------------------
    # Comments: longest body; top-level comments pinned per clip at most.
    comment_max_length: int = 2000
    # Blocked words (comma-separated, case-insensitive, whole words) refused in comments and polls,
    # on top of the ones operators add through /v1/admin/moderation/blocked-words.
    blocked_words: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Upheld moderation decisions against one user's content after which reports about that user
    # are escalated (flagged and listed first in the admin queue).
    moderation_escalation_strikes: int = 3
    # Rate limits per action and scope: "<count>/<seconds>" (e.g. "30/60" = 30 a minute). Keys are
    # "<action>:account" and "<action>:ip"; CLIPSHOP_RATE_LIMITS='{"comment:account": "5/60"}'
    # overrides single entries. Counted in Redis when CLIPSHOP_REDIS_URL is set, in the process
    # otherwise. Off in the test environment unless set to true.
    rate_limits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    rate_limits_enabled: bool | None = None
    # Outbound webhooks: seconds before each retry of a failed delivery (the attempt count is this
    # list's length + 1), the request timeout, and the largest response body kept in the log.
    webhook_retry_schedule_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_timeout_seconds: float = 10.0
    webhook_log_body_bytes: int = 1024
    # Refuse endpoints on private, loopback and link-local addresses (on in production).
    webhook_allow_private_urls: bool | None = None

    @field_validator("product_image_widths", mode="before")
    @classmethod
    def _split_ints(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(item) for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_retry_schedule_seconds", mode="before")
    @classmethod
    def _split_floats(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [float(item) for item in value.split(",") if item.strip()]
        return value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _merge_rate_limits(cls, value: Any) -> Any:
        if isinstance(value, str):
            import json

            value = json.loads(value)
        if isinstance(value, dict):
            return {**DEFAULT_RATE_LIMITS, **value}
        return value

    @field_validator("blocked_words", mode="before")
    @classmethod
    def _split_words(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins", "body_limit_exempt_prefixes", "upload_content_types", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        weak = self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32
        if self.environment is Environment.production and weak:
            raise ValueError(
                "CLIPSHOP_SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def rate_limiting(self) -> bool:
        if self.rate_limits_enabled is not None:
            return self.rate_limits_enabled
        return self.environment is not Environment.test

    @property
    def webhook_private_urls_allowed(self) -> bool:
        if self.webhook_allow_private_urls is not None:
            return self.webhook_allow_private_urls
        return self.environment is not Environment.production

    @property
    def should_auto_migrate(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.environment is not Environment.production and self.is_sqlite


@lru_cache
def get_settings() -> Settings:
    return Settings()
