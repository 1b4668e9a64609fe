"""Operator commands: ``python -m app <command>`` (also installed as ``clipshop``)."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from app.config import PROJECT_ROOT, get_settings

logger = logging.getLogger("clipshop.cli")


def alembic_config(url: str | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return config


def run_migrations(revision: str = "head", url: str | None = None) -> None:
    from alembic import command

    settings = get_settings()
    if settings.is_sqlite and url is None:
        db_path = settings.database_url.removeprefix("sqlite:///")
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    from alembic import command

    if args.downgrade:
        command.downgrade(alembic_config(), args.downgrade)
    else:
        run_migrations(args.revision)
    print(f"database at {args.revision if not args.downgrade else args.downgrade}")
    if args.downgrade or args.skip_storage:
        return 0
    from app.storage.s3 import StorageSetupError

    try:  # the bucket must exist before anything is uploaded: checked (created when configured)
        print(init_storage(create=get_settings().s3_create_bucket))
    except StorageSetupError as exc:
        print(f"storage check failed: {exc} (create it with `clipshop storage init`)", file=sys.stderr)
        return 2
    return 0


def init_storage(create: bool) -> str:
    """Create (``create``) or check the storage backend; raises StorageSetupError with a sentence
    an operator can act on (wrong endpoint, credentials, missing bucket)."""
    from dataclasses import replace

    from app.storage import LocalStorage, build_storage, s3_settings
    from app.storage.s3 import S3Storage, StorageSetupError

    settings = get_settings()
    if settings.storage_backend == "s3":
        # No retries here: a wrong endpoint must fail in seconds, not after minutes of back-off.
        config = replace(s3_settings(), max_attempts=1, connect_timeout=3.0, read_timeout=10.0)
        storage = S3Storage(config)
        done = storage.init_bucket(create=create)
        return f"s3 bucket {storage.bucket!r} {done} and writable"
    local = build_storage()
    assert isinstance(local, LocalStorage)
    try:
        local.check()
    except OSError as exc:
        raise StorageSetupError(f"The media folder cannot be used: {exc}") from exc
    return f"media folder {local.root} ready"


def cmd_storage(args: argparse.Namespace) -> int:
    from app.storage.s3 import StorageSetupError

    create = args.action == "init"
    try:
        print(init_storage(create=create))
    except StorageSetupError as exc:
        print(f"storage {args.action} failed: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        access_log=False,
        log_config=None,
    )
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.accounts import service
    from app.db import session_scope

    password = args.password or os.environ.get("CLIPSHOP_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print(
                "create-admin: no terminal to ask for the password; pass --password PASSWORD "
                "or set CLIPSHOP_ADMIN_PASSWORD",
                file=sys.stderr,
            )
            return 2
        try:
            password = getpass.getpass("Password: ")
        except (EOFError, KeyboardInterrupt):
            print("\ncreate-admin: no password given; pass --password PASSWORD", file=sys.stderr)
            return 2
    if len(password) < 8:
        print("password must have at least 8 characters", file=sys.stderr)
        return 2
    with session_scope() as session:
        user = service.create_admin(session, args.email, password)
        print(f"admin {user.email} ({user.id})")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from app.seed import seed_demo

    summary = seed_demo()
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from app.jobs.worker import run_worker

    return run_worker(args)


def cmd_reprocess_clip(args: argparse.Namespace) -> int:
    import uuid

    from app.clips.service import reprocess_clip
    from app.db import session_scope

    with session_scope() as session:
        clip = reprocess_clip(session, uuid.UUID(args.clip_id))
        print(f"clip {clip.id} queued for processing")
    if args.wait:
        from app import jobs

        if jobs.is_inprocess():
            jobs.drain()
            with session_scope() as session:
                from app.clips.service import get_clip

                done = get_clip(session, uuid.UUID(args.clip_id))
                print(f"clip {done.id}: {done.status.value} {done.failure_code or ''}".rstrip())
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    import json
    import uuid

    from app.jobs import outbox

    if args.retry:
        if not outbox.retry(uuid.UUID(args.retry)):
            print(f"job {args.retry} is not a failed job", file=sys.stderr)
            return 1
        print(f"job {args.retry} queued again")
        return 0
    print(json.dumps(outbox.summary(), indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipshop", description="ClipShop operator commands")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade)")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", metavar="REVISION", help="downgrade to REVISION instead")
    migrate.add_argument("--skip-storage", action="store_true", help="do not check the storage backend")
    migrate.set_defaults(func=cmd_migrate)

    storage = sub.add_parser(
        "storage", help="create (init) or check the storage backend: the S3 bucket or the media folder"
    )
    storage.add_argument("action", choices=["init", "check"])
    storage.set_defaults(func=cmd_storage)

    admin = sub.add_parser("create-admin", help="create or reset an admin account")
    admin.add_argument("email")
    admin.add_argument("--password", help="defaults to $CLIPSHOP_ADMIN_PASSWORD or a prompt")
    admin.set_defaults(func=cmd_create_admin)

    seed = sub.add_parser("seed-demo", help="create demo accounts, interests and content")
    seed.set_defaults(func=cmd_seed_demo)

    worker = sub.add_parser(
        "worker",
        help="run a job worker process (needs CLIPSHOP_REDIS_URL; the embedded mode runs jobs in-process)",
    )
    worker.add_argument("--queues", nargs="*", default=None, help="queues to consume (default: all)")
    worker.add_argument("--threads", type=int, default=2)
    worker.add_argument("--processes", type=int, default=1)
    worker.set_defaults(func=cmd_worker)

    jobs_cmd = sub.add_parser(
        "jobs", help="background jobs: counts per status, running leases, failed jobs (--retry ID)"
    )
    jobs_cmd.add_argument("--retry", metavar="JOB_ID", help="run a failed job again")
    jobs_cmd.set_defaults(func=cmd_jobs)

    reprocess = sub.add_parser(
        "reprocess-clip", help="transcode a clip again from its stored source (failed or ready clips)"
    )
    reprocess.add_argument("clip_id")
    reprocess.add_argument("--wait", action="store_true", help="embedded mode: run the job now and report")
    reprocess.set_defaults(func=cmd_reprocess_clip)
    return parser


def main(argv: list[str] | None = None) -> int:
    from app.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
