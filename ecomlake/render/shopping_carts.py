"""shopping_carts: carts created today. Totals and updated_at come from the same lines that
cart_items writes; emptied carts keep their updated_at but show a zero total.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ecomlake.plan.carts import EMPTIED, STATUSES
from ecomlake.plan.ids import cart_ids, customer_ids, sequence
from ecomlake.plan.lines import cart_sums
from ecomlake.render import schemas
from ecomlake.render.columns import labels, money, table, timestamps
from ecomlake.render.context import DayContext


def render(ctx: DayContext) -> pa.Table:
    world, pos = ctx.world, ctx.cart_positions
    plan = world.carts
    total, last = cart_sums(ctx.cart_lines, len(pos))
    status = plan.status[pos]
    created = plan.ts_us[pos]
    return table(
        schemas.SHOPPING_CARTS,
        {
            "cart_id": cart_ids(sequence(plan, pos)),
            "customer_id": customer_ids(
                plan.customer[pos],
                world.customers.n_registered,
                world.config.parameters.customer_id_start,
            ),
            "created_at": timestamps(created),
            "updated_at": timestamps(np.where(last >= 0, last, created)),
            "cart_total": money(np.where(status == EMPTIED, 0, total)),
            "status": labels(STATUSES, status),
        },
    )
