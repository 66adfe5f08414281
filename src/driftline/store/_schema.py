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

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

# An autoincrementing 64-bit key that SQLite still treats as its rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID_LEN = 256
NAME_LEN = 200

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
# column in one packed block (see driftline.store._window_drift.BucketDrift):
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

# --- alerting (monitors, alerts, silences, outbox, scheduler lease) --------------------
# Monitors name their model by project and model name (no foreign key: a monitor
# may be applied from a file before its model sends anything). Results are a
# series: (monitor_id, at). Alerts are one row per fingerprint (reopened after a
# resolve); their history is ``alert_events``. ``notifications`` is the outbox.

FINGERPRINT_LEN = 64
GROUP_KEY_LEN = 512

monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(NAME_LEN), nullable=False, unique=True),
    sa.Column("project", sa.String(NAME_LEN), nullable=False),
    sa.Column("model", sa.String(NAME_LEN), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    # sha256 of the canonical spec JSON: an apply of the same spec is 'unchanged'.
    sa.Column("spec_hash", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    # 'file', 'api' or 'default' (created from the model's reference).
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("last_evaluated_at", sa.Float, nullable=True),
    # End of the newest window judged: a window is never judged twice.
    sa.Column("last_window_end", sa.Float, nullable=True),
    sa.Column("next_due_at", sa.Float, nullable=True),
    # Whether the monitor runs after every ingest (schedule 'on_ingest').
    sa.Column("on_ingest", sa.Boolean, nullable=False),
    # Set by ingest for 'on_ingest' monitors, cleared by their evaluation.
    sa.Column("dirty", sa.Boolean, nullable=False),
    sa.Index(None, "project", "model"),
    sa.Index(None, "next_due_at"),
)

monitor_results = sa.Table(
    "monitor_results",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("window_start", sa.Float, nullable=True),
    sa.Column("window_end", sa.Float, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("threshold", sa.Float, nullable=True),
    # NULL: undecided (not enough data), never "no drift".
    sa.Column("firing", sa.Boolean, nullable=True),
    sa.Column("p_value", sa.Float, nullable=True),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index(None, "monitor_id", "at"),
    sa.Index(None, "monitor_id", "window_end"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(FINGERPRINT_LEN), nullable=False, unique=True),
    sa.Column(
        "monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("monitor", sa.String(NAME_LEN), nullable=False),
    sa.Column("project", sa.String(NAME_LEN), nullable=False),
    sa.Column("model", sa.String(NAME_LEN), nullable=False),
    sa.Column("severity", sa.String(32), nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("annotations", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("fired_at", sa.Float, nullable=True),
    sa.Column("acknowledged_at", sa.Float, nullable=True),
    sa.Column("acknowledged_by", sa.String(NAME_LEN), nullable=True),
    sa.Column("resolved_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index(None, "project", "model", "state"),
    sa.Index(None, "state", "updated_at"),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(16), nullable=True),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Index(None, "alert_id", "at"),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("matchers", sa.JSON, nullable=False),
    sa.Column("starts_at", sa.Float, nullable=False),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(NAME_LEN), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    # 'file' or 'api'.
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index(None, "ends_at"),
)

# One row (id 1): the routing tree, receivers and inhibit rules last applied.
alerting_config = sa.Table(
    "alerting_config",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("route", sa.JSON, nullable=True),
    sa.Column("receivers", sa.JSON, nullable=False),
    sa.Column("inhibit_rules", sa.JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

alert_groups = sa.Table(
    "alert_groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("group_key", sa.String(GROUP_KEY_LEN), nullable=False),
    sa.Column("receiver", sa.String(NAME_LEN), nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("next_flush_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("group_key", "receiver"),
    sa.Index(None, "next_flush_at"),
)

# The outbox: a notification is written in the transaction that decided it and
# drained by the leader; status pending -> sending (claimed) -> delivered | failed.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("receiver", sa.String(NAME_LEN), nullable=False),
    sa.Column("group_key", sa.String(GROUP_KEY_LEN), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float, nullable=True),
    sa.Column("claimed_by", sa.String(NAME_LEN), nullable=True),
    sa.Column("claim_expires_at", sa.Float, nullable=True),
    sa.Index(None, "status", "next_attempt_at"),
    sa.Index(None, "created_at"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "notification_id",
        sa.String(64),
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("channel", sa.String(NAME_LEN), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("retryable", sa.Boolean, nullable=True),
    sa.Index(None, "notification_id", "at"),
)

# Leader election: the row's owner holds the lease until expires_at; the
# fencing token grows by one at every change of owner.
scheduler_leases = sa.Table(
    "scheduler_leases",
    metadata,
    sa.Column("name", sa.String(NAME_LEN), primary_key=True),
    sa.Column("owner", sa.String(NAME_LEN), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("fencing_token", sa.BigInteger, nullable=False),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("renewed_at", sa.Float, nullable=False),
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
