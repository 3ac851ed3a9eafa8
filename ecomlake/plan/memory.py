"""How much memory a world's plan takes, against this machine's: a world a few zeros too big is
refused (or its plan check skipped) up front, instead of planning for hours and running out.

A plan in one piece, or blocks planned in one process, grows about 0.35 GB per million
customers (docs/performance.md). Blocks planned on Ray leave their pieces in the object store;
the driver keeps, per block, one priority histogram (512 KiB, the shopper cut's first round)
and its per-day counts.
"""

from __future__ import annotations

import os

from ecomlake.config import EcomConfig

PLAN_BYTES_PER_CUSTOMER = 350
BLOCK_DRIVER_BYTES = 640 * 1024
# The catalog's arrays and, on the first day, its rendered table: every process holds it whole.
CATALOG_BYTES_PER_PRODUCT = 256


def plan_too_big(cfg: EcomConfig, blocks: int = 0) -> str | None:
    """Why this world's plan cannot fit this machine's memory, or None. `blocks`: customers per
    block when blocks are planned elsewhere (on Ray), 0 when the whole plan is held here."""
    have = physical_memory()
    customers = cfg.lookup_config.customers.num_customers
    if blocks:
        count = -(-customers // blocks)
        need, held = count * BLOCK_DRIVER_BYTES, f"the driver's summaries of its {count:,} blocks"
    else:
        need, held = customers * PLAN_BYTES_PER_CUSTOMER, "its plan, built in this process,"
    if have is None or need <= have:
        return None
    return (
        f"{customers:,} customers: {held} would take about {need / 2**30:,.1f} GiB, more than "
        f"this machine's {have / 2**30:,.1f} GiB"
    )


def catalog_too_big(cfg: EcomConfig) -> str | None:
    """Why this world's product catalog cannot fit this machine, naming the YAML field, or None.
    The driver and each worker hold it whole, so it gets half the memory."""
    have = physical_memory()
    products = cfg.lookup_config.product_catalog.num_products
    need = products * CATALOG_BYTES_PER_PRODUCT
    if have is None or need <= have // 2:
        return None
    return (
        f"lookup_config.product_catalog.num_products: {products:,} products: the catalog every "
        f"process holds whole would take about {need / 2**30:,.1f} GiB, more than half of this "
        f"machine's {have / 2**30:,.1f} GiB"
    )


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
