"""The alerting tables: monitors and their results, alerts, silences, the outbox, the lease.

Defined on :data:`driftline.store.tables.metadata` and re-exported by
:mod:`driftline.store.tables`, where callers read them.

Example
-------
>>> monitors.name, "monitor_id" in monitor_results.c
('monitors', True)
"""

from __future__ import annotations

import sqlalchemy as sa

from driftline.store._tables_base import NAME_LEN, BigId, metadata

__all__ = [
    "FINGERPRINT_LEN",
    "GROUP_KEY_LEN",
    "alert_events",
    "alert_groups",
    "alerting_config",
    "alerts",
    "monitor_results",
    "monitors",
    "notification_attempts",
    "notifications",
    "scheduler_leases",
    "silences",
]

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
