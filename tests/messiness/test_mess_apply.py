"""apply_messiness on the whole quick world rendered day by day: rates, the log, undo, keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from mess_helpers import assert_rate, cell_entries, drop_copies

from ecomlake.messiness import apply_messiness, resolve_level, undo_defects
from ecomlake.messiness.log import as_text, pk_text
from ecomlake.messiness.nulls import NULL_COLUMNS
from ecomlake.messiness.stylistic import STYLISTIC_COLUMNS
from ecomlake.render.registry import table_spec

LEVELS = ("light_mess", "medium_mess", "heavy_mess")
# The older tool's rates, written out so that a changed preset fails here too.
WHITESPACE = CASING = {"light_mess": 0.05, "medium_mess": 0.08, "heavy_mess": 0.15}
NULLS = {"light_mess": 0.02, "medium_mess": 0.04, "heavy_mess": 0.08}


@pytest.fixture(params=LEVELS)
def dirtied(request, by_level):
    return request.param, by_level(request.param)


def _logged(results, defect: str, columns: dict[str, tuple[str, ...]]) -> int:
    """Logged cells of the listed columns whose defect_type includes `defect`."""
    log = pa.concat_tables([log for _, _, log in results])
    n = 0
    for table, names in columns.items():
        for column in names:
            hit = pc.and_(
                pc.and_(
                    pc.equal(log.column("table_name"), table),
                    pc.equal(log.column("column_name"), column),
                ),
                pc.match_substring(log.column("defect_type"), defect),
            )
            n += pc.sum(hit.cast(pa.int64())).as_py() or 0
    return n


def _eligible(results, columns: dict[str, tuple[str, ...]]) -> list[tuple[str, str, pa.Array]]:
    out = []
    for item, _, _ in results:
        for column in columns.get(item.table, ()):
            if column in item.clean.column_names:
                values = item.clean.column(column).combine_chunks()
                out.append((item.table, column, values.filter(values.is_valid())))
    return out


class TestRates:
    def test_whitespace_rate(self, dirtied):
        name, results = dirtied
        cells = _eligible(results, STYLISTIC_COLUMNS)
        n = sum(len(v) for _, _, v in cells)
        hits = _logged(results, "whitespace", STYLISTIC_COLUMNS)
        assert_rate(hits, n, WHITESPACE[name], name, min_n=5000)

    def test_null_rate(self, dirtied):
        name, results = dirtied
        cells = _eligible(results, NULL_COLUMNS)
        n = sum(len(v) for _, _, v in cells)
        hits = _logged(results, "null", NULL_COLUMNS)
        assert_rate(hits, n, NULLS[name], name, min_n=5000)

    def test_casing_rate_counts_only_real_changes(self, dirtied):
        """Expected: p × the share of the three styles that change each eligible value."""
        name, results = dirtied
        cells = _eligible(results, STYLISTIC_COLUMNS)
        changes = 0.0
        for _, _, values in cells:
            for style in (pc.utf8_upper, pc.utf8_lower, pc.utf8_title):
                changes += pc.sum(pc.not_equal(style(values), values).cast(pa.int64())).as_py() or 0
        n = sum(len(v) for _, _, v in cells)
        p = CASING[name] * changes / 3 / n
        hits = _logged(results, "casing", STYLISTIC_COLUMNS)
        assert_rate(hits, n, p, name, min_n=5000)


class TestLog:
    def test_undoing_the_log_gives_back_the_clean_table(self, dirtied):
        _, results = dirtied
        for item, data, log in results:
            restored = undo_defects(data, log, item.table)
            assert restored.equals(item.clean), f"{item.table} {item.ctx.day_iso}"

    def test_every_changed_cell_is_logged_and_nothing_else(self, dirtied):
        _, results = dirtied
        for item, data, log in results:
            data = drop_copies(data, log, item.table)
            log = cell_entries(log)
            keys = pk_text(item.clean, table_spec(item.table).pk).to_numpy(zero_copy_only=False)
            changed = set()
            for column in item.clean.column_names:
                a, b = item.clean.column(column), data.column(column)
                differs = pc.or_(
                    pc.fill_null(pc.not_equal(a, b), False),
                    pc.xor(pc.is_null(a), pc.is_null(b)),
                ).to_numpy(zero_copy_only=False)
                changed |= {(k, column) for k in keys[differs]}
            logged = set(
                zip(
                    log.column("pk_value").to_pylist(),
                    log.column("column_name").to_pylist(),
                    strict=True,
                )
            )
            assert len(logged) == log.num_rows, f"{item.table}: a cell logged twice"
            assert logged == changed, (
                f"{item.table} {item.ctx.day_iso}: {sorted(logged ^ changed)[:3]}"
            )

    def test_dirty_values_are_what_was_written(self, dirtied):
        _, results = dirtied
        for item, data, log in results:
            data, log = drop_copies(data, log, item.table), cell_entries(log)
            for column in pc.unique(log.column("column_name")).to_pylist():
                mine = log.filter(pc.equal(log.column("column_name"), column))
                keys = pk_text(data, table_spec(item.table).pk)
                rows = pc.index_in(mine.column("pk_value"), value_set=keys)
                written = as_text(data.column(column).combine_chunks().take(rows))
                assert written.equals(mine.column("dirty_value"))

    def test_log_partition_and_type_columns(self, dirtied):
        name, results = dirtied
        types = set()
        for item, _, log in results:
            types |= set(pc.unique(log.column("defect_type")).to_pylist())
            spec = table_spec(item.table)
            if spec.partition_column is None and log.num_rows:
                assert set(log.column("partition").to_pylist()) == {f"ingest_dt={item.ctx.day_iso}"}
        expected = {"whitespace", "casing", "null", "whitespace+casing"}
        if name != "light_mess":
            expected.add("sales_spike")
        assert expected <= types, types


class TestKeys:
    def test_clean_level_returns_the_input_untouched(self, whole_quick):
        item = next(i for i in whole_quick if i.table == "orders" and i.clean.num_rows)
        data, log = apply_messiness(item.ctx, item.table, item.clean, None)
        assert data is item.clean and log is None

    def test_defects_follow_the_primary_key_not_the_row_position(self, whole_quick):
        item = max(
            (i for i in whole_quick if i.table == "cart_items"), key=lambda i: i.clean.num_rows
        )
        level = resolve_level(item.ctx.world.config, "heavy_mess")
        _, log = apply_messiness(item.ctx, item.table, item.clean, level)
        reverse = pa.array(np.arange(item.clean.num_rows)[::-1])
        half = item.clean.take(reverse).slice(0, item.clean.num_rows // 2)
        _, log_half = apply_messiness(item.ctx, item.table, half, level)
        kept = set(pk_text(half, ["cart_item_id"]).to_pylist())
        rows = {tuple(r.values()) for r in log.to_pylist() if r["pk_value"] in kept}
        assert rows == {tuple(r.values()) for r in log_half.to_pylist()}
        assert 0 < log_half.num_rows < log.num_rows

    def test_levels_nest(self, by_level):
        """One draw per cell: a cell padded at light_mess is padded the same way at heavy_mess."""
        light = pa.concat_tables([log for _, _, log in by_level("light_mess")])
        heavy = cell_entries(pa.concat_tables([log for _, _, log in by_level("heavy_mess")]))
        padded = light.filter(pc.equal(light.column("defect_type"), "whitespace"))
        keys = ["table_name", "pk_value", "column_name"]
        both = padded.join(heavy, keys=keys, right_suffix="_heavy")
        assert both.num_rows == padded.num_rows > 0
        assert pc.all(pc.match_substring(both.column("defect_type_heavy"), "whitespace")).as_py()
        # a value defect drawn at heavy only (stale, typo) changes the text under the padding
        both = both.filter(pc.starts_with(both.column("defect_type_heavy"), "whitespace"))
        strip = lambda c: pc.utf8_lower(pc.utf8_trim(both.column(c), " "))  # noqa: E731
        assert strip("dirty_value").equals(strip("dirty_value_heavy"))
