"""The ordered list of lake tables: how each is rendered, keyed, partitioned and dated.

The only place that knows the tables; executors, writer, verify and CLI iterate `TABLES`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
from ecomlake.plan.calendar import day_date
from ecomlake.render import (
    cart_items,
    customers,
    order_items,
    orders,
    product_catalog,
    return_items,
    returns,
    schemas,
    shopping_carts,
)
from ecomlake.render.context import DayContext

INGEST_KEY = "ingest_dt"
# A partition key is never a data column: readers that add the path's key=value as a column
# (pandas, pyarrow, polars, Ray) would otherwise have to merge a path string with the file's
# typed column, and refuse to (docs/architecture.md).
SIGNUP_KEY = "signup_dt"
CATEGORY_KEY = "category_key"


@dataclass(frozen=True)
class TableSpec:
    """A lake table: renderer, schema, primary key and partitioning.

    `partition_column` names the data column whose value picks the partition (dimensions),
    under the separate `partition_key`; None means the whole day's table goes to
    `ingest_dt=<day>`. `partitions` lists the values a day's task owns, before rendering (so
    that committed ones need no rendering).
    """

    name: str
    render: Callable[[DayContext], pa.Table]
    schema: pa.Schema
    pk: tuple[str, ...]
    partition_key: str = INGEST_KEY
    partition_column: str | None = None
    event_date_column: str | None = None
    partitions: Callable[[DayContext], list[str]] = lambda ctx: [ctx.day_iso]

    def event_column_in(self, data: pa.Table) -> str | None:
        """The event-date column a manifest records the range of, if `data` carries it (a
        config may leave it out of the output columns)."""
        column = self.event_date_column
        return column if column is not None and column in data.column_names else None


def _signup_partitions(ctx: DayContext) -> list[str]:
    """The customer partitions the task owns (see run/days.py for who owns what)."""
    return [day_date(d).isoformat() for d in ctx.signup_days]


def without_signups(ctx: DayContext, committed: set[str]) -> DayContext:
    """The context minus the customer partitions in `committed`: only customers render them,
    and a scheduled run into a lake whose earlier signup days are written would otherwise
    render every earlier customer again to write one day's."""
    keep = tuple(d for d in ctx.signup_days if day_date(d).isoformat() not in committed)
    if len(keep) == len(ctx.signup_days):
        return ctx
    return DayContext(ctx.world, ctx.day, keep, ctx.owns_catalog)


def _category_partitions(ctx: DayContext) -> list[str]:
    """Every category with products, for the one task that owns the catalog."""
    if not ctx.owns_catalog:
        return []
    counts = ctx.world.catalog.category_counts()
    return [c for c, n in zip(ctx.world.lexicon.categories, counts, strict=True) if n > 0]


SIGNUP_TABLE = "customers"  # the one table partitioned by the task's signup days
CATALOG_TABLE = "product_catalog"  # the one table written whole by the task owning the catalog

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        SIGNUP_TABLE,
        customers.render,
        schemas.CUSTOMERS,
        ("customer_id",),
        partition_key=SIGNUP_KEY,
        partition_column="signup_date",
        event_date_column="signup_date",
        partitions=_signup_partitions,
    ),
    TableSpec(
        CATALOG_TABLE,
        product_catalog.render,
        schemas.PRODUCT_CATALOG,
        ("product_id",),
        partition_key=CATEGORY_KEY,
        partition_column="category",
        partitions=_category_partitions,
    ),
    TableSpec(
        "shopping_carts",
        shopping_carts.render,
        schemas.SHOPPING_CARTS,
        ("cart_id",),
        event_date_column="created_at",
    ),
    TableSpec(
        "cart_items",
        cart_items.render,
        schemas.CART_ITEMS,
        ("cart_item_id",),
        event_date_column="added_at",
    ),
    TableSpec(
        "orders", orders.render, schemas.ORDERS, ("order_id",), event_date_column="order_date"
    ),
    TableSpec("order_items", order_items.render, schemas.ORDER_ITEMS, ("order_id", "product_id")),
    TableSpec(
        "returns", returns.render, schemas.RETURNS, ("return_id",), event_date_column="return_date"
    ),
    TableSpec("return_items", return_items.render, schemas.RETURN_ITEMS, ("return_item_id",)),
)

TABLE_NAMES = tuple(t.name for t in TABLES)


def output_columns(cfg: EcomConfig, spec: TableSpec) -> tuple[str, ...]:
    """The columns written for a table: the YAML `tables[].columns` list, in its order.

    A table without a column list (or absent from `tables`) keeps the full schema. Keys and
    the partition column cannot be dropped; unknown names (of tables or columns) are an error
    naming the YAML path.
    """
    for i, entry in enumerate(cfg.tables):  # a misspelt name would drop its column list
        if entry.name not in TABLE_NAMES:
            close = difflib.get_close_matches(entry.name, TABLE_NAMES, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(TABLE_NAMES)
            raise ConfigError(f"tables[{i}].name: no table {entry.name!r} ({hint}tables: {known})")
    index = next((i for i, t in enumerate(cfg.tables) if t.name == spec.name), None)
    if index is None or not cfg.tables[index].columns:
        return tuple(spec.schema.names)
    names = tuple(c.name for c in cfg.tables[index].columns)
    for j, name in enumerate(names):
        if name not in spec.schema.names:
            raise ConfigError(
                f"tables[{index}].columns[{j}].name: {spec.name} has no column {name!r}"
            )
    required = [*spec.pk, *([spec.partition_column] if spec.partition_column else [])]
    for name in required:
        if name not in names:
            raise ConfigError(
                f"tables[{index}].columns: must keep {spec.name}'s key column {name!r}"
            )
    return names


def table_spec(name: str) -> TableSpec:
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(name)
