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
    # Largest request body accepted by ordinary routes; upload, image and import routes have their
    # own limits (app/main.py, BODY_RULES), checked with authentication before the body is read.
    max_body_bytes: int = 1_048_576
    body_limit_exempt_prefixes: Annotated[list[str], NoDecode] = Field(
        default_factory=list
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
    # --- creator programme (app/creators) ------------------------------------------------------
    # Last-touch attribution: a product tap, or a view watched past the fraction below, of a clip
    # tagged with the product counts for this long before the checkout.
    creator_attribution_window_seconds: int = 24 * 3600
    creator_attribution_view_fraction: float = 0.5
    # Rate when the merchant has set none (basis points: 500 = 5 %).
    creator_default_rate_bps: int = 500
    # Commissions stay pending this long after payment unless the merchant sets its own window.
    creator_return_window_days: int = 30
    # Payout runs pay a creator whose payable balance in a currency reaches this.
    creator_payout_threshold_minor: int = 5000
    # The periodic job runs one payout run per UTC day (off: payouts only by an operator).
    creator_auto_payouts: bool = True
    # Admission is re-evaluated this often (admitted, waitlisted and rejected creators alike).
    creator_reevaluation_days: int = 7
    # Payout provider callbacks (``POST /v1/payouts/webhook``): HMAC-SHA256 secret.
    creator_payout_webhook_secret: str = DEV_WEBHOOK_SECRET

    # --- hardening: connection pools, outage timeouts, per-route body limits ----------------------
    # Connections per API process (PostgreSQL): enough for the request threadpool (40) so a burst
    # queues briefly on the pool rather than on the server; a request that still cannot get one
    # within db_pool_timeout_seconds answers 503 with Retry-After (never a 30 s hang, never 500).
    db_pool_size: int = 10
    db_max_overflow: int = 30
    db_pool_timeout_seconds: float = 3.0
    # TCP connect timeout to the database (libpq rounds values under 2 up to 2).
    db_connect_timeout_seconds: int = 2
    # Redis (feed sessions, readiness): connect/read timeouts, so an outage answers 503 at once.
    redis_socket_timeout_seconds: float = 1.0
    # Body of POST /v1/uploads/{id}/complete (the part list of a multipart upload).
    upload_complete_max_bytes: int = 2 * 1024 * 1024
    # Room for the multipart envelope (boundaries, headers, small form fields) above a file limit.
    multipart_overhead_bytes: int = 64 * 1024

    # --- jobs: durable hand-off (outbox), leases, scratch folders ---------------------------------
    # A running job holds a lease renewed every job_heartbeat_seconds; a job whose lease is
    # job_lease_seconds old (its worker died) is retried by the next reaper round.
    job_lease_seconds: float = 30.0
    job_heartbeat_seconds: float = 10.0
    job_reap_interval_seconds: float = 10.0
    # The relay sends committed outbox rows to the broker as soon as they commit and polls every
    # job_relay_interval_seconds for rows it could not send (broker down, process restarted).
    job_relay_interval_seconds: float = 2.0
    # A job handed to the broker that no worker has started after this long is sent again
    # (a message lost with a broker that restarted without persistence, or a dead worker's
    # prefetched messages); duplicates are harmless: only one lease holder runs a job.
    job_redeliver_seconds: float = 300.0
    # Finished jobs are kept this long for operators, then deleted by the reaper.
    job_retention_seconds: int = 7 * 24 * 3600
    # Root of the per-process scratch folders of jobs (default: <system temp>/clipshop-scratch).
    job_scratch_dir: Path | None = None

    # --- media serving: playback URLs, signed tokens, caching, production start-up -------------
    # Signed playback URLs (private, unlisted clips; issued only to whoever may see the clip)
    # stay valid this long after the response that carried them.
    playback_token_ttl_seconds: int = 3600
    # Cache-Control max-age of a public ready clip's renditions (segments, MP4, images) and of
    # avatars and product images; playlists, which grow while a clip is finishing, get a short one.
    media_cache_max_age_seconds: int = 86400
    media_playlist_max_age_seconds: int = 5
    # Import source files are deleted when their import finishes, or after this long at most.
    import_file_retention_seconds: int = 24 * 3600
    # Build the feed engine while a process starts, before it accepts connections (``/readyz``
    # answers 503 ``feed: warming`` while it is not built; a feed request waits for it).
    # Unset: on, except in tests.
    feed_warm_at_startup: bool | None = None

    # --- analytics and engagement authenticity ------------------------------------------------
    # proxies whose X-Forwarded-For is believed (addresses or CIDR networks, comma-separated)
    analytics_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # an account younger than this is "fresh"; one silent for longer than this is "dormant"
    analytics_fresh_account_seconds: int = 24 * 3600
    analytics_dormant_seconds: int = 30 * 86400
    # burst: at least this many fresh/dormant accounts engaging one clip or creator in one window
    analytics_burst_min_accounts: int = 8
    analytics_burst_window_seconds: int = 3600
    # many accounts behind one device / fresh accounts behind one address
    analytics_device_max_accounts: int = 3
    analytics_ip_max_fresh_accounts: int = 12
    # engagement without watching: at least this many such events, and at least half of an account's
    analytics_no_watch_min_events: int = 5
    # concentration: a fresh account with this many engagements, nearly all on one creator
    analytics_concentration_min_events: int = 6
    # a newly flagged account's engagement of the last days is discounted too
    analytics_flag_lookback_days: int = 7
    # accounts flagged at least this many times are listed for review
    analytics_review_min_flags: int = 2

    @field_validator("analytics_trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

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

    # --- search -------------------------------------------------------------------------------
    # Each process's catch-up of its vector and completion indexes (and, when indexing in the
    # process, of the search documents and their embeddings) runs this often.
    search_refresh_seconds: float = 2.0
    search_background_refresh: bool = True
    # Index documents and compute embeddings in the API processes too (the embedded default);
    # off: only the workers' `search_maintenance` job does (production with workers).
    search_index_in_process: bool = True
    # Documents embedded per round of the embedding job (batches of 32).
    search_embed_batch: int = 256
    # Semantic matches below this cosine similarity are not shown.
    search_semantic_min_similarity: float = 0.3
    # Weights of the hybrid score: text relevance, semantic similarity, trigram (typo) similarity,
    # and how much the social signals lift a match (score x (1 + weight x popularity)).
    search_weight_text: float = 1.0
    search_weight_semantic: float = 0.8
    search_weight_trigram: float = 0.6
    search_weight_social: float = 0.5
    # Candidates gathered from each matcher before the ranking.
    search_candidates: int = 200

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
