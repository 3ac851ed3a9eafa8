"""Money columns: decimal(12,2) built from exact cents, read back as cents and as the old floats."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecomlake.lake.parquet import ParquetOptions, encode_parquet
from ecomlake.messiness.log import as_text, from_text
from ecomlake.render.columns import MONEY, cents, money, money_as_float
from ecomlake.trio.csv_tables import format_for_csv

CENTS = np.array([0, 1, 5, 1999, -250, 8_636_679, 10**12 - 1, -(10**12 - 1)], dtype=np.int64)


def test_money_holds_the_exact_cents() -> None:
    values = money(CENTS)
    assert values.type == MONEY
    assert values.to_pylist() == [Decimal(int(c)).scaleb(-2) for c in CENTS]
    back, nulls = cents(values)
    assert back.tolist() == CENTS.tolist() and not nulls.any()


def test_nulls_and_slices_round_trip() -> None:
    mask = np.array([False, True, False, False, True, False, False, False])
    values = money(CENTS, mask).slice(1, 5)
    back, nulls = cents(values)
    assert nulls.tolist() == mask[1:6].tolist()
    assert back.tolist() == np.where(mask, 0, CENTS)[1:6].tolist()


def test_an_amount_beyond_12_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds decimal"):
        money(np.array([10**12]))


def test_floats_are_cents_over_100_bit_for_bit() -> None:
    wide = np.random.default_rng(7).integers(-(10**12), 10**12, 50_000)
    floats = money_as_float(money(wide)).to_numpy()
    assert (floats == wide / 100.0).all()
    chunked = money_as_float(pa.chunked_array([money(wide[:10]), money(wide[10:20])]))
    assert isinstance(chunked, pa.ChunkedArray) and chunked.num_chunks == 2


def test_text_is_the_float_spelling_and_reads_back() -> None:
    values = money(np.array([1250, 10000, 1, -99]))
    assert as_text(values).to_pylist() == ["12.5", "100", "0.01", "-0.99"]
    assert from_text(as_text(values), MONEY).equals(values)
    csv = format_for_csv(pa.table({"unit_price": values}))
    assert csv.schema.field("unit_price").type == pa.float64()


def test_parquet_stores_money_as_int64() -> None:
    data = pa.table({"unit_price": money(CENTS)})
    raw = encode_parquet(data, ParquetOptions())
    meta = pq.ParquetFile(pa.BufferReader(raw)).metadata
    assert meta.row_group(0).column(0).physical_type == "INT64"
    assert pq.read_table(pa.BufferReader(raw)).equals(data)
