"""Which `ecomlake verify` invariant checks each defect is expected to break (and no others).

Names are `<family>.<rule>` as verify reports them; PK, FK, money sums, dates and signup order
are never touched by this step's defects, so they must keep holding at every level.
"""

from __future__ import annotations

from ecomlake.messiness.levels import MessLevel

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
BREAKS_BY_DEFECT: dict[str, tuple[str, ...]] = {
    "whitespace": _STYLISTIC,
    "casing": _STYLISTIC,
    "null": _NULLS,
    "sales_spike": ("order_financials.total_items",),
    "reason_bias": (),  # reasons are free text to verify
}


def expected_breaks(level: MessLevel | None, spike: bool | None = None) -> frozenset[str]:
    """Checks a lake at `level` may fail; `spike` says whether a spiked month is in the lake
    (default: whether the level spikes at all)."""
    if level is None:
        return frozenset()
    active = {
        "whitespace": level.whitespace > 0,
        "casing": level.casing > 0,
        "null": level.nulls > 0,
        "sales_spike": level.sales_spike_factor != 1.0 if spike is None else spike,
        "reason_bias": level.reason_bias > 0,
    }
    return frozenset(c for name, on in active.items() if on for c in BREAKS_BY_DEFECT[name])
