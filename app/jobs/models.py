"""The job table: the transactional outbox and the lease of every durable job.

A row is written in the same transaction as the state change it belongs to (clip -> processing,
import created ...), so a job exists exactly when its state change was committed. Its life:

``pending`` (committed, not handed to the broker yet, or waiting for a retry) -> ``sent`` (the
broker accepted the message) -> ``running`` (a worker holds the lease, renewed by its heartbeat)
-> ``done``, or back to ``pending`` (the job raised, or its worker died and the lease expired),
or ``failed`` once ``max_attempts`` runs have not succeeded.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UUIDPrimaryKey, utcnow


class JobStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    running = "running"
    done = "done"
    failed = "failed"


class Job(UUIDPrimaryKey, Base):
    __tablename__ = "job"
    __table_args__ = (
        # the relay's and the reaper's scans: pending rows due, running rows whose lease expired
        Index("ix_job_status_available_at", "status", "available_at"),
        Index("ix_job_lease_owner", "lease_owner"),
        Index("ix_job_run_key_status", "run_key", "status"),
    )

    actor_name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str] = mapped_column(String(64))
    args: Mapped[list[Any]] = mapped_column(JSON)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    # actor + arguments: two jobs with the same key never run at the same time
    run_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16), default=JobStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # not sent (or retried) before this time
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # the broker's id of the last message sent (to tell whether the broker still holds it)
    broker_message_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # "<host>:<pid>:<random>" of the worker process holding the lease
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
