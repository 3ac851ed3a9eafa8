"""The `ecomlake verify` invariant checks each defect is expected to break (and no others);
messiness/registry.py gives each defect its list.

Names are `<family>.<rule>` as verify reports them. The lists were found by generating the quick
world with one defect at a time and kept to what each defect can cause; every other check must
keep holding at every level (tests/messiness check both ways).
"""

from __future__ import annotations

from ecomlake.render.registry import TABLE_NAMES

STYLISTIC = (
    "carts.status",  # 'Converted ' is not a known status
    "carts.updated_at",  # a dirty 'emptied' is checked like a cart with items
    "funnel.order_has_converted_cart",  # the cart's status no longer reads 'converted'
    "funnel.order_count",
    "order_financials.processing_fee",  # a dirty payment_method has no fee rate
    "returns.copied_from_order",  # refund_method = payment_method compares dirty text
    "channel_rules.payment_method",
    "channel_rules.return_channel",
)
NULLS = (
    "carts.updated_at",  # updated_at or an item's added_at is missing
    "carts.added_after_created",
    "agents.orders",  # agent_id is missing
    "agents.returns",
    "agents.return_keeps_order_agent",
)
COPIES = (
    *(f"pk.{table}" for table in TABLE_NAMES),  # a copy repeats its original's key
    "carts.total_matches_items",  # a copied item counts twice in its cart's total
    "funnel.converted_cart_has_one_order",
    "funnel.order_count",
    "order_financials.gross_total",
    "order_financials.discount_total",
    "order_financials.total_items",
    "return_items.returned_once",
    "returns.refund_matches_items",
)
NEAR_COPIES = (
    *COPIES,  # and the copy's swapped-case status, payment method or reason is unknown
    "carts.status",
    "carts.updated_at",
    "channel_rules.payment_method",
    "order_financials.processing_fee",
    "returns.copied_from_order",
)
ORPHANS = (
    "fk.shopping_carts.customer_id",
    "fk.cart_items.product_id",
    "fk.orders.customer_id",
    "fk.returns.order_id",
    "fk.return_items.product_id",
    "funnel.converted_cart_has_one_order",  # the cart's or order's customer no longer matches
    "funnel.order_has_converted_cart",
    "return_items.ordered_line",  # the product or order is not the one sold
    "return_items.same_order_as_return",
    "returns.copied_from_order",
)
OUT_OF_RANGE = (
    "carts.total_matches_items",
    "order_financials.costs_nonnegative",
    "order_financials.gross_total",
    "order_items.discount",
    "order_items.quantity",
    "return_items.quantity",
    "return_items.refund_within_paid",
    "returns.refund_matches_items",
)
LATE = tuple(  # a late row sits in a later ingest_dt than its own date
    f"partition_dates.{t}"
    for t in ("shopping_carts", "cart_items", "orders", "order_items", "returns", "return_items")
)
# Checks a late row missing from the lake can break: a lake that stops before the world's end
# lacks the rows due after its last day; one that starts after the world's start has rows whose
# same-day parents or children it lacks.
LATE_CUT_OFF = (
    "fk.cart_items.cart_id",
    "fk.order_items.order_id",
    "fk.return_items.return_id",
    "carts.total_matches_items",
    "carts.updated_at",
    "funnel.converted_cart_has_one_order",
    "funnel.order_count",
    "funnel.order_has_converted_cart",
    "order_financials.gross_total",
    "order_financials.discount_total",
    "order_financials.total_items",
    "returns.has_items",
    "returns.refund_matches_items",
)
SPIKE = ("order_financials.total_items",)
TYPOS = ("returns.copied_from_order",)  # the order's email has the typo
