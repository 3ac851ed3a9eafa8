"""The lake invariants (REFERENCE_BEHAVIOUR §6.6, DESIGN §4) as small named DuckDB queries.

Every rule selects one VARCHAR column `key`, one row per row that breaks it. Tables are the
`TABLES` names plus `_file`, `_part_key`, `_part_value` (parsed from the path); `cfg_*` tables
exist only when a config was given. Money is decimal(12,2), so sums and differences are exact
and the rules compare with `=`, no tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ecomlake.plan.ids import CART_PREFIX, ORDER_PREFIX, RETURN_PREFIX
from ecomlake.render.registry import TABLES, TableSpec

ONLINE_AGENT = "ONLINE"
CSR_PATTERN = r"CSR-\d{4}"
CART_STATUSES = ("converted", "abandoned", "emptied")

# (child table, column, parent table, parent column): every FK of the lake.
FOREIGN_KEYS = (
    ("shopping_carts", "customer_id", "customers", "customer_id"),
    ("orders", "customer_id", "customers", "customer_id"),
    ("returns", "customer_id", "customers", "customer_id"),
    ("cart_items", "cart_id", "shopping_carts", "cart_id"),
    ("cart_items", "product_id", "product_catalog", "product_id"),
    ("order_items", "product_id", "product_catalog", "product_id"),
    ("return_items", "product_id", "product_catalog", "product_id"),
    ("order_items", "order_id", "orders", "order_id"),
    ("returns", "order_id", "orders", "order_id"),
    ("return_items", "order_id", "orders", "order_id"),
    ("return_items", "return_id", "returns", "return_id"),
)

# Parents whose ids are positions in the plan's time order: with `lake_outside` (id ranges the
# plan dates on days this lake does not hold, from verify/expected.py), a reference into one of
# those ranges is outside this lake, not broken.
SEQUENCE_PREFIXES = {
    "shopping_carts": CART_PREFIX,
    "orders": ORDER_PREFIX,
    "returns": RETURN_PREFIX,
}
OUTSIDE_TABLE = "lake_outside"

# Line tables live in their parent's partition, not in the one of their own timestamp.
PARENT_PARTITION = {
    "cart_items": ("shopping_carts", "cart_id"),
    "order_items": ("orders", "order_id"),
    "return_items": ("returns", "return_id"),
}


@dataclass(frozen=True)
class Rule:
    """One invariant: `sql` returns the keys of the rows that break `description`."""

    name: str
    description: str
    sql: str


def key_expr(spec: TableSpec, alias: str = "") -> str:
    """The table's primary key as one VARCHAR ('a/b' for composite keys, 'NULL' for nulls)."""
    prefix = f"{alias}." if alias else ""
    parts = [f"coalesce(CAST({prefix}{c} AS VARCHAR), 'NULL')" for c in spec.pk]
    return " || '/' || ".join(parts)


def _spec(name: str) -> TableSpec:
    return next(t for t in TABLES if t.name == name)


def rule(name: str, description: str, key: str, source: str, ok: str, cte: str = "") -> Rule:
    """A rule whose offending rows are those of `source` where `ok` is not TRUE (NULL breaks)."""
    return Rule(
        name, description, f"{cte}SELECT {key} AS key FROM {source} WHERE ({ok}) IS NOT TRUE"
    )


def pk_rules() -> list[Rule]:
    """Primary keys are unique and not null."""
    rules = []
    for spec in TABLES:
        cols = ", ".join(spec.pk)
        counted = f"(SELECT *, count(*) OVER (PARTITION BY {cols}) AS _n FROM {spec.name})"
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in spec.pk)
        what = f"{spec.name} ({cols}) unique and not null"
        rules.append(rule(spec.name, what, key_expr(spec), counted, f"_n = 1 AND {not_null}"))
    return rules


def fk_rules(with_lake: bool = False) -> list[Rule]:
    """Every foreign key resolves (guests included); `with_lake`: or points outside the lake."""
    rules = []
    for child, col, parent, parent_col in FOREIGN_KEYS:
        key = (
            f"{key_expr(_spec(child), 'c')} || ' -> ' || coalesce(CAST(c.{col} AS VARCHAR), 'NULL')"
        )
        found = f"EXISTS (SELECT 1 FROM {parent} p WHERE p.{parent_col} = c.{col})"
        what = f"{child}.{col} found in {parent}.{parent_col}"
        if with_lake and parent in SEQUENCE_PREFIXES:
            found = f"{found} OR {_outside_lake(parent, f'c.{col}')}"
            what += " (or dated outside this lake)"
        rules.append(rule(f"{child}.{col}", what, key, f"{child} c", found))
    return rules


def _seq(parent: str, value: str) -> str:
    """The sequence number in a `parent` id (NULL when `value` does not have its shape)."""
    return (
        f"TRY_CAST(regexp_extract({value}, '^{SEQUENCE_PREFIXES[parent]}([0-9]+)$', 1) AS BIGINT)"
    )


def _outside_lake(parent: str, value: str) -> str:
    """SQL: `value` is the id of a `parent` row the plan dates on a day this lake does not hold."""
    return (
        f"EXISTS (SELECT 1 FROM {OUTSIDE_TABLE} x WHERE x.parent = '{parent}' "
        f"AND {_seq(parent, value)} BETWEEN x.first_seq AND x.last_seq)"
    )


def outside_rules() -> list[Rule]:
    """References that resolve nowhere in the lake because the plan dates their row on a day
    the lake does not hold; each hit also carries that day range (`first_day`, `last_day`)."""
    rules = []
    for child, col, parent, parent_col in FOREIGN_KEYS:
        if parent not in SEQUENCE_PREFIXES:
            continue
        sql = (
            f"SELECT c.{col} AS key, x.first_day, x.last_day FROM {child} c "
            f"JOIN {OUTSIDE_TABLE} x ON x.parent = '{parent}' "
            f"AND {_seq(parent, f'c.{col}')} BETWEEN x.first_seq AND x.last_seq "
            f"WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{parent_col} = c.{col})"
        )
        rules.append(Rule(f"{child}.{col}", f"{child} → {parent}", sql))
    return rules


_CART_LINES = (
    "WITH s AS (SELECT cart_id, sum(quantity * unit_price) AS items_total, "
    "max(added_at) AS last_added FROM cart_items GROUP BY cart_id) "
)
_CART_WITH_LINES = "shopping_carts c LEFT JOIN s USING (cart_id)"
_ITEM_CART = "cart_items i JOIN shopping_carts c USING (cart_id)"


def cart_rules() -> list[Rule]:
    """Cart status, totals and timestamps agree with the cart's items."""
    statuses = ", ".join(f"'{s}'" for s in CART_STATUSES)
    item_key = "i.cart_id || '/' || i.cart_item_id"
    return [
        rule("status", f"status in ({statuses})", "cart_id", "shopping_carts",
             f"status IN ({statuses})"),
        rule("emptied_total", "emptied carts have cart_total 0", "cart_id", "shopping_carts",
             "status <> 'emptied' OR cart_total = 0"),
        rule("emptied_items", "emptied carts have no cart_items", item_key, _ITEM_CART,
             "c.status <> 'emptied'"),
        rule("total_matches_items", "cart_total = Σ quantity×unit_price of its items",
             "c.cart_id", _CART_WITH_LINES, "c.status = 'emptied' OR "
             "c.cart_total = coalesce(s.items_total, 0)", _CART_LINES),
        rule("updated_at",
             "updated_at = max(added_at), or created_at without items; ≥ created_at if emptied",
             "c.cart_id", _CART_WITH_LINES, "CASE WHEN c.status = 'emptied' THEN c.updated_at "
             ">= c.created_at ELSE c.updated_at = coalesce(s.last_added, c.created_at) END",
             _CART_LINES),
        rule("added_after_created", "cart_items.added_at ≥ its cart's created_at", item_key,
             _ITEM_CART, "i.added_at >= c.created_at"),
    ]  # fmt: skip


_CART_ORDER_JOIN = (
    "shopping_carts c LEFT JOIN orders o "
    "ON o.customer_id = c.customer_id AND o.order_date = c.created_at"
)


def funnel_rules() -> list[Rule]:
    """One order per converted cart, matched on (customer_id, order_date = created_at)."""
    return [
        Rule(
            "converted_cart_has_one_order",
            "each converted cart has exactly one order (same customer, order_date = created_at)",
            f"SELECT c.cart_id AS key FROM {_CART_ORDER_JOIN} WHERE c.status = 'converted' "
            "GROUP BY c.cart_id HAVING count(o.order_id) <> 1",
        ),
        rule("order_has_converted_cart",
             "each order matches a converted cart (same customer, created_at = order_date)",
             "o.order_id", "orders o", "EXISTS (SELECT 1 FROM shopping_carts c WHERE c.status "
             "= 'converted' AND c.customer_id = o.customer_id AND c.created_at = o.order_date)"),
        Rule(
            "order_count",
            "#orders = #converted carts (count = the difference)",
            "WITH n AS (SELECT (SELECT count(*) FROM orders) AS n_orders, (SELECT count(*) "
            "FROM shopping_carts WHERE status = 'converted') AS n_converted) "
            "SELECT 'orders=' || n_orders || ' converted=' || n_converted AS key "
            "FROM n, range(abs(n_orders - n_converted))",
        ),
        rule("gross_equals_cart_total", "order gross_total = its converted cart's cart_total",
             "o.order_id", _CART_ORDER_JOIN, "c.status <> 'converted' OR o.order_id IS NULL OR "
             "o.gross_total = c.cart_total"),
    ]  # fmt: skip


_ORDER_LINES = (
    "WITH li AS (SELECT order_id, sum(quantity * unit_price) AS gross, "
    "sum(discount_amount) AS discount, count(*) AS n FROM order_items GROUP BY order_id) "
)
_ORDER_WITH_LINES = "orders o LEFT JOIN li USING (order_id)"


def order_financial_rules(with_fee_rates: bool) -> list[Rule]:
    """Order money adds up: gross, discount, net, item count, fee."""
    rules = [
        rule("gross_total", "gross_total = Σ order_items quantity×unit_price",
             "o.order_id", _ORDER_WITH_LINES,
             "o.gross_total = coalesce(li.gross, 0)", _ORDER_LINES),
        rule("net_total", "net_total = gross_total − total_discount_amount",
             "order_id", "orders",
             "net_total = gross_total - total_discount_amount"),
        rule("discount_total",
             "total_discount_amount = Σ order_items.discount_amount and ≥ 0",
             "o.order_id", _ORDER_WITH_LINES, "o.total_discount_amount >= 0 AND "
             "o.total_discount_amount = coalesce(li.discount, 0)",
             _ORDER_LINES),
        rule("total_items", "total_items = number of the order's order_items rows",
             "o.order_id", _ORDER_WITH_LINES, "o.total_items = coalesce(li.n, 0)", _ORDER_LINES),
        rule("costs_nonnegative",
             "actual_shipping_cost, shipping_cost and payment_processing_fee ≥ 0",
             "order_id", "orders", "actual_shipping_cost >= 0 AND shipping_cost >= 0 "
             "AND payment_processing_fee >= 0"),
    ]  # fmt: skip
    if with_fee_rates:  # the rate is a float: cents × rate in double, ties to even, as rendered
        rules.append(
            rule("processing_fee",
                 "payment_processing_fee = round(net_total × rate[payment_method], 2)",
                 "o.order_id", "orders o LEFT JOIN cfg_fee_rates f USING (payment_method)",
                 "o.payment_processing_fee * 100 = "
                 "round_even(CAST(o.net_total * 100 AS BIGINT) * f.rate, 0)")
        )  # fmt: skip
    return rules


def order_item_rules() -> list[Rule]:
    """Order lines carry catalog prices and sane quantities and discounts."""
    key = "oi.order_id || '/' || oi.product_id"
    return [
        rule("catalog_prices", "unit_price and cost_price = the catalog's", key,
             "order_items oi JOIN product_catalog p USING (product_id)",
             "oi.unit_price = p.unit_price AND oi.cost_price = p.cost_price"),
        rule("quantity", "quantity ≥ 1", key, "order_items oi", "oi.quantity >= 1"),
        rule("discount", "0 ≤ discount_amount ≤ quantity×unit_price", key, "order_items oi",
             "oi.discount_amount >= 0 AND "
             "oi.discount_amount <= oi.quantity * oi.unit_price"),
    ]  # fmt: skip


_RETURN_LINES = (
    "WITH ri AS (SELECT return_id, sum(refunded_amount) AS refunded, count(*) AS n "
    "FROM return_items GROUP BY return_id) "
)
_RETURN_WITH_LINES = "returns r LEFT JOIN ri USING (return_id)"
_RETURN_ORDER = "returns r JOIN orders o USING (order_id)"


def return_rules(with_window: bool) -> list[Rule]:
    """Return headers: refund = Σ lines, dated after the order, copied from the order."""
    rules = [
        rule("refund_matches_items", "refunded_amount = Σ return_items.refunded_amount",
             "r.return_id", _RETURN_WITH_LINES,
             "r.refunded_amount = coalesce(ri.refunded, 0)", _RETURN_LINES),
        rule("has_items", "every return has at least one return_items row", "r.return_id",
             _RETURN_WITH_LINES, "ri.n >= 1", _RETURN_LINES),
        rule("after_order", "return_date ≥ date(order_date) + 1 day", "r.return_id",
             _RETURN_ORDER, "r.return_date >= CAST(o.order_date AS DATE) + 1"),
        rule("copied_from_order",
             "refund_method = payment_method; customer_id and email = the order's",
             "r.return_id", _RETURN_ORDER, "r.refund_method = o.payment_method AND "
             "r.customer_id = o.customer_id AND r.email IS NOT DISTINCT FROM o.email"),
    ]  # fmt: skip
    if with_window:
        rules.append(
            rule("within_window", "return_date ≤ the world's end date", "r.return_id",
                 "returns r, cfg_window w", "r.return_date <= w.end_date")
        )  # fmt: skip
    return rules


def return_item_rules(with_lake: bool = False) -> list[Rule]:
    """Return lines: an ordered line, at most once, never refunding more than was paid;
    `with_lake`: a line of an order dated outside the lake is not looked for."""
    key = "CAST(ri.return_item_id AS VARCHAR)"
    line = "return_items ri JOIN order_items oi USING (order_id, product_id)"
    ordered = "oi.order_id IS NOT NULL"
    if with_lake:
        ordered += f" OR {_outside_lake('orders', 'ri.order_id')}"
    return [
        rule("ordered_line", "(order_id, product_id) is a line of order_items", key,
             "return_items ri LEFT JOIN order_items oi USING (order_id, product_id)", ordered),
        rule("quantity", "1 ≤ quantity_returned ≤ ordered quantity", key, line,
             "ri.quantity_returned BETWEEN 1 AND oi.quantity"),
        # the refund is the paid share rounded to the cent: at most half a cent above it,
        # multiplied out by 2 × quantity so the comparison stays in exact decimals
        rule("refund_within_paid",
             "0 ≤ refunded_amount ≤ round((unit_price×quantity − discount)×quantity_returned"
             "/quantity, 2)", key, line, "ri.refunded_amount >= 0 AND 2 * oi.quantity * "
             "ri.refunded_amount <= 2 * (oi.unit_price * oi.quantity - oi.discount_amount) * "
             "ri.quantity_returned + 0.01 * oi.quantity"),
        rule("prices_match_order_line", "unit_price and cost_price = the order line's", key,
             line, "ri.unit_price = oi.unit_price AND ri.cost_price = oi.cost_price"),
        rule("returned_once", "an (order_id, product_id) line is returned at most once",
             "order_id || '/' || product_id", "(SELECT order_id, product_id, count(*) OVER "
             "(PARTITION BY order_id, product_id) AS n FROM return_items)", "n = 1"),
        rule("same_order_as_return", "return_items.order_id = its return's order_id", key,
             "return_items ri JOIN returns r ON r.return_id = ri.return_id",
             "ri.order_id = r.order_id"),
    ]  # fmt: skip


def _agent_ok(channel: str, phone_ok: str) -> str:
    return (
        f"CASE WHEN lower(trim({channel})) = 'phone' THEN {phone_ok} "
        f"ELSE agent_id = '{ONLINE_AGENT}' END"
    )


def agent_rules(with_agent_list: bool) -> list[Rule]:
    """Phone orders and returns carry a CSR id, everything else carries ONLINE."""
    if with_agent_list:  # an empty agent list staffs phone orders with ONLINE
        phone_ok = (
            "(agent_id IN (SELECT agent_id FROM cfg_agents) OR ((SELECT count(*) "
            f"FROM cfg_agents) = 0 AND agent_id = '{ONLINE_AGENT}'))"
        )
        what = "a configured agent id"
    else:
        phone_ok = f"regexp_full_match(agent_id, '{CSR_PATTERN}')"
        what = f"an id matching {CSR_PATTERN}"
    shown = "coalesce({}, 'NULL') || ', ' || coalesce(agent_id, 'NULL') || ')'"
    return [
        rule("orders", f"order_channel Phone ⇒ agent_id is {what}, else '{ONLINE_AGENT}'",
             "order_id || ' (' || " + shown.format("order_channel"), "orders",
             _agent_ok("order_channel", phone_ok)),
        rule("returns", f"return_channel Phone ⇒ agent_id is {what}, else '{ONLINE_AGENT}'",
             "return_id || ' (' || " + shown.format("return_channel"), "returns",
             _agent_ok("return_channel", phone_ok)),
        rule("return_keeps_order_agent",
             "a return on the order's own channel keeps the order's agent_id", "r.return_id",
             _RETURN_ORDER, "r.return_channel <> o.order_channel OR r.agent_id = o.agent_id"),
    ]  # fmt: skip


def channel_rules() -> list[Rule]:
    """Config `channel_rules`: payment methods per order channel, return channel (needs cfg)."""
    allowed = "cfg_allowed_payment"
    return [
        rule("payment_method", "payment_method is allowed for the order_channel",
             "o.order_id || ' (' || o.order_channel || ', ' || o.payment_method || ')'",
             "orders o", f"o.order_channel NOT IN (SELECT order_channel FROM {allowed}) OR "
             f"EXISTS (SELECT 1 FROM {allowed} a WHERE a.order_channel = o.order_channel "
             "AND a.payment_method = o.payment_method)"),
        rule("return_channel",
             "return_channel = return_channel_preference of the order channel, else the channel",
             "r.return_id", _RETURN_ORDER, "r.return_channel = coalesce((SELECT "
             "p.return_channel FROM cfg_return_channel p WHERE p.order_channel = "
             "o.order_channel), o.order_channel)"),
    ]  # fmt: skip


def signup_rules() -> list[Rule]:
    """No cart and no order before the customer's signup_date (date level)."""
    return [
        rule(table, f"date({table}.{ts}) ≥ customers.signup_date", f"t.{key}",
             f"{table} t JOIN customers c USING (customer_id)",
             f"CAST(t.{ts} AS DATE) >= c.signup_date")
        for table, key, ts in (
            ("shopping_carts", "cart_id", "created_at"), ("orders", "order_id", "order_date")
        )
    ]  # fmt: skip


def _value_expr(spec: TableSpec, column: str) -> str:
    """The partition value a row's own column implies, as the path spells it."""
    kind = spec.schema.field(column).type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return f"strftime(CAST({column} AS DATE), '%Y-%m-%d')"
    return f"CAST({column} AS VARCHAR)"


def partition_rules() -> list[Rule]:
    """Each row sits in the partition named by its own date/category, lines with their parent."""
    rules = []
    for spec in TABLES:
        key = f"{key_expr(spec, 't')} || ' in ' || coalesce(t._part_value, 'NULL')"
        key_ok = f"t._part_key = '{spec.partition_key}'"
        if spec.name in PARENT_PARTITION:
            parent, fk = PARENT_PARTITION[spec.name]
            source = f"{spec.name} t JOIN {parent} p ON p.{fk} = t.{fk}"
            ok = f"{key_ok} AND t._part_value = p._part_value"
            what = f"{spec.name} in its {parent} row's partition"
        else:
            column = spec.partition_column or spec.event_date_column
            source = f"(SELECT *, {_value_expr(spec, column)} AS _own FROM {spec.name}) t"
            ok = f"{key_ok} AND t._part_value = t._own"
            what = f"{spec.name} in partition {spec.partition_key}=<{column}>"
        rules.append(rule(spec.name, what, key, source, ok))
    return rules
