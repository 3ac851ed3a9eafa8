"""Which `ecomlake verify` invariant checks each defect is expected to break (and no others).

Names are `<family>.<rule>` as verify reports them. The lists were found by generating the quick
world with one defect at a time and kept to what each defect can cause; every other check must
keep holding at every level (tests/messiness check both ways).
"""

from __future__ import annotations

from ecomlake.messiness.levels import MessLevel
from ecomlake.render.registry import TABLE_NAMES

_STYLISTIC = (
    "carts.status",  # 'Converted ' is not a known status
    "carts.updated_at",  # a dirty 'emptied' is checked like a cart with items
    "funnel.order_has_converted_cart",  # the cart's status no longer reads 'converted'
    "funnel.order_count",
    "order_financials.processing_fee",  # a dirty payment_method has no fee rate
    "returns.copied_from_order",  # refund_method = payment_method compares dirty text
    "channel_rules.payment_method",
    "channel_rules.return_channel",
)
_NULLS = (
    "carts.updated_at",  # updated_at or an item's added_at is missing
    "carts.added_after_created",
    "agents.orders",  # agent_id is missing
    "agents.returns",
    "agents.return_keeps_order_agent",
)
_COPIES = (
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
_NEAR_COPIES = (
    *_COPIES,  # and the copy's swapped-case status, payment method or reason is unknown
    "carts.status",
    "carts.updated_at",
    "channel_rules.payment_method",
    "order_financials.processing_fee",
    "returns.copied_from_order",
)
_ORPHANS = (
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
_OUT_OF_RANGE = (
    "carts.total_matches_items",
    "order_financials.costs_nonnegative",
    "order_financials.gross_total",
    "order_items.discount",
    "order_items.quantity",
    "return_items.quantity",
    "return_items.refund_within_paid",
    "returns.refund_matches_items",
)
_LATE = tuple(  # a late row sits in a later ingest_dt than its own date
    f"partition_dates.{t}"
    for t in ("shopping_carts", "cart_items", "orders", "order_items", "returns", "return_items")
)
# Checks a late row missing from the lake can break: a lake that stops before the world's end
# lacks the rows due after its last day; one that starts after the world's start has rows whose
# same-day parents or children it lacks.
_LATE_CUT_OFF = (
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
# defect -> (the MessLevel rate that switches it on, the checks it may break)
BREAKS_BY_DEFECT: dict[str, tuple[str, tuple[str, ...]]] = {
    "whitespace": ("whitespace", _STYLISTIC),
    "casing": ("casing", _STYLISTIC),
    "null": ("nulls", _NULLS),
    "reason_bias": ("reason_bias", ()),  # reasons are free text to verify
    "typo": ("typos", ("returns.copied_from_order",)),  # the order's email has the typo
    "stale_dimension": ("stale_dimension", ()),  # tiers and buckets are not checked
    "orphan_fk": ("orphan_fk", _ORPHANS),
    "out_of_range": ("out_of_range", _OUT_OF_RANGE),
    "duplicate": ("duplicates", _COPIES),
    "near_duplicate": ("near_duplicates", _NEAR_COPIES),
    "late_arrival": ("late_arrival", _LATE),
}
SPIKE_BREAKS = ("order_financials.total_items",)


def expected_breaks(
    level: MessLevel | None, spike: bool | None = None, late_cut_off: bool = False
) -> frozenset[str]:
    """Checks a lake at `level` may fail; `spike` says whether a spiked month is in the lake
    (default: whether the level spikes at all); `late_cut_off` that some late rows belong to
    days the lake does not hold."""
    if level is None:
        return frozenset()
    spiked = level.sales_spike_factor != 1.0 if spike is None else spike
    found = set(SPIKE_BREAKS if spiked else ())
    if late_cut_off and level.late_arrival > 0:
        found.update(_LATE_CUT_OFF)
    for rate, checks in BREAKS_BY_DEFECT.values():
        if getattr(level, rate) > 0:
            found.update(checks)
    return frozenset(found)
