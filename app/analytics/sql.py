"""SQL fragments that differ between PostgreSQL and SQLite (buckets, least/greatest, id lists)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.db import is_postgres

_PG_ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"


def quarter(session: Session, column: str) -> str:
    """The UTC quarter hour of a timestamp column (as the column's own type)."""
    if is_postgres(session):
        return f"date_bin('15 minutes', {column}, {_PG_ORIGIN})"
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC)
    return (
        f"(substr({column}, 1, 14) || CASE CAST(substr({column}, 15, 2) AS INTEGER) / 15 "
        "WHEN 0 THEN '00' WHEN 1 THEN '15' WHEN 2 THEN '30' ELSE '45' END || '\\:00.000000')"
    )


def day(session: Session, column: str) -> str:
    """The UTC day of a timestamp column (its midnight, as the column's own type)."""
    if is_postgres(session):
        return f"date_bin('1 day', {column}, {_PG_ORIGIN})"
    return f"(substr({column}, 1, 10) || ' 00:00:00.000000')"


def week(session: Session, column: str) -> str:
    """The UTC week (from Monday midnight) of a timestamp column, as the column's own type."""
    if is_postgres(session):
        return f"date_bin('7 days', {column}, {_PG_ORIGIN})"  # (the origin is a Monday)
    return f"(date(substr({column}, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00.000000')"


def least(session: Session, a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if is_postgres(session) else f"min({a}, {b})"


def greatest(session: Session, a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if is_postgres(session) else f"max({a}, {b})"


def id_list(ids: Iterable[int]) -> str:
    """Integer ids as a literal list for ``IN (...)`` (integers only: nothing to escape)."""
    return ",".join(str(int(i)) for i in ids) or "NULL"
