"""`verify --against-defects` partition by partition: late rows sent home, the tampered partition
named, and never more than one partition's rows read at a time."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from mess_helpers import PINNED, QUICK

from ecomlake.api import generate
from ecomlake.lineage import LINEAGE_COLUMNS
from ecomlake.messiness.log import pk_text
from ecomlake.messiness.registry import LATE_DEFECT
from ecomlake.render.registry import TABLES, table_spec
from ecomlake.run.driver import GenerateOptions
from ecomlake.verify import partition_reader
from ecomlake.verify.defects import check_against_defects

START, END = dt.date(2024, 1, 1), dt.date(2024, 1, 21)  # inside the world: the last days' late
# rows land after the lake, so those partitions are the only ones not checkable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bounded") / "lake"
    options = GenerateOptions(
        target=str(root),
        start_date=START,
        end_date=END,
        executor="in-process",
        messiness_level="heavy_mess",
        **PINNED,
    )
    assert generate(QUICK, options).ok
    return root


def _manifests(root: Path, table: str) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in sorted((root / table).glob("*=*/_MANIFEST.json"))
    }


def _late_entry(root: Path, table: str) -> tuple[str, str, str]:
    """(landed partition, home partition, primary key) of one late row of `table`."""
    for landed in sorted((root / "_defects").glob("ingest_dt=*")):
        log = pq.read_table(landed)
        late = log.filter(
            pc.and_(pc.equal(log["table_name"], table), pc.equal(log["defect_type"], LATE_DEFECT))
        )
        if late.num_rows:
            home = late["clean_value"][0].as_py()
            return landed.name, f"ingest_dt={home}", late["pk_value"][0].as_py()
    raise AssertionError(f"no late row of {table}")


def _own_pk(root: Path, table: str, partition: str) -> str:
    """The key of a row of `partition` that is not a late row of an earlier day."""
    (part,) = (root / table / partition).glob("*.parquet")
    log = pq.read_table(root / "_defects" / partition)
    late = log.filter(pc.equal(log["defect_type"], LATE_DEFECT))["pk_value"]
    keys = pk_text(pq.read_table(part), table_spec(table).pk)
    return keys.filter(pc.invert(pc.is_in(keys, value_set=late)))[0].as_py()


def _bump(root: Path, table: str, partition: str, pk: str) -> None:
    """Add 1 to `net_total` of the row with key `pk` in the partition."""
    (part,) = (root / table / partition).glob("*.parquet")
    data = pq.read_table(part)
    hit = pc.equal(pk_text(data, table_spec(table).pk), pk)
    money = data["net_total"].type
    one_more = pc.add(data["net_total"], pa.scalar(Decimal("1.00"), money)).cast(money)
    net = pc.if_else(hit, one_more, data["net_total"])
    pq.write_table(
        data.set_column(data.schema.get_field_index("net_total"), "net_total", net), part
    )


def test_a_heavy_lake_with_late_rows_across_partitions_passes(lake):
    found = check_against_defects(str(lake))
    assert not found.violations, found.violations
    moved = [
        day
        for spec in TABLES
        for m in _manifests(lake, spec.name).values()
        for day in m["messiness"]["late_out"]
        if day <= END.isoformat()
    ]
    assert len(moved) > 40  # late rows of many partitions landed in later ones of the lake
    partitions = sum(len(_manifests(lake, spec.name)) for spec in TABLES)
    assert found.matched + len(found.unchecked) == partitions
    for where in found.unchecked:  # only the days whose late rows land after the lake
        assert where.split("=")[1] >= (END - dt.timedelta(days=7)).isoformat(), where


def test_changed_rows_fail_naming_the_day_they_belong_to(lake, tmp_path):
    """A late row changed where it landed fails its own day; a row of the day, that day."""
    root = Path(shutil.copytree(lake, tmp_path / "lake"))
    landed, home, pk = _late_entry(root, "orders")
    _bump(root, "orders", landed, pk)
    partition = "ingest_dt=2024-01-09"
    _bump(root, "orders", partition, _own_pk(root, "orders", partition))
    found = check_against_defects(str(root))
    assert len(found.violations) == 1 and found.violations[0].count == 2, found.violations
    assert found.violations[0].check == "defects.clean_mismatch"
    assert f"e.g. orders/{home}, orders/{partition}" in found.violations[0].detail
    assert landed not in found.violations[0].detail


def test_one_partition_at_a_time(lake, monkeypatch):
    """Every partition is read once, on its own; Arrow's peak memory stays below the largest
    table (what reading a whole table would at least take)."""
    reads: list[tuple[str, int]] = []
    read_rows = partition_reader.read_rows

    def counted(loc, manifest, *args, **kwargs):
        rows = read_rows(loc, manifest, *args, **kwargs)
        reads.append((f"{manifest.table}/{manifest.partition}", rows.num_rows))
        return rows

    monkeypatch.setattr(partition_reader, "read_rows", counted)
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    default = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        found = check_against_defects(str(lake))
    finally:
        pa.set_memory_pool(default)
    assert not found.violations

    data = {(f"{spec.name}/{name}", m["total_rows"]) for spec in TABLES
            for name, m in _manifests(lake, spec.name).items()}  # fmt: skip
    data_reads = [read for read in reads if not read[0].startswith("_defects")]
    assert sorted(data_reads) == sorted(data)  # each partition once, whole, and nothing else
    largest = max(_table_bytes(lake, spec.name) for spec in TABLES)
    assert pool.max_memory() < largest / 2, (pool.max_memory(), largest)


def _table_bytes(root: Path, table: str) -> int:
    data = pa.concat_tables([pq.read_table(p) for p in (root / table).glob("*=*/*.parquet")])
    return data.drop_columns([c for c in LINEAGE_COLUMNS if c in data.column_names]).nbytes
