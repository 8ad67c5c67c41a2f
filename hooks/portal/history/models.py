"""The history's tables, as SQLAlchemy 2 typed models; migrations/ creates them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the history tables."""


class HistoryObject(Base):
    """One object of a served kind, kept after it is deleted from the cluster."""

    __tablename__ = "history_objects"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    plural: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    label_text: Mapped[str] = mapped_column(Text)
    """`,key=value,` for each label, sorted: a label selector becomes portable LIKE clauses."""
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    phase: Mapped[str | None] = mapped_column(String(63))
    ready: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    workers: Mapped[int | None] = mapped_column(Integer)
    gpu_hours: Mapped[float | None] = mapped_column(Float)
    resource_version: Mapped[str] = mapped_column(String(64))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_history_objects_page", "plural", "created", "uid"),
        Index("ix_history_objects_namespace", "plural", "namespace", "created", "uid"),
    )


class HistoryTransition(Base):
    """One change of phase or Ready of an object; (uid, key) is unique, so replays are no-ops."""

    __tablename__ = "history_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str | None] = mapped_column(String(63))
    ready: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ux_history_transitions_key", "uid", "key", unique=True),)


class Watermark(Base):
    """The last resourceVersion recorded per kind: where the watch resumes after a restart."""

    __tablename__ = "history_watermarks"

    plural: Mapped[str] = mapped_column(String(63), primary_key=True)
    resource_version: Mapped[str] = mapped_column(String(64))
