"""Verify on the quick lake: clean data passes every check; each corruption trips its family."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ecomlake.lake.manifest import ManifestFile, PartitionManifest
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.verify import Violation, check_invariants, check_manifests
from ecomlake.verify.invariants import connect


def _listing(violations: list[Violation]) -> str:
    return "\n".join(f"  {v.check} ({v.count}): {v.detail}" for v in violations)


def _checks(violations: list[Violation]) -> set[str]:
    return {v.check for v in violations}


def _assert_flags(violations: list[Violation], *expected: str) -> None:
    missing = set(expected) - _checks(violations)
    assert not missing, f"expected {sorted(missing)} among:\n{_listing(violations)}"


def _one(root: Path, sql: str) -> tuple:
    """First row of `sql` over the lake's views (each has `_file`, `_part_value`)."""
    con = connect(str(root))
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    assert rows, f"no row for: {sql}"
    return rows[0]


def _rewrite(
    path: str | Path, key_column: str, key, column: str, change: Callable[[pa.Array], pa.Array]
) -> None:
    """Rewrite one Parquet file with `change` applied to `column` where `key_column == key`."""
    table = pq.ParquetFile(path).read()
    old = table[column].combine_chunks()
    mask = pc.equal(table[key_column], pa.scalar(key, table.schema.field(key_column).type))
    new = pc.if_else(mask, change(old).cast(old.type), old)
    assert pc.sum(mask.cast(pa.int64())).as_py() >= 1, f"{key!r} not in {path}"
    table = table.set_column(table.schema.get_field_index(column), column, new)
    pq.write_table(table, path)


def _const(value) -> Callable[[pa.Array], pa.Array]:
    return lambda col: pa.array([value] * len(col), col.type)


# One cent: money is exact decimal, so the rules that used a ±0.01 tolerance now catch it.
CENT = Decimal("0.01")


def _plus(amount) -> Callable[[pa.Array], pa.Array]:
    return lambda col: pc.add(col, pa.scalar(amount, col.type))


def _manifest(partition_dir: Path) -> PartitionManifest:
    return PartitionManifest.from_json((partition_dir / "_MANIFEST.json").read_text())


def _write_manifest(partition_dir: Path, manifest: PartitionManifest) -> None:
    (partition_dir / "_MANIFEST.json").write_text(manifest.to_json())


# --- clean lake -----------------------------------------------------------------------------


def test_clean_lake_has_no_violations(quick_lake, quick_config):
    for config in (quick_config, None):
        found = check_invariants(str(quick_lake), config)
        assert found == [], f"invariants (config={config is not None}):\n{_listing(found)}"
    found = check_manifests(str(quick_lake))
    assert found == [], f"manifests:\n{_listing(found)}"


def test_row_counts_match_manifests(quick_lake):
    con = connect(str(quick_lake))
    for table in TABLE_NAMES:
        listed = sum(_manifest(p).total_rows for p in (quick_lake / table).glob("*=*"))
        ((read,),) = con.execute(f"SELECT count(*) FROM {table}").fetchall()
        assert read == listed > 0, f"{table}: DuckDB reads {read} rows, manifests list {listed}"
    con.close()


# --- one corruption per check family ----------------------------------------------------------


def test_missing_customer_partition_breaks_fk(lake_copy):
    (signup,) = _one(
        lake_copy,
        "SELECT c._part_value FROM customers c JOIN orders o USING (customer_id) ORDER BY 1",
    )
    shutil.rmtree(lake_copy / "customers" / f"signup_dt={signup}")
    _assert_flags(check_invariants(str(lake_copy)), "fk.orders.customer_id")
    assert check_manifests(str(lake_copy)) == []


def test_missing_required_table_is_reported(lake_copy):
    shutil.rmtree(lake_copy / "product_catalog")
    found = check_invariants(str(lake_copy))
    _assert_flags(found, "tables.missing", "fk.order_items.product_id")


def test_duplicate_cart_breaks_pk(lake_copy):
    path, cart_id = _one(
        lake_copy, "SELECT _file, cart_id FROM shopping_carts WHERE status = 'abandoned' LIMIT 1"
    )
    table = pq.ParquetFile(path).read()
    row = table.filter(pc.equal(table["cart_id"], cart_id))
    pq.write_table(row, Path(path).with_name("part-00001.parquet"))
    found = check_invariants(str(lake_copy))
    _assert_flags(found, "pk.shopping_carts")
    assert cart_id in next(v.detail for v in found if v.check == "pk.shopping_carts")


def test_cart_item_quantity_breaks_cart_total(lake_copy):
    path, item_id = _one(
        lake_copy,
        "SELECT i._file, i.cart_item_id FROM cart_items i JOIN shopping_carts c USING (cart_id) "
        "WHERE c.status = 'abandoned' ORDER BY 2 LIMIT 1",
    )
    _rewrite(path, "cart_item_id", item_id, "quantity", _plus(1))
    _assert_flags(check_invariants(str(lake_copy)), "carts.total_matches_items")


def test_unconverted_cart_breaks_funnel(lake_copy):
    path, cart_id = _one(
        lake_copy, "SELECT _file, cart_id FROM shopping_carts WHERE status = 'converted' LIMIT 1"
    )
    _rewrite(path, "cart_id", cart_id, "status", _const("abandoned"))
    found = check_invariants(str(lake_copy))
    _assert_flags(found, "funnel.order_has_converted_cart", "funnel.order_count")


def test_net_total_breaks_order_financials(lake_copy):
    path, order_id = _one(lake_copy, "SELECT _file, order_id FROM orders ORDER BY 2 LIMIT 1")
    _rewrite(path, "order_id", order_id, "net_total", _plus(CENT))
    _assert_flags(check_invariants(str(lake_copy)), "order_financials.net_total")


def test_processing_fee_needs_the_config_rate(lake_copy, quick_config):
    path, order_id = _one(lake_copy, "SELECT _file, order_id FROM orders ORDER BY 2 LIMIT 1")
    _rewrite(path, "order_id", order_id, "payment_processing_fee", _plus(CENT))
    _assert_flags(check_invariants(str(lake_copy), quick_config), "order_financials.processing_fee")


def test_cost_price_breaks_order_items(lake_copy):
    path, order_id, product_id = _one(
        lake_copy, "SELECT _file, order_id, product_id FROM order_items ORDER BY 2, 3 LIMIT 1"
    )
    table = pq.ParquetFile(path).read()
    mask = pc.and_(pc.equal(table["order_id"], order_id), pc.equal(table["product_id"], product_id))
    cost = table["cost_price"].combine_chunks()
    table = table.set_column(
        table.schema.get_field_index("cost_price"),
        "cost_price",
        pc.if_else(mask, pc.add(cost, 1.0), cost),
    )
    pq.write_table(table, path)
    _assert_flags(check_invariants(str(lake_copy)), "order_items.catalog_prices")


def test_refund_breaks_returns(lake_copy):
    path, item_id = _one(
        lake_copy, "SELECT _file, return_item_id FROM return_items ORDER BY 2 LIMIT 1"
    )
    _rewrite(path, "return_item_id", item_id, "refunded_amount", _plus(CENT))
    _assert_flags(check_invariants(str(lake_copy)), "returns.refund_matches_items")


def test_over_return_breaks_return_items(lake_copy):
    path, item_id, ordered = _one(
        lake_copy,
        "SELECT ri._file, ri.return_item_id, oi.quantity FROM return_items ri "
        "JOIN order_items oi USING (order_id, product_id) ORDER BY 2 LIMIT 1",
    )
    _rewrite(path, "return_item_id", item_id, "quantity_returned", _const(ordered + 1))
    _assert_flags(check_invariants(str(lake_copy)), "return_items.quantity")


def test_online_phone_order_breaks_agents(lake_copy, quick_config):
    path, order_id = _one(
        lake_copy, "SELECT _file, order_id FROM orders WHERE order_channel = 'Phone' LIMIT 1"
    )
    _rewrite(path, "order_id", order_id, "agent_id", _const("ONLINE"))
    for config in (None, quick_config):
        _assert_flags(check_invariants(str(lake_copy), config), "agents.orders")


def test_disallowed_payment_breaks_channel_rules(lake_copy, quick_config):
    path, order_id = _one(
        lake_copy, "SELECT _file, order_id FROM orders WHERE order_channel = 'Phone' LIMIT 1"
    )
    _rewrite(path, "order_id", order_id, "payment_method", _const("PayPal"))
    _assert_flags(check_invariants(str(lake_copy), quick_config), "channel_rules.payment_method")


def test_late_signup_breaks_dates_after_signup(lake_copy):
    path, customer_id, first_order = _one(
        lake_copy,
        "SELECT c._file, c.customer_id, min(CAST(o.order_date AS DATE)) FROM customers c "
        "JOIN orders o USING (customer_id) GROUP BY ALL ORDER BY 2 LIMIT 1",
    )
    day_after = first_order + dt.timedelta(days=1)
    _rewrite(path, "customer_id", customer_id, "signup_date", _const(day_after))
    _assert_flags(check_invariants(str(lake_copy)), "dates_after_signup.orders")


def test_orders_file_in_another_partition_breaks_partition_dates(lake_copy):
    source, target = sorted((lake_copy / "orders").glob("ingest_dt=*"))[:2]
    moved = target / "part-00001.parquet"
    shutil.move(source / "part-00000.parquet", moved)
    shutil.rmtree(source)
    data = moved.read_bytes()
    rows = pq.ParquetFile(moved).metadata.num_rows
    manifest = _manifest(target)
    entry = ManifestFile(
        f"orders/{target.name}/{moved.name}", rows, hashlib.sha256(data).hexdigest()
    )
    files = (*manifest.files, entry)
    total = manifest.total_rows + rows
    _write_manifest(target, dataclasses.replace(manifest, files=files, total_rows=total))
    assert check_manifests(str(lake_copy)) == []  # the lake looks committed, the dates do not
    found = check_invariants(str(lake_copy))
    _assert_flags(found, "partition_dates.orders", "partition_dates.order_items")


# --- manifests --------------------------------------------------------------------------------


def _first_partition(root: Path, table: str = "orders") -> Path:
    return sorted((root / table).glob("ingest_dt=*"))[0]


def _delete_part(part: Path) -> None:
    (part / "part-00000.parquet").unlink()


def _truncate_part(part: Path) -> None:
    path = part / "part-00000.parquet"
    path.write_bytes(path.read_bytes()[:100])


def _delete_success(part: Path) -> None:
    (part / "_SUCCESS").unlink()


def _miscount_rows(part: Path) -> None:
    manifest = _manifest(part)
    first = dataclasses.replace(manifest.files[0], rows=manifest.files[0].rows + 1)
    files = (first, *manifest.files[1:])
    total = manifest.total_rows + 1
    _write_manifest(part, dataclasses.replace(manifest, files=files, total_rows=total))


def _miscount_total(part: Path) -> None:
    text = (part / "_MANIFEST.json").read_text()
    total = _manifest(part).total_rows
    (part / "_MANIFEST.json").write_text(
        text.replace(f'"total_rows": {total}', f'"total_rows": {total + 5}')
    )


def _add_unlisted_part(part: Path) -> None:
    shutil.copy(part / "part-00000.parquet", part / "part-00001.parquet")


def _add_stray_parquet(part: Path) -> None:
    """Any `*.parquet` is data to a reader globbing the folder, whatever its name."""
    shutil.copy(part / "part-00000.parquet", part / "copy of part.parquet")


def _rename_partition_field(part: Path) -> None:
    manifest = _manifest(part)
    _write_manifest(part, dataclasses.replace(manifest, partition="ingest_dt=1999-01-01"))


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_delete_part, {"manifests.file_missing"}),
        (_truncate_part, {"manifests.size"}),  # the listing tells; the file is not read
        (_delete_success, {"manifests.success_missing"}),
        (_miscount_rows, {"manifests.row_count"}),
        (_miscount_total, {"manifests.total_rows"}),
        (_add_unlisted_part, {"manifests.unlisted_file"}),
        (_add_stray_parquet, {"manifests.unlisted_file"}),
        (_rename_partition_field, {"manifests.partition_mismatch"}),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] or None,
)
def test_manifest_corruption_is_reported(lake_copy, corrupt, expected):
    part = _first_partition(lake_copy)
    corrupt(part)
    found = check_manifests(str(lake_copy))
    assert _checks(found) == expected, _listing(found)
    assert all(v.count == 1 and part.name in v.detail for v in found), _listing(found)
