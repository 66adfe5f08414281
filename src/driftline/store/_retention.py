"""Bounds on the raw rows: predictions, feature chunks, labels and events.

Window aggregates (profiles, performance and event counts) are kept for good;
only raw rows are bounded, by age (relative to the newest row, so that
backfilled history is not deleted on arrival) and by count per model version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from driftline.errors import InputError
from driftline.store import tables as t
from driftline.store._chunks import delete_rows_up_to, nth_newest_time

if TYPE_CHECKING:
    from driftline.config import Settings

__all__ = ["MAX_CHUNKS_PER_PASS", "RetentionPolicy", "prune_model_rows", "prune_version_rows"]

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
        Seconds between retention passes per model version and service. A
        pass deletes at most :data:`MAX_CHUNKS_PER_PASS` batches per bound; one
        that leaves rows past a bound is followed by another at the next batch.
    feature_max_age_days : float or None, default None
        Feature values more than this many days older than the newest row of
        the version are deleted while their prediction rows stay (a stored
        prediction then reads with ``features`` ``None``). ``None``: kept as
        long as the predictions.

    Example
    -------
    >>> RetentionPolicy(max_age_days=7).max_rows_per_version
    1000000
    >>> from driftline.config import load_settings
    >>> env = {"DRIFTLINE_DATA_DIR": "/tmp/dl", "DRIFTLINE_PREDICTION_RETENTION_DAYS": "90",
    ...        "DRIFTLINE_FEATURE_RETENTION_DAYS": "7"}
    >>> p = RetentionPolicy.from_settings(load_settings(env))
    >>> p.max_age_days, p.feature_max_age_days
    (90.0, 7.0)
    """

    max_age_days: float | None = 30.0
    max_rows_per_version: int | None = 1_000_000
    keep_features: bool = True
    check_every_s: float = 60.0
    feature_max_age_days: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The policy of ``DRIFTLINE_*_RETENTION_*`` and friends (see :mod:`driftline.config`)."""
        return cls(
            max_age_days=settings.prediction_retention_days,
            max_rows_per_version=settings.max_predictions_per_version,
            keep_features=settings.keep_features,
            check_every_s=settings.retention_check_s,
            feature_max_age_days=settings.feature_retention_days,
        )

    def __post_init__(self) -> None:
        if self.max_age_days is not None and not self.max_age_days > 0:
            raise InputError(
                f"max_age_days: expected a positive number or None, got {self.max_age_days!r}"
            )
        if self.feature_max_age_days is not None and not self.feature_max_age_days > 0:
            raise InputError(
                f"feature_max_age_days: expected a positive number or None, "
                f"got {self.feature_max_age_days!r}"
            )
        if not self.check_every_s >= 0:
            raise InputError(
                f"check_every_s: expected a non-negative number, got {self.check_every_s!r}"
            )
        if self.max_rows_per_version is not None and self.max_rows_per_version < 1:
            raise InputError(
                f"max_rows_per_version: expected a positive integer or None, "
                f"got {self.max_rows_per_version!r}"
            )


#: Prediction chunks (batches) one retention pass deletes or trims at most. A version
#: far past its bounds (a row bound reached at full ingest rate, a long outage) is
#: caught up over the next passes, which run at once (see
#: :meth:`driftline.store.IngestService`), instead of holding one ingest
#: transaction for seconds.
MAX_CHUNKS_PER_PASS = 20


def _delete_predictions_up_to(
    conn: sa.Connection, version_id: int, cutoff: float, inclusive: bool
) -> bool:
    """Delete raw rows up to ``cutoff``; whether rows past it are left for the next pass."""
    fc = t.feature_chunks
    more = delete_rows_up_to(
        conn, version_id, cutoff, inclusive=inclusive, limit=MAX_CHUNKS_PER_PASS
    )
    chunk_older = fc.c.last_time <= cutoff if inclusive else fc.c.last_time < cutoff
    conn.execute(fc.delete().where(fc.c.model_version_id == version_id, chunk_older))
    return more


def prune_version_rows(conn: sa.Connection, version_id: int, policy: RetentionPolicy) -> bool:
    """Apply the row and age bounds to the raw predictions of one version.

    Deletes at most :data:`MAX_CHUNKS_PER_PASS` chunks per bound; returns whether
    rows past a bound are left (run another pass soon).
    """
    pc = t.prediction_chunks
    more = False
    if policy.max_rows_per_version is not None:
        cutoff = nth_newest_time(conn, version_id, policy.max_rows_per_version)
        if cutoff is not None:
            more = _delete_predictions_up_to(conn, version_id, cutoff, inclusive=True)
    features_days = policy.feature_max_age_days
    if policy.max_age_days is not None and features_days is not None:
        features_days = features_days if features_days < policy.max_age_days else None
    if policy.max_age_days is not None or features_days is not None:
        newest = conn.execute(
            sa.select(sa.func.max(pc.c.last_time)).where(pc.c.model_version_id == version_id)
        ).scalar()
        if newest is not None and policy.max_age_days is not None:
            limit = newest - policy.max_age_days * _DAY
            more = _delete_predictions_up_to(conn, version_id, limit, inclusive=False) or more
        if newest is not None and features_days is not None:
            fc = t.feature_chunks
            limit = newest - features_days * _DAY
            conn.execute(
                fc.delete().where(fc.c.model_version_id == version_id, fc.c.last_time < limit)
            )
    return more


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
