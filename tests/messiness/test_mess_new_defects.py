"""The defects beyond the older tool's: rates per level, what each one does, and nothing else."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from mess_helpers import WORLD_END, assert_rate, cell_entries

from ecomlake.messiness import resolve_level
from ecomlake.messiness.cells import Cells
from ecomlake.messiness.duplicates import NEAR_COLUMNS
from ecomlake.messiness.formats import DRIFT_COLUMNS, drift_formats, restore_formats
from ecomlake.messiness.late import days_late
from ecomlake.messiness.log import as_text, pk_text
from ecomlake.messiness.orphans import ORPHAN_BASE, ORPHAN_COLUMNS
from ecomlake.messiness.ranges import QUANTITY_COLUMNS
from ecomlake.messiness.stale import stale_values
from ecomlake.messiness.typos import TYPO_COLUMNS
from ecomlake.plan.calendar import day_number
from ecomlake.render.registry import table_spec

LEVELS = ("light_mess", "medium_mess", "heavy_mess")
# Our presets, written out so that a changed preset fails here too.
RATES = {
    "light_mess": {"duplicates": 0.005, "near_duplicates": 0.005, "typos": 0.01,
                   "format_drift": 0.02, "late_arrival": 0.01, "orphan_fk": 0.002,
                   "out_of_range": 0.002, "stale_dimension": 0.01},
    "medium_mess": {"duplicates": 0.01, "near_duplicates": 0.01, "typos": 0.02,
                    "format_drift": 0.05, "late_arrival": 0.02, "orphan_fk": 0.005,
                    "out_of_range": 0.005, "stale_dimension": 0.03},
    "heavy_mess": {"duplicates": 0.02, "near_duplicates": 0.02, "typos": 0.05,
                   "format_drift": 0.10, "late_arrival": 0.05, "orphan_fk": 0.01,
                   "out_of_range": 0.01, "stale_dimension": 0.05},
}  # fmt: skip


@pytest.fixture(params=LEVELS)
def level_results(request, by_level):
    return request.param, by_level(request.param)


def _count(log: pa.Table, defect: str, table: str, column: str | None = None) -> int:
    hit = pc.and_(pc.equal(log["table_name"], table),
                  pc.match_substring(log["defect_type"], defect))  # fmt: skip
    if column is not None:
        hit = pc.and_(hit, pc.equal(log["column_name"], column))
    return pc.sum(hit.cast(pa.int64())).as_py() or 0


def _valid(item, column: str) -> int:
    return item.clean.num_rows - item.clean.column(column).null_count


class TestRates:
    def test_presets(self, mess_config):
        for name, rates in RATES.items():
            level = resolve_level(mess_config, name)
            assert {k: getattr(level, k) for k in rates} == rates
            assert level.late_max_days == 3

    def test_orphans_and_quantities_change_every_hit_cell(self, level_results):
        name, results = level_results
        for defect, columns, rate in (
            ("orphan_fk", ORPHAN_COLUMNS, "orphan_fk"),
            ("out_of_range", QUANTITY_COLUMNS, "out_of_range"),
        ):
            hits = n = 0
            for item, _, log in results:
                for column in columns.get(item.table, ()):
                    n += _valid(item, column)
                    hits += _count(log, defect, item.table, column)
            assert_rate(hits, n, RATES[name][rate], f"{name} {defect}")

    def test_typos_on_ascii_names_and_emails(self, level_results):
        """A swap of two equal letters changes nothing: the logged rate is a little lower."""
        name, results = level_results
        hits = n = 0
        for item, _, log in results:
            for column in TYPO_COLUMNS.get(item.table, ()):
                values = item.clean.column(column)
                ok = pc.and_(
                    pc.string_is_ascii(values), pc.greater_equal(pc.utf8_length(values), 2)
                )
                n += pc.sum(pc.fill_null(ok, False).cast(pa.int64())).as_py() or 0
                hits += _count(log, "typo", item.table, column)
        p = RATES[name]["typos"]
        assert_rate(hits, n, p, f"{name} typo", low=0.9 * p)

    def test_copies_per_row(self, level_results):
        name, results = level_results
        n = sum(item.clean.num_rows for item, _, _ in results)
        for defect in ("duplicates", "near_duplicates"):
            kind = defect.rstrip("s")
            hits = sum(
                pc.sum(pc.equal(log["defect_type"], kind).cast(pa.int64())).as_py() or 0
                for _, _, log in results
            )
            assert_rate(hits, n, RATES[name][defect], f"{name} {kind}")

    def test_late_rows_per_transactional_row(self, level_results, mess_world):
        """Rows of the last late_max_days days can only land inside the world, so fewer move."""
        name, results = level_results
        level = resolve_level(mess_world.config, name)
        last = day_number(WORLD_END) - level.late_max_days
        hits = n = 0
        seen_days = set()
        for item, _, _ in results:
            if table_spec(item.table).partition_column is None and item.ctx.day <= last:
                late = days_late(item.ctx, table_spec(item.table), item.clean, level)
                n += len(late)
                hits += int((late > 0).sum())
                seen_days |= set(late[late > 0].tolist())
        assert_rate(hits, n, RATES[name]["late_arrival"], f"{name} late")
        assert seen_days == {1, 2, 3}

    def test_stale_values_where_an_older_label_exists(self, level_results):
        """The quick world has few upgraded customers: 30,000 keyed cells of every label."""
        name, results = level_results
        item = next(i for i, _, _ in results if i.table == "orders")
        level = resolve_level(item.ctx.world.config, name)
        labels = _lowest_first(item, "customer_tier")
        keys = np.arange(30_000, dtype=np.uint64)
        values = pa.array([labels[i % len(labels)] for i in range(len(keys))])
        cells = Cells(item.ctx, "orders", "customer_tier", keys, level, item.ctx.rng)
        stale = stale_values(cells, values)
        older = pc.not_equal(values, labels[0])
        hits = pc.sum(pc.not_equal(stale, values).cast(pa.int64())).as_py()
        n = pc.sum(older.cast(pa.int64())).as_py()
        assert_rate(hits, n, RATES[name]["stale_dimension"], f"{name} stale")
        assert pc.all(pc.or_(older, pc.equal(stale, values))).as_py()  # lowest: nothing older


def _lowest_first(item, column: str) -> tuple[str, ...]:
    lex = item.ctx.world.lexicon
    return (lex.earned_tiers if column == "customer_tier" else lex.clv_buckets).names


def _heavy_cells(by_level, defect: str):
    """(item, clean text, dirty text) of every heavy cell whose only defect is `defect`."""
    for item, _, log in by_level("heavy_mess"):
        mine = log.filter(pc.equal(log["defect_type"], defect))
        if mine.num_rows:
            yield item, mine


class TestWhatEachDefectDoes:
    def test_a_typo_is_one_slip(self, by_level):
        for _, mine in _heavy_cells(by_level, "typo"):
            for clean, dirty_text in zip(mine["clean_value"].to_pylist(),
                                         mine["dirty_value"].to_pylist(), strict=True):  # fmt: skip
                assert abs(len(clean) - len(dirty_text)) <= 1 and clean != dirty_text
                if len(clean) == len(dirty_text):
                    assert sorted(clean) == sorted(dirty_text)
                    assert sum(a != b for a, b in zip(clean, dirty_text, strict=True)) == 2

    def test_orphans_point_nowhere(self, by_level):
        seen = 0
        for _, mine in _heavy_cells(by_level, "orphan_fk"):
            for dirty_text in mine["dirty_value"].to_pylist():
                assert int(dirty_text.rsplit("-", 1)[-1]) >= ORPHAN_BASE
                seen += 1
        assert seen > 50

    def test_out_of_range_is_zero_negative_or_a_fat_finger(self, by_level):
        for _, mine in _heavy_cells(by_level, "out_of_range"):
            for clean, dirty_text in zip(mine["clean_value"].to_pylist(),
                                         mine["dirty_value"].to_pylist(), strict=True):  # fmt: skip
                ratio = float(dirty_text) / float(clean) if float(clean) else None
                assert float(dirty_text) == 0 or ratio in (-1, 100, 1000), (clean, dirty_text)

    def test_stale_is_the_label_below(self, by_level):
        for item, mine in _heavy_cells(by_level, "stale_dimension"):
            for column, clean, dirty_text in zip(mine["column_name"].to_pylist(),
                                                 mine["clean_value"].to_pylist(),
                                                 mine["dirty_value"].to_pylist(), strict=True):  # fmt: skip
                labels = _lowest_first(item, column)
                assert labels.index(dirty_text) == labels.index(clean) - 1

    def test_copies_follow_their_original(self, by_level):
        for item, data, log in by_level("heavy_mess"):
            copies = log.filter(
                pc.is_in(log["defect_type"], pa.array(["duplicate", "near_duplicate"]))
            )
            if not copies.num_rows:
                continue
            keys = pk_text(data, table_spec(item.table).pk).to_pylist()
            repeats = [i for i in range(1, len(keys)) if keys[i] == keys[i - 1]]
            assert len(repeats) == copies.num_rows == data.num_rows - item.clean.num_rows
            kinds = dict(
                zip(copies["pk_value"].to_pylist(), copies["defect_type"].to_pylist(), strict=True)
            )
            for i in repeats:
                original, copy = (
                    data.slice(i - 1, 1).to_pylist()[0],
                    data.slice(i, 1).to_pylist()[0],
                )
                differs = {c for c in original if original[c] != copy[c]}
                if kinds[keys[i]] == "duplicate":
                    assert not differs
                else:
                    assert differs <= {NEAR_COLUMNS[item.table]}
                    column = NEAR_COLUMNS[item.table]
                    assert copy[column] == original[column].swapcase()


class TestFormatDrift:
    def test_rate_styles_and_restore(self, by_level):
        level_name = "heavy_mess"
        hits = n = 0
        for item, data, log in by_level(level_name):
            level = resolve_level(item.ctx.world.config, level_name)
            text, drift = drift_formats(item.ctx, item.table, data, level, log)
            for column in DRIFT_COLUMNS.get(item.table, ()):
                assert text.schema.field(column).type == pa.string()
                n += data.num_rows - data.column(column).null_count
            hits += drift.num_rows + _drifted_copies(text, data, item)
            assert not set(
                zip(drift["pk_value"].to_pylist(), drift["column_name"].to_pylist(), strict=True)
            ) & set(
                zip(
                    cell_entries(log)["pk_value"].to_pylist(),
                    cell_entries(log)["column_name"].to_pylist(),
                    strict=True,
                )
            ), "a cell with a defect is not drifted too"
            restored = restore_formats(text, item.table, drift, data.schema)
            assert restored.equals(data), item.table
        assert_rate(hits, n, RATES[level_name]["format_drift"], "format_drift", low=0.08)


def _drifted_copies(text: pa.Table, data: pa.Table, item) -> int:
    """Drifted cells of copies (the log has their original's entry only)."""
    keys = pk_text(data, table_spec(item.table).pk).to_numpy(zero_copy_only=False)
    copy = np.concatenate([[False], keys[1:] == keys[:-1]])
    count = 0
    for column in DRIFT_COLUMNS.get(item.table, ()):
        differs = pc.fill_null(
            pc.not_equal(text[column], as_text(data[column].combine_chunks())), False
        )
        count += int((differs.to_numpy(zero_copy_only=False) & copy).sum())
    return count
