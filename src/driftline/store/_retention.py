"""Bounds on the raw rows: predictions, feature chunks, labels and events.

Window aggregates (profiles, performance and event counts) are kept for good;
only raw rows are bounded, by age (relative to the newest row, so that
backfilled history is not deleted on arrival) and by count per model version.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from driftline.errors import InputError
from driftline.store import _schema as t

__all__ = ["RetentionPolicy", "prune_model_rows", "prune_version_rows"]

_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long raw prediction, label and event rows are kept.

    A label or event that arrives after its prediction's raw row is gone no
    longer joins; window aggregates are never pruned.

    Parameters
    ----------
    max_age_days : float or None, default 30
        Raw rows more than this many days older than the newest row of the
        same model version (predictions) or model (labels, events) are
        deleted. ``None``: no age bound.
    max_rows_per_version : int or None, default 1_000_000
        Most raw prediction rows kept per model version; the oldest (by
        prediction time) go first. ``None``: no row bound.
    keep_features : bool, default True
        Keep the feature values of each prediction (in ``feature_chunks``).
    check_every_s : float, default 60
        Seconds between retention passes per model version and service.

    Example
    -------
    >>> RetentionPolicy(max_age_days=7).max_rows_per_version
    1000000
    """

    max_age_days: float | None = 30.0
    max_rows_per_version: int | None = 1_000_000
    keep_features: bool = True
    check_every_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_age_days is not None and not self.max_age_days > 0:
            raise InputError(
                f"max_age_days: expected a positive number or None, got {self.max_age_days!r}"
            )
        if self.max_rows_per_version is not None and self.max_rows_per_version < 1:
            raise InputError(
                f"max_rows_per_version: expected a positive integer or None, "
                f"got {self.max_rows_per_version!r}"
            )


def _delete_predictions_up_to(
    conn: sa.Connection, version_id: int, cutoff: float, inclusive: bool
) -> None:
    p, fc = t.predictions, t.feature_chunks
    older = p.c.time <= cutoff if inclusive else p.c.time < cutoff
    conn.execute(p.delete().where(p.c.model_version_id == version_id, older))
    chunk_older = fc.c.last_time <= cutoff if inclusive else fc.c.last_time < cutoff
    conn.execute(fc.delete().where(fc.c.model_version_id == version_id, chunk_older))


def prune_version_rows(conn: sa.Connection, version_id: int, policy: RetentionPolicy) -> None:
    """Apply the row and age bounds to the raw predictions of one version."""
    p = t.predictions
    if policy.max_rows_per_version is not None:
        cutoff = conn.execute(
            sa.select(p.c.time)
            .where(p.c.model_version_id == version_id)
            .order_by(p.c.time.desc())
            .offset(policy.max_rows_per_version)
            .limit(1)
        ).scalar()
        if cutoff is not None:
            _delete_predictions_up_to(conn, version_id, cutoff, inclusive=True)
    if policy.max_age_days is not None:
        newest = conn.execute(
            sa.select(sa.func.max(p.c.time)).where(p.c.model_version_id == version_id)
        ).scalar()
        if newest is not None:
            limit = newest - policy.max_age_days * _DAY
            _delete_predictions_up_to(conn, version_id, limit, inclusive=False)


def prune_model_rows(conn: sa.Connection, model_id: int, policy: RetentionPolicy) -> None:
    """Apply the age bound to the raw labels and events of one model."""
    if policy.max_age_days is None:
        return
    for table in (t.labels, t.events):
        newest = conn.execute(
            sa.select(sa.func.max(table.c.time)).where(table.c.model_id == model_id)
        ).scalar()
        if newest is not None:
            limit = newest - policy.max_age_days * _DAY
            conn.execute(table.delete().where(table.c.model_id == model_id, table.c.time < limit))
