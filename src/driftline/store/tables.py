"""The database schema, in SQLAlchemy Core.

Metadata tables (projects, models, versions, runs, tokens) are kept apart from
the time series (predictions, labels, events, window aggregates, run metrics),
which carry composite indexes on (owner, key, time). Times are epoch seconds
(UTC) stored as double precision. The Alembic migrations under
``driftline/store/migrations`` create exactly these tables; a test checks that
they agree.

Example
-------
>>> sorted(metadata.tables)[:3]
['alert_events', 'alert_groups', 'alerting_config']
"""

from __future__ import annotations

import sqlalchemy as sa

from driftline.store._tables_alerts import (
    alert_events,
    alert_groups,
    alerting_config,
    alerts,
    monitor_results,
    monitors,
    notification_attempts,
    notifications,
    scheduler_leases,
    silences,
)
from driftline.store._tables_base import ID_LEN, NAME_LEN, BigId, metadata

__all__ = [
    "alert_events",
    "alert_groups",
    "alerting_config",
    "alerts",
    "events",
    "feature_chunks",
    "ingest_batches",
    "labels",
    "metadata",
    "model_versions",
    "models",
    "monitor_results",
    "monitors",
    "notification_attempts",
    "notifications",
    "prediction_chunks",
    "prediction_ids",
    "projects",
    "reference_profiles",
    "run_events",
    "run_metrics",
    "runs",
    "scheduler_leases",
    "silences",
    "tokens",
    "window_drift",
    "window_events",
    "window_performance",
    "window_profiles",
    "window_summaries",
]

# --- metadata -----------------------------------------------------------------

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME_LEN), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(NAME_LEN), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(NAME_LEN), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("model_id", "name"),
    # Windows of a version are profiled with this schema (the reference's, or
    # inferred from the first batch when there is no reference yet).
    sa.Column("schema", sa.JSON, nullable=True),
)

reference_profiles = sa.Table(
    "reference_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("schema", sa.JSON, nullable=False),
    # 'user' for an uploaded reference, 'first_batch' for the implicit one
    # taken from the first predictions of a version without a reference.
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(ID_LEN), primary_key=True),
    sa.Column(
        "project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(NAME_LEN), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index(None, "project_id", "started_at"),
    # A stop request (POST /api/v1/runs/{id}/stop, or an alert's webhook): the SDK
    # learns of it from its ingest acknowledgements; the first request is kept.
    sa.Column("stop_requested_at", sa.Float, nullable=True),
    sa.Column("stop_requested_by", sa.String(NAME_LEN), nullable=True),
    sa.Column("stop_reason", sa.Text, nullable=True),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME_LEN), nullable=False),
    sa.Column("project", sa.String(NAME_LEN), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
)

ingest_batches = sa.Table(
    "ingest_batches",
    metadata,
    sa.Column("batch_id", sa.String(ID_LEN), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("project", sa.String(NAME_LEN), nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
)

# --- time series ----------------------------------------------------------------

# The raw rows of one predictions batch, as Arrow columns (id, time, output, score,
# latency_ms, error; see driftline.store._chunks): one write per batch.
prediction_chunks = sa.Table(
    "prediction_chunks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("first_time", sa.Float, nullable=False),
    sa.Column("last_time", sa.Float, nullable=False),
    # rows not deleted by retention
    sa.Column("n_rows", sa.Integer, nullable=False),
    # the batch's features (row i of the chunk is row i of the feature chunk); NULL when
    # features are not kept
    sa.Column("feature_chunk_id", sa.BigInteger, nullable=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index(None, "model_version_id", "last_time"),
)

# Where the row of each prediction id is: the one per-row write of an ingest (on SQLite a
# table without rowid, so a single B-tree).
prediction_ids = sa.Table(
    "prediction_ids",
    metadata,
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("prediction_id", sa.String(ID_LEN), nullable=False),
    sa.Column("chunk_id", sa.BigInteger, nullable=False),
    sa.Column("chunk_row", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("model_id", "prediction_id", "chunk_id", "chunk_row"),
    sqlite_with_rowid=False,
)

# The feature values of one predictions batch, as Arrow columns (see
# driftline.store._bulk.encode_columns): one compact write per batch.
feature_chunks = sa.Table(
    "feature_chunks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("first_time", sa.Float, nullable=False),
    sa.Column("last_time", sa.Float, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("columns", sa.LargeBinary, nullable=False),
    sa.Index(None, "model_version_id", "last_time"),
)

labels = sa.Table(
    "labels",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("prediction_id", sa.String(ID_LEN), nullable=False),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("time", sa.Float, nullable=False),
    # False while no prediction with this id has been seen.
    sa.Column("joined", sa.Boolean, nullable=False),
    sa.UniqueConstraint("model_id", "prediction_id"),
    sa.Index(None, "model_id", "time"),
    sa.Index(None, "model_id", "joined"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("prediction_id", sa.String(ID_LEN), nullable=True),
    sa.Column("name", sa.String(NAME_LEN), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("joined", sa.Boolean, nullable=False),
    sa.Index(None, "model_id", "prediction_id"),
    sa.Index(None, "model_id", "name", "time"),
    sa.Index(None, "model_id", "joined"),
)

window_profiles = sa.Table(
    "window_profiles",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("bucket_start", sa.Float, nullable=False),
    sa.Column("n_rows", sa.BigInteger, nullable=False),
    sa.Column("n_errors", sa.BigInteger, nullable=False),
    sa.Column("profile", sa.LargeBinary, nullable=True),
    sa.Column("latency", sa.LargeBinary, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    # Bumped by every write of the bucket: stored drift computed from an older
    # revision is stale.
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("model_version_id", "bucket_seconds", "bucket_start"),
    # Covers the drift series' staleness check: no read of the (large) profile rows.
    sa.Index(
        "ix_window_profiles_revision",
        "model_version_id",
        "bucket_seconds",
        "bucket_start",
        "revision",
    ),
)

# The drift of one bucket's profile against the version's reference, every
# column in one packed block (see driftline.store.windows.BucketDrift):
# statistics only (compute), no threshold or verdict (decide). ``revision`` and
# ``reference_revision`` say what it was computed from; the primary key is the
# range-scan order of a drift series (SQLite keeps rows clustered on it).
window_drift = sa.Table(
    "window_drift",
    metadata,
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("bucket_start", sa.Float, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("reference_revision", sa.Integer, nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("columns", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("reasons", sa.Text, nullable=True),
    sa.PrimaryKeyConstraint("model_version_id", "bucket_seconds", "bucket_start"),
    sqlite_with_rowid=False,
)

window_performance = sa.Table(
    "window_performance",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("bucket_start", sa.Float, nullable=False),
    sa.Column("n_labels", sa.BigInteger, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("model_version_id", "bucket_seconds", "bucket_start"),
)

# version_key is the model version id, or 0 for events tied to no prediction.
window_events = sa.Table(
    "window_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version_key", sa.Integer, nullable=False),
    sa.Column("name", sa.String(NAME_LEN), nullable=False),
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("bucket_start", sa.Float, nullable=False),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("value_sum", sa.Float, nullable=False),
    sa.UniqueConstraint("model_id", "version_key", "name", "bucket_seconds", "bucket_start"),
)

run_metrics = sa.Table(
    "run_metrics",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(ID_LEN),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("key", sa.String(NAME_LEN), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    # NULL stands for NaN: SQLite cannot store a NaN.
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Index(None, "run_id", "key", "step"),
)

run_events = sa.Table(
    "run_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(ID_LEN),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(NAME_LEN), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Index(None, "run_id", "time"),
)

# -- window summaries (issue 3: fast window series) ---------------------------------------
# Per-bucket scalar summary of a window profile (per-column counts and missing counts, and
# what decides whether profiles merge), computed from the bucket's ``revision``: the window
# series reads these instead of decompressing every bucket profile.
window_summaries = sa.Table(
    "window_summaries",
    metadata,
    sa.Column(
        "model_version_id",
        sa.Integer,
        sa.ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("bucket_seconds", sa.Integer, nullable=False),
    sa.Column("bucket_start", sa.Float, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("model_version_id", "bucket_seconds", "bucket_start"),
    sqlite_with_rowid=False,
)
