"""`load_data.sql`: a sqlite3 shell script that loads a raw run's CSVs with their PKs and FKs.

Column types are the YAML `tables[].columns[].type`; keys are those of the older tool's QA
(`REFERENCE_BEHAVIOUR` §6.1 rules 1-2), declared only between tables the script loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.render.registry import TABLES, table_spec

# (child table, child column, parent table, parent column): the eleven relations.
FOREIGN_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("shopping_carts", "customer_id", "customers", "customer_id"),
    ("cart_items", "cart_id", "shopping_carts", "cart_id"),
    ("cart_items", "product_id", "product_catalog", "product_id"),
    ("orders", "customer_id", "customers", "customer_id"),
    ("order_items", "order_id", "orders", "order_id"),
    ("order_items", "product_id", "product_catalog", "product_id"),
    ("returns", "order_id", "orders", "order_id"),
    ("returns", "customer_id", "customers", "customer_id"),
    ("return_items", "return_id", "returns", "return_id"),
    ("return_items", "order_id", "orders", "order_id"),
    ("return_items", "product_id", "product_catalog", "product_id"),
)


def _arrow_sql_type(kind: pa.DataType) -> str:
    """Fallback when the YAML gives no type for a column."""
    if pa.types.is_integer(kind):
        return "INTEGER"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "REAL"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return "DATE"
    return "TEXT"


def _sql_type(cfg: EcomConfig, table: str, column: str) -> str:
    entry = cfg.table(table)
    declared = entry.column(column) if entry else None
    if declared is not None and declared.type.strip():
        return declared.type.strip()
    return _arrow_sql_type(table_spec(table).schema.field(column).type)


def shell_quote(path: str) -> str:
    """Quote one sqlite3 dot-command argument: '…' is literal; "…" takes C-style escapes."""
    if "'" not in path and "\n" not in path and "\r" not in path:
        return f"'{path}'"
    escaped = path.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _create_table(cfg: EcomConfig, name: str, columns: Sequence[str], loaded: set[str]) -> str:
    """`loaded`: the tables with keys to refer to (empty: no keys at all, a messy run's)."""
    pk = table_spec(name).pk if loaded else ()
    lines = []
    for column in columns:
        inline = " PRIMARY KEY" if len(pk) == 1 and column == pk[0] else ""
        lines.append(f"  {column} {_sql_type(cfg, name, column)}{inline}")
    if len(pk) > 1:
        lines.append(f"  PRIMARY KEY ({', '.join(pk)})")
    for child, column, parent, key in FOREIGN_KEYS:
        if child == name and column in columns and parent in loaded:
            lines.append(f"  FOREIGN KEY ({column}) REFERENCES {parent} ({key})")
    return f"CREATE TABLE {name} (\n" + ",\n".join(lines) + "\n);"


def load_data_sql(
    cfg: EcomConfig, csv_files: Mapping[str, tuple[Path, Sequence[str]]], messy: str = ""
) -> str:
    """The script for `{table: (csv path, columns)}`; parents are created and loaded first.

    Tables are dropped children-first so the drops pass with foreign keys on. A `messy` run's
    duplicate rows and orphan keys are its defects: its tables declare no keys, so SQLite
    loads every row instead of rejecting them (and their children).
    """
    order = [spec.name for spec in TABLES if spec.name in csv_files]
    loaded = set() if messy else set(order)
    out = ["-- Load this raw run into SQLite: sqlite3 <file.db> < load_data.sql", ""]
    if messy:
        out += [
            f"-- {messy}: duplicate rows and orphan keys are defects of this run (_defects.csv),",
            "-- so no primary or foreign keys are declared: every row of every CSV loads.",
        ]
    out.append("PRAGMA foreign_keys = ON;")
    out.extend(f"DROP TABLE IF EXISTS {name};" for name in reversed(order))
    for name in order:
        out.extend(["", _create_table(cfg, name, csv_files[name][1], loaded)])
    out.append("")
    for name in order:
        path = str(Path(csv_files[name][0]).resolve())
        out.append(f".import --csv --skip 1 {shell_quote(path)} {name}")
    out.append("")
    out.extend(filter(None, (_nulls_back(cfg, name, csv_files[name][1]) for name in order)))
    return "\n".join(out) + "\n"


def _nulls_back(cfg: EcomConfig, name: str, columns: Sequence[str]) -> str | None:
    """`.import` loads empty fields as ''; in non-TEXT columns that can only have been a null."""
    typed = [c for c in columns if _sql_type(cfg, name, c).upper() != "TEXT"]
    if not typed:
        return None
    return f"UPDATE {name} SET " + ", ".join(f"{c} = NULLIF({c}, '')" for c in typed) + ";"
