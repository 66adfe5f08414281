"""What every table of the schema shares: one MetaData, its naming convention, key types.

Example
-------
>>> metadata.naming_convention["pk"]
'pk_%(table_name)s'
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["ID_LEN", "NAME_LEN", "NAMING", "BigId", "metadata"]

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
