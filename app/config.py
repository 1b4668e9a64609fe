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

    @field_validator("product_image_widths", mode="before")
    @classmethod
    def _split_ints(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(item) for item in value.split(",") if item.strip()]
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
    def should_auto_migrate(self) -> bool:
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.environment is not Environment.production and self.is_sqlite

    # --- web client (issue 16) ----------------------------------------------------------------
    # Where the built client is (``web/`` built by scripts/bootstrap.sh); missing = a 503 page.
    web_dist_dir: Path = PROJECT_ROOT / "app" / "web" / "dist"
    # ``POST /v1/demo/orders/{id}/pay`` signs and applies a payment webhook for the buyer's order.
    # Unset: on in the development environment only, never in production.
    web_demo_payments: bool | None = None

    @property
    def web_demo_payments_enabled(self) -> bool:
        if self.environment is Environment.production:
            return False
        if self.web_demo_payments is not None:
            return self.web_demo_payments
        return self.environment is Environment.development


@lru_cache
def get_settings() -> Settings:
    return Settings()
