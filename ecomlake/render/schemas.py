"""The eight lake tables' Arrow schemas, columns in the reference order (docs/data-model.md)."""

from __future__ import annotations

import pyarrow as pa

from ecomlake.render.columns import MONEY as _M
from ecomlake.render.columns import TIMESTAMP as _TS

_S, _I, _B, _D = pa.string(), pa.int64(), pa.bool_(), pa.date32()


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind in fields])


CUSTOMERS = _schema(
    ("customer_id", _S),
    ("first_name", _S),
    ("last_name", _S),
    ("email", _S),
    ("phone_number", _S),
    ("signup_date", _D),
    ("gender", _S),
    ("age", _I),
    ("is_guest", _B),
    ("customer_status", _S),
    ("signup_channel", _S),
    ("loyalty_tier", _S),
    ("initial_loyalty_tier", _S),
    ("email_verified", _B),
    ("marketing_opt_in", _B),
    ("mailing_address", _S),
    ("billing_address", _S),
    ("loyalty_enrollment_date", _D),
    ("clv_bucket", _S),
)

PRODUCT_CATALOG = _schema(
    ("product_id", _I),
    ("product_name", _S),
    ("category", _S),
    ("unit_price", _M),
    ("cost_price", _M),
    ("inventory_quantity", _I),
)

SHOPPING_CARTS = _schema(
    ("cart_id", _S),
    ("customer_id", _S),
    ("created_at", _TS),
    ("updated_at", _TS),
    ("cart_total", _M),
    ("status", _S),
)

CART_ITEMS = _schema(
    ("cart_item_id", _I),
    ("cart_id", _S),
    ("product_id", _I),
    ("product_name", _S),
    ("category", _S),
    ("added_at", _TS),
    ("quantity", _I),
    ("unit_price", _M),
)

ORDERS = _schema(
    ("order_id", _S),
    ("total_items", _I),
    ("order_date", _TS),
    ("customer_id", _S),
    ("email", _S),
    ("order_channel", _S),
    ("is_expedited", _B),
    ("customer_tier", _S),
    ("gross_total", _M),
    ("net_total", _M),
    ("total_discount_amount", _M),
    ("payment_method", _S),
    ("shipping_speed", _S),
    ("shipping_cost", _M),
    ("agent_id", _S),
    ("actual_shipping_cost", _M),
    ("payment_processing_fee", _M),
    ("shipping_address", _S),
    ("billing_address", _S),
    ("clv_bucket", _S),
    ("is_reactivated", _B),
)

ORDER_ITEMS = _schema(
    ("order_id", _S),
    ("product_id", _I),
    ("product_name", _S),
    ("category", _S),
    ("quantity", _I),
    ("unit_price", _M),
    ("discount_amount", _M),
    ("cost_price", _M),
)

RETURNS = _schema(
    ("return_id", _S),
    ("order_id", _S),
    ("customer_id", _S),
    ("email", _S),
    ("return_date", _D),
    ("reason", _S),
    ("return_type", _S),
    ("refunded_amount", _M),
    ("return_channel", _S),
    ("agent_id", _S),
    ("refund_method", _S),
)

RETURN_ITEMS = _schema(
    ("return_item_id", _I),
    ("return_id", _S),
    ("order_id", _S),
    ("product_id", _I),
    ("product_name", _S),
    ("category", _S),
    ("quantity_returned", _I),
    ("unit_price", _M),
    ("cost_price", _M),
    ("refunded_amount", _M),
)
