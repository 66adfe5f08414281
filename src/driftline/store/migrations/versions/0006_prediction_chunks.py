"""prediction chunks: raw prediction rows kept per batch as Arrow columns, with a narrow id index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 23:00:00

The rows of ``predictions`` move into ``prediction_chunks`` (one chunk per
feature chunk, or per 10,000 rows of a version without features), each row's
id into ``prediction_ids``; then ``predictions`` is dropped. Self-contained:
the chunk layout is written here as it is defined at this revision (a ``DLF2``
magic and an Arrow IPC stream; the JSON texts of outputs and scores kept as
they were stored, flagged as JSON columns). The downgrade moves the rows of the
chunks back (rows deleted by retention stay deleted).
"""

from __future__ import annotations

import json
import math
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ROWS_PER_CHUNK = 10_000
_JSON = {b"driftline.json": b"1"}


def upgrade() -> None:
    op.create_table(
        "prediction_chunks",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("first_time", sa.Float(), nullable=False),
        sa.Column("last_time", sa.Float(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("feature_chunk_id", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_prediction_chunks_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_prediction_chunks_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_chunks")),
    )
    op.create_index(
        op.f("ix_prediction_chunks_model_version_id_last_time"),
        "prediction_chunks",
        ["model_version_id", "last_time"],
        unique=False,
    )
    op.create_table(
        "prediction_ids",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.String(length=256), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("chunk_row", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_prediction_ids_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_id", "prediction_id", "chunk_id", "chunk_row", name=op.f("pk_prediction_ids")
        ),
        sqlite_with_rowid=False,
    )
    _move_rows(op.get_bind())
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_model_version_id_time"))
        batch_op.drop_index(batch_op.f("ix_predictions_model_id_prediction_id"))
    op.drop_table("predictions")


def _encode(rows: list[Any]) -> bytes:
    import pyarrow as pa

    fields = [
        pa.field("id", pa.string()),
        pa.field("time", pa.float64()),
        pa.field("output", pa.string(), metadata=_JSON),
        pa.field("score", pa.string(), metadata=_JSON),
        pa.field("latency_ms", pa.float64()),
        pa.field("error", pa.string()),
        pa.field("feature_row", pa.int64()),
    ]
    columns = [
        [r.prediction_id for r in rows],
        [float(r.time) for r in rows],
        [r.output for r in rows],
        [r.score for r in rows],
        [None if r.latency_ms is None else float(r.latency_ms) for r in rows],
        [r.error for r in rows],
        [r.feature_row for r in rows],
    ]
    schema = pa.schema(fields)
    table = pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, fields, strict=True)], schema=schema
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return b"DLF2" + sink.getvalue().to_pybytes()


def _move_rows(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    old = sa.Table("predictions", meta, autoload_with=conn)
    chunk_t = sa.Table("prediction_chunks", meta, autoload_with=conn)
    ids_t = sa.Table("prediction_ids", meta, autoload_with=conn)
    query = sa.select(old).order_by(
        old.c.model_version_id, old.c.feature_chunk_id, old.c.feature_row, old.c.id
    )
    pending: list[Any] = []

    def flush() -> None:
        if not pending:
            return
        first = pending[0]
        chunk_id = conn.execute(
            chunk_t.insert()
            .values(
                model_id=first.model_id,
                model_version_id=first.model_version_id,
                first_time=min(float(r.time) for r in pending),
                last_time=max(float(r.time) for r in pending),
                n_rows=len(pending),
                feature_chunk_id=first.feature_chunk_id,
                data=_encode(pending),
            )
            .returning(chunk_t.c.id)
        ).scalar_one()
        entries = [
            {"model_id": r.model_id, "prediction_id": r.prediction_id, "chunk_id": chunk_id,
             "chunk_row": k}
            for k, r in enumerate(pending)
        ]  # fmt: skip
        conn.execute(ids_t.insert(), entries)
        pending.clear()

    rows = conn.execute(query, execution_options={"stream_results": True})
    for row in rows.yield_per(_ROWS_PER_CHUNK):
        if pending and (
            row.model_version_id != pending[0].model_version_id
            or row.feature_chunk_id != pending[0].feature_chunk_id
            or (row.feature_chunk_id is None and len(pending) >= _ROWS_PER_CHUNK)
        ):
            flush()
        pending.append(row)
    flush()


def downgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.String(length=256), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("score", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("feature_chunk_id", sa.BigInteger(), nullable=True),
        sa.Column("feature_row", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["models.id"],
            name=op.f("fk_predictions_model_id_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_predictions_model_version_id_model_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_predictions_model_id_prediction_id"),
            ["model_id", "prediction_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_predictions_model_version_id_time"),
            ["model_version_id", "time"],
            unique=False,
        )
    _move_rows_back(op.get_bind())
    op.drop_table("prediction_ids")
    op.drop_index(
        op.f("ix_prediction_chunks_model_version_id_last_time"), table_name="prediction_chunks"
    )
    op.drop_table("prediction_chunks")


def _json_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return json.dumps(value, separators=(",", ":"))


def _move_rows_back(conn: sa.Connection) -> None:
    """Rows of every chunk (blanked ones left out) back into ``predictions``, in order."""
    import pyarrow as pa

    meta = sa.MetaData()
    chunk_t = sa.Table("prediction_chunks", meta, autoload_with=conn)
    rows_t = sa.Table("predictions", meta, autoload_with=conn)
    query = sa.select(chunk_t).order_by(chunk_t.c.id)
    for chunk in conn.execute(query, execution_options={"stream_results": True}).yield_per(16):
        table = pa.ipc.open_stream(pa.py_buffer(bytes(chunk.data))[4:]).read_all()
        cols: dict[str, list[Any]] = {}
        for field, column in zip(table.schema, table.columns, strict=True):
            values = column.to_pylist()
            as_json = bool(field.metadata and field.metadata.get(b"driftline.json"))
            if field.name in ("output", "score") and not as_json:
                values = [_json_text(v) for v in values]  # stored as JSON text before 0006
            cols[field.name] = values
        feature_rows = cols.get("feature_row") or list(range(table.num_rows))
        out = [
            {
                "model_id": chunk.model_id,
                "model_version_id": chunk.model_version_id,
                "prediction_id": pid,
                "time": cols["time"][k],
                "output": cols["output"][k],
                "score": cols["score"][k],
                "latency_ms": cols["latency_ms"][k],
                "error": cols["error"][k],
                "feature_chunk_id": chunk.feature_chunk_id,
                "feature_row": None if chunk.feature_chunk_id is None else feature_rows[k],
            }
            for k, pid in enumerate(cols["id"])
            if pid is not None
        ]
        if out:
            conn.execute(rows_t.insert(), out)
