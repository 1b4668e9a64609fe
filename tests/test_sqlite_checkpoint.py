"""The SQLite WAL is checkpointed in the background, so no writer pays for it inside its commit."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text


def _rows_in_database_file(path: Path) -> int:
    """Rows of ``t`` as the database file itself holds them (``immutable``: the WAL is not read)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    except sqlite3.OperationalError:  # the table itself is not in the file yet
        return 0
    except sqlite3.DatabaseError:  # read while the checkpoint writes the file ("malformed"): not yet
        return -1
    finally:
        conn.close()


def _wait_for(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_writes_reach_the_database_file_without_a_checkpoint_in_any_commit(tmp_path: Path) -> None:
    from app.db import _SQLiteCheckpointer, make_engine

    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(
            text("INSERT INTO t (v) SELECT hex(randomblob(100)) FROM json_each(:a)"),
            {"a": "[" + ",".join(["0"] * 2000) + "]"},
        )
    assert _rows_in_database_file(path) == 0  # far below the automatic threshold: all in the WAL
    checkpointer = _SQLiteCheckpointer(engine, interval=0.1)
    try:
        assert _wait_for(lambda: _rows_in_database_file(path) == 2000)
    finally:
        checkpointer.stop()
        engine.dispose()


def test_a_grown_wal_is_cut_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import db

    monkeypatch.setattr(db, "SQLITE_WAL_RESTART_BYTES", 256 << 10)
    monkeypatch.setattr(db, "SQLITE_WAL_KEEP_BYTES", 64 << 10)
    path = tmp_path / "w.db"
    engine = db.make_engine(f"sqlite:///{path}")
    wal = Path(f"{path}-wal")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    checkpointer = db._SQLiteCheckpointer(engine, interval=0.1)
    try:
        for _ in range(20):
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO t (v) SELECT hex(randomblob(500)) FROM json_each(:a)"),
                    {"a": "[" + ",".join(["0"] * 200) + "]"},
                )
        grown = os.path.getsize(wal)
        assert grown > 256 << 10

        # after a restart, the next write starts the WAL over and cuts the file to the keep size
        def cut() -> bool:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
            return os.path.getsize(wal) <= 64 << 10

        assert _wait_for(cut)
    finally:
        checkpointer.stop()
        engine.dispose()
