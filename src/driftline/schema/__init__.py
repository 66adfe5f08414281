"""Column roles and kinds, schema inference with visible warnings, frame normalisation.

:func:`as_table` turns a pandas, polars or pyarrow frame, a numpy array or a
dict of sequences into a light :class:`Table` of numpy arrays;
:meth:`Schema.infer` gives every column a role and a kind and warns with
:class:`SchemaInferenceWarning` where the kind is a guess worth checking.
pandas and polars are imported lazily, only when a frame needs them.

Examples
--------
>>> from driftline.schema import Schema
>>> Schema.infer({"age": [31.0, 45.5], "ok": [True, False]}, target="ok").target.kind.value
'boolean'
"""

from __future__ import annotations

from driftline.schema._infer import InferenceConfig
from driftline.schema._table import Table, arrow_strings, as_table, string_codes
from driftline.schema._types import (
    ColumnKind,
    ColumnRole,
    ColumnSpec,
    Schema,
    SchemaInferenceWarning,
)

__all__ = [
    "ColumnKind",
    "ColumnRole",
    "ColumnSpec",
    "InferenceConfig",
    "Schema",
    "SchemaInferenceWarning",
    "Table",
    "arrow_strings",
    "as_table",
    "string_codes",
]
