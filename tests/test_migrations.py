"""Migrations run both ways on the configured database and agree with the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.cli import alembic_config
from app.db import Base, make_engine
from app.registry import import_all_models


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, so going down to ``base`` does not disturb the other tests."""
    admin_url = os.environ.get("CLIPSHOP_TEST_DATABASE_URL")
    if not admin_url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"clipshop_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _database_managed(name: str | None, type_: str, parent_names: dict) -> bool:
    """False for objects a migration creates outside the models (FTS tables, generated columns,
    special indexes), which domains list in ``Base.metadata.info["database_managed"]``."""
    for prefixes, columns, indexes in Base.metadata.info.get("database_managed", []):
        if type_ == "table" and name and name.startswith(prefixes):
            return False
        if type_ == "column" and (parent_names.get("table_name"), name) in columns:
            return False
        if type_ == "index" and name in indexes:
            return False
    return True


def _diff(url: str) -> list:
    import_all_models()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": _database_managed,
                },
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_single_linear_history():
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1, script.get_heads()


def test_upgrade_downgrade_round_trip_and_models_agree(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    assert _diff(scratch_url) == [], "models and migrations disagree: write a migration"
    import_all_models()
    assert {t.name for t in Base.metadata.sorted_tables} <= _tables(scratch_url)

    command.downgrade(config, "base")
    assert _tables(scratch_url) - {"alembic_version"} == set()

    command.upgrade(config, "head")
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as conn:
            interests = conn.execute(text("SELECT count(*) FROM interest")).scalar()
    finally:
        engine.dispose()
    assert interests and interests > 40  # the seeded taxonomy is back


def test_the_week_grain_is_summed_from_the_day_rows(scratch_url):
    """0016: engagement week rows are the sums of the day rows of their week (Monday to Sunday, UTC),
    and the sales rollups are emptied for the next sync to count again (with commission)."""
    from datetime import UTC, datetime

    from sqlalchemy import Uuid, bindparam

    from app.db import UTCDateTime

    typed = [bindparam("e", type_=Uuid()), bindparam("b", type_=UTCDateTime())]
    config = alembic_config(scratch_url)
    command.upgrade(config, "0015_refunds")
    entity = uuid.uuid4()
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            # Sunday 2026-11-22, Monday 2026-11-23 and Sunday 2026-11-29: two weeks
            for day, impressions, likes in ((22, 5, 1), (23, 7, 2), (29, 11, 3)):
                conn.execute(
                    text(
                        "INSERT INTO analytics_engagement (entity_kind, entity_id, grain, bucket, filtered, "
                        "impressions, likes) VALUES ('clip', :e, 1, :b, false, :i, :l)"
                    ).bindparams(*typed),
                    {"e": entity, "b": datetime(2026, 11, day, tzinfo=UTC), "i": impressions, "l": likes},
                )
            conn.execute(
                text(
                    "INSERT INTO analytics_sales (entity_kind, entity_id, grain, bucket, currency, orders) "
                    "VALUES ('clip', :e, 1, :b, 'EUR', 1)"
                ).bindparams(*typed),
                {"e": entity, "b": datetime(2026, 11, 22, tzinfo=UTC)},
            )
        command.upgrade(config, "0016_analytics_grains")
        with engine.connect() as conn:
            weeks = conn.execute(
                text(
                    "SELECT bucket, impressions, likes FROM analytics_engagement WHERE grain = 2 "
                    "ORDER BY bucket"
                )
            ).all()
            sales = conn.execute(text("SELECT count(*) FROM analytics_sales")).scalar()
    finally:
        engine.dispose()
    assert [(str(b)[:10], i, lk) for b, i, lk in weeks] == [("2026-11-16", 5, 1), ("2026-11-23", 18, 5)]
    assert sales == 0
