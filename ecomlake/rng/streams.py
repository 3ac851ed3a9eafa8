"""Every random stream's name, defined once. Names are `<stage>.<entity>.<field>`.

Renaming or reusing a name changes the data; adding a new one never shifts another stream.
"""

# customers (plan)
CUSTOMER_SIGNUP = "plan.customer.signup_day"
CUSTOMER_CHANNEL = "plan.customer.signup_channel"
CUSTOMER_HAS_TIER = "plan.customer.has_tier"
CUSTOMER_TIER = "plan.customer.initial_tier"
CUSTOMER_ENROLLMENT = "plan.customer.enrollment_day"
CUSTOMER_SHOPPER = "plan.customer.initial_shopper"

# customers (render)
CUSTOMER_FIRST_NAME = "render.customers.first_name"
CUSTOMER_LAST_NAME = "render.customers.last_name"
CUSTOMER_EMAIL_DOMAIN = "render.customers.email_domain"
CUSTOMER_PHONE = "render.customers.phone_number"
CUSTOMER_PHONE_FORMAT = "render.customers.phone_format"
CUSTOMER_STREET_NUMBER = "render.customers.street_number"
CUSTOMER_STREET = "render.customers.street"
CUSTOMER_CITY = "render.customers.city"
CUSTOMER_ZIP = "render.customers.zip"
CUSTOMER_GENDER_UNKNOWN = "render.customers.gender_unknown"
CUSTOMER_GENDER = "render.customers.gender"
CUSTOMER_AGE = "render.customers.age"
CUSTOMER_STATUS = "render.customers.customer_status"
CUSTOMER_EMAIL_VERIFIED = "render.customers.email_verified"
CUSTOMER_MARKETING = "render.customers.marketing_opt_in"
GUEST_CONTACT_REUSE = "render.customers.guest_contact_reuse"
GUEST_CONTACT_PICK = "render.customers.guest_contact_pick"

# catalog (plan)
PRODUCT_CATEGORY = "plan.product.category"
PRODUCT_ADJECTIVE = "plan.product.adjective"
PRODUCT_NOUN = "plan.product.noun"
PRODUCT_PRICE = "plan.product.unit_price"
PRODUCT_MARGIN = "plan.product.cost_margin"
PRODUCT_INVENTORY = "plan.product.inventory_quantity"

# visits (plan)
VISIT_FIRST_DELAY = "plan.visit.first_delay"
VISIT_FIRST_FALLBACK = "plan.visit.first_fallback_day"
VISIT_TIME_OF_DAY = "plan.visit.time_of_day"
VISIT_REPEAT_COUNT = "plan.visit.repeat_count"
VISIT_GAP = "plan.visit.gap"
VISIT_REACTIVATION = "plan.visit.reactivation"
VISIT_REACTIVATION_DELAY = "plan.visit.reactivation_delay"
VISIT_SEASONAL_EXTRA = "plan.visit.seasonal_extra"
VISIT_SEASONAL_DAYS = "plan.visit.seasonal_offset_days"
VISIT_SEASONAL_HOURS = "plan.visit.seasonal_offset_hours"

# carts and lines (plan, re-derived in render)
CART_LINE_COUNT = "plan.cart.line_count"
CART_CONVERSION = "plan.cart.conversion"
CART_EMPTIED = "plan.cart.emptied"
LINE_CATEGORY = "plan.line.category"
LINE_PRODUCT = "plan.line.product"
LINE_QUANTITY = "plan.line.quantity"
LINE_SECONDS = "plan.line.seconds_after_previous"
LINE_DISCOUNTED = "render.line.discounted"
LINE_DISCOUNT_PCT = "render.line.discount_pct"

# orders (render)
ORDER_CHANNEL = "render.orders.order_channel"
ORDER_PAYMENT = "render.orders.payment_method"
ORDER_SPEED = "render.orders.shipping_speed"
ORDER_SHIPPING_VARIANCE = "render.orders.actual_shipping_cost"
ORDER_AGENT = "render.orders.agent_id"
ORDER_EXPEDITED = "render.orders.is_expedited"

# returns (plan and render)
RETURN_HAPPENS = "plan.return.happens"
RETURN_SECOND = "plan.return.second"
RETURN_BUCKET = "plan.return.delay_bucket"
RETURN_DELAY = "plan.return.delay_days"
RETURN_REASON = "plan.return.reason"
RETURN_FULL = "plan.return.full"
RETURN_LINE_COUNT = "plan.return.line_count"
RETURN_LINE_PRIORITY = "render.return_items.line_priority"
RETURN_PARTIAL = "render.return_items.partial_quantity"
RETURN_PARTIAL_QTY = "render.return_items.quantity_returned"
RETURN_AGENT = "render.returns.agent_id"

# messiness (after render): cell streams are keyed by the row's primary key, indexed by column
MESS_WHITESPACE = "mess.cell.whitespace"
MESS_WHITESPACE_PAD = "mess.cell.whitespace_pad"
MESS_CASING = "mess.cell.casing"
MESS_CASING_STYLE = "mess.cell.casing_style"
MESS_NULL = "mess.cell.null"
MESS_SPIKE_MONTH = "mess.orders.total_items.spike_month"
MESS_REASON_BIAS = "mess.returns.reason.bias"
MESS_REASON_PICK = "mess.returns.reason.bias_pick"
MESS_TYPO = "mess.cell.typo"
MESS_TYPO_EDIT = "mess.cell.typo_edit"
MESS_TYPO_POSITION = "mess.cell.typo_position"
MESS_ORPHAN = "mess.cell.orphan_fk"
MESS_ORPHAN_VALUE = "mess.cell.orphan_fk_value"
MESS_RANGE = "mess.cell.out_of_range"
MESS_RANGE_KIND = "mess.cell.out_of_range_kind"
MESS_STALE = "mess.cell.stale_dimension"
MESS_FORMAT = "mess.cell.format_drift"
MESS_FORMAT_STYLE = "mess.cell.format_drift_style"
# messiness on rows: keyed by the row's primary key, indexed by the table
MESS_DUPLICATE = "mess.row.duplicate"
MESS_LATE = "mess.row.late_arrival"
MESS_LATE_DAYS = "mess.row.late_arrival_days"


def all_streams() -> dict[str, str]:
    """Constant name -> stream name, for the uniqueness test."""
    return {k: v for k, v in globals().items() if k.isupper() and isinstance(v, str)}
