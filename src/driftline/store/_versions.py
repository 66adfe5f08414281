"""What window profiles of a model version are profiled against: schema and reference.

A version's reference is the profile uploaded with a :class:`ReferencePayload`
(``source='user'``) or, until one is uploaded, the profile of the first
predictions batch of the version (``source='first_batch'``), so that the
histograms of every window align and window profiles merge. Loaded references
are cached per service and reloaded when their revision changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.errors import InputError, StoreError
from driftline.schema import Schema
from driftline.store import tables as t
from driftline.store._sql import insert_ignore
from driftline.store.windows import frame_for, infer_schema
from driftline.wire import PredictionsBatch

__all__ = ["VersionContext", "VersionContexts"]

SOURCE_USER = "user"
SOURCE_FIRST_BATCH = "first_batch"


@dataclass(frozen=True)
class VersionContext:
    """The schema and reference profile that a version's windows are profiled with."""

    version_id: int
    revision: tuple[int, float]
    schema: Schema
    reference: Any  # DatasetProfile

    def profile_part(
        self,
        batch: PredictionsBatch,
        idx: np.ndarray | None,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> Any:
        """Profile rows ``idx`` (or all) of ``batch`` against the reference.

        ``arrays``: the batch's features as :func:`batch_arrays` converts them.
        """
        from driftline.profile import profile

        frame, schema = frame_for(batch, idx, self.schema, arrays)
        if not schema.columns:
            return None
        return profile(frame, schema, reference=self.reference)


class VersionContexts:
    """A per-service cache of :class:`VersionContext`, checked against the database."""

    def __init__(self) -> None:
        self._cache: dict[int, VersionContext] = {}

    def _revision(self, conn: sa.Connection, version_id: int) -> tuple[int, float] | None:
        rp = t.reference_profiles
        row = conn.execute(
            sa.select(rp.c.revision, rp.c.updated_at).where(rp.c.model_version_id == version_id)
        ).first()
        return None if row is None else (int(row.revision), float(row.updated_at))

    def find(
        self, conn: sa.Connection, project: str, model: str, version: str
    ) -> VersionContext | None:
        """The context of an existing version with a reference, read without writing."""
        p, m, v, rp = t.projects, t.models, t.model_versions, t.reference_profiles
        row = conn.execute(
            sa.select(v.c.id, rp.c.revision, rp.c.updated_at)
            .select_from(
                p.join(m, m.c.project_id == p.c.id)
                .join(v, v.c.model_id == m.c.id)
                .join(rp, rp.c.model_version_id == v.c.id)
            )
            .where(p.c.name == project, m.c.name == model, v.c.name == version)
        ).first()
        if row is None:
            return None
        return self._cached(conn, int(row.id), (int(row.revision), float(row.updated_at)))

    def current(self, conn: sa.Connection, ctx: VersionContext) -> bool:
        """Whether ``ctx`` still holds the version's reference revision."""
        return self._revision(conn, ctx.version_id) == ctx.revision

    def _cached(
        self, conn: sa.Connection, version_id: int, revision: tuple[int, float]
    ) -> VersionContext:
        cached = self._cache.get(version_id)
        if cached is not None and cached.revision == revision:
            return cached
        ctx = self._load(conn, version_id, revision)
        self._cache[version_id] = ctx
        return ctx

    def get(
        self, conn: sa.Connection, version_id: int, batch: PredictionsBatch, now: float
    ) -> VersionContext:
        """The context of a version; creates the implicit reference from ``batch`` if none."""
        from driftline.profile import profile

        revision = self._revision(conn, version_id)
        if revision is None:
            schema = infer_schema(batch)
            frame, schema = frame_for(batch, None, schema)
            ref = profile(frame, schema)
            insert_ignore(
                conn,
                t.reference_profiles,
                [
                    {
                        "model_version_id": version_id,
                        "profile": ref.to_dict(),
                        "schema": schema.to_dict(),
                        "source": SOURCE_FIRST_BATCH,
                        "revision": 1,
                        "updated_at": now,
                    }
                ],
                index=["model_version_id"],
            )
            self._set_version_schema(conn, version_id, schema.to_dict())
            revision = self._revision(conn, version_id)
            if revision is None:  # pragma: no cover - inserted just above
                raise StoreError("reference profile vanished")
        return self._cached(conn, version_id, revision)

    def _load(
        self, conn: sa.Connection, version_id: int, revision: tuple[int, float]
    ) -> VersionContext:
        from driftline.profile import DatasetProfile

        rp = t.reference_profiles
        row = conn.execute(
            sa.select(rp.c.profile, rp.c.schema).where(rp.c.model_version_id == version_id)
        ).one()
        return VersionContext(
            version_id=version_id,
            revision=revision,
            schema=Schema.from_dict(row.schema),
            reference=DatasetProfile.from_dict(row.profile),
        )

    @staticmethod
    def _set_version_schema(conn: sa.Connection, version_id: int, schema: dict[str, Any]) -> None:
        mv = t.model_versions
        conn.execute(mv.update().where(mv.c.id == version_id).values(schema=schema))

    def set_reference(
        self,
        conn: sa.Connection,
        version_id: int,
        profile: dict[str, Any],
        schema: dict[str, Any],
        now: float,
    ) -> None:
        """Store an uploaded reference (replacing any), after checking that it parses."""
        from driftline.profile import DatasetProfile

        try:
            parsed_schema = Schema.from_dict(schema)
        except InputError as exc:
            raise InputError(f"schema: {exc}") from exc
        try:
            DatasetProfile.from_dict(profile)
        except InputError as exc:
            raise InputError(f"profile: {exc}") from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"profile: expected a DatasetProfile.to_dict() dict, got one that fails with {exc!r}"
            ) from exc
        rp = t.reference_profiles
        current = conn.execute(
            sa.select(rp.c.revision).where(rp.c.model_version_id == version_id).with_for_update()
        ).scalar()
        values = {
            "profile": profile,
            "schema": parsed_schema.to_dict(),
            "source": SOURCE_USER,
            "updated_at": now,
        }
        if current is None:
            conn.execute(rp.insert().values(model_version_id=version_id, revision=1, **values))
        else:
            conn.execute(
                rp.update()
                .where(rp.c.model_version_id == version_id)
                .values(revision=current + 1, **values)
            )
        self._set_version_schema(conn, version_id, parsed_schema.to_dict())
        self._cache.pop(version_id, None)
