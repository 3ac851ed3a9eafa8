"""The sales spike and the return-reason bias: right rows, right values, nothing else moved."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from mess_helpers import QUICK, all_days, build, dirty, render_days

from ecomlake.config import load_config_text
from ecomlake.messiness import check_level, resolve_level
from ecomlake.messiness.spike import spike_factor, spike_month
from ecomlake.plan.calendar import month_index

WORLD_MONTHS = {648, 649, 650}  # 2024-01..2024-03 as months since 1970-01


def _config(**parameters):
    data = yaml.safe_load(QUICK.read_text())
    messiness = parameters.pop("_messiness", None)
    data["parameters"].update(parameters)
    if messiness:
        data["messiness"] = messiness
    return load_config_text(yaml.safe_dump(data, sort_keys=False))


def _orders(results):
    return [(item, data) for item, data, _ in results if item.table == "orders" and data.num_rows]


class TestSpike:
    def test_month_comes_from_the_seed_and_the_window(self, mess_config, mess_world):
        assert spike_month(mess_world) in WORLD_MONTHS
        assert spike_month(build(mess_config)) == spike_month(mess_world)
        assert len({spike_month(build(mess_config, seed)) for seed in range(8)}) > 1

    @pytest.mark.parametrize(("level", "factor"), [("medium_mess", 1.5), ("heavy_mess", 2.0)])
    def test_spiked_month_only_and_only_total_items(self, whole_quick, mess_world, level, factor):
        month = spike_month(mess_world)
        spiked = 0
        for item, data in _orders(
            dirty([i for i in whole_quick if i.table == "orders"], level, copies=False)
        ):
            clean = item.clean.column("total_items").to_numpy()
            got = data.column("total_items").to_numpy()
            in_month = month_index(np.array([item.ctx.day]))[0] == month
            want = np.trunc(clean * factor).astype(np.int64) if in_month else clean
            assert np.array_equal(got, want), item.ctx.day_iso
            assert data.column("order_date").equals(item.clean.column("order_date"))
            spiked += int((got != clean).sum())
        assert spiked > 20

    def test_light_mess_has_no_spike(self, whole_quick):
        for item, data in _orders(
            dirty([i for i in whole_quick if i.table == "orders"], "light_mess", copies=False)
        ):
            assert data.column("total_items").equals(item.clean.column("total_items"))

    def test_seasonal_spike_factors_pick_the_months(self):
        cfg = _config(seasonal_spike_factors={"high": {2: 3.0}})
        world = build(cfg)
        level = resolve_level(cfg, "heavy_mess")
        feb, jan = month_index(np.array([19754]))[0], 19730  # 2024-02-01 and 2024-01-30
        assert feb == 649
        assert spike_factor(world, 19754, level) == 3.0 and spike_factor(world, jan, level) == 1.0
        assert spike_factor(world, 19754, resolve_level(cfg, "medium_mess")) in (1.0, 1.5)


def _first_categories(results) -> dict[str, str]:
    """order_id -> lower-case category of its first order_items row (rendered tables)."""
    items = pa.concat_tables([item.clean for item, _, _ in results if item.table == "order_items"])
    items = items.sort_by([("order_id", "ascending"), ("product_id", "ascending")])
    first = {}
    for order_id, category in zip(
        items["order_id"].to_pylist(), items["category"].to_pylist(), strict=True
    ):
        first.setdefault(order_id, category.lower())
    return first


SCHEMA = {"high": {"electronics": {"Defective": 1.0}, "default": {"No longer needed": 1.0}}}
RETURNY = {"conversion_rate": 0.9, "return_rate": 0.9, "return_rate_by_signup_channel": {}}


def _returny(**messiness):
    """The quick config with ~1,200 returns and the bias schema above."""
    return _config(**RETURNY, return_reason_bias_schemas=SCHEMA, _messiness=messiness or None)


def _normal(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_lower(pc.utf8_trim(values, " "))


class TestReasonBias:
    def test_biased_reason_comes_from_the_first_items_category(self):
        cfg = _returny(heavy_mess={"reason_bias": 1.0})
        rendered = render_days(build(cfg), all_days(), ("order_items", "returns"))
        results = dirty(rendered, "heavy_mess", copies=False)
        first = _first_categories(results)
        returns = [(i, d) for i, d, _ in results if i.table == "returns" and d.num_rows]
        assert sum(d.num_rows for _, d in returns) > 1000
        for item, data in returns:
            want = [
                "defective" if first[o] == "electronics" else "no longer needed"
                for o in item.clean["order_id"].to_pylist()
            ]
            assert _normal(data["reason"]).to_pylist() == want, item.ctx.day_iso
        logs = pa.concat_tables([log for item, _, log in results if item.table == "returns"])
        bias = logs.filter(pc.match_substring(logs["defect_type"], "reason_bias"))
        assert bias.num_rows > 500
        assert set(pc.unique(bias["column_name"]).to_pylist()) == {"reason"}

    def test_rate_at_heavy(self):
        """p = 0.5 of returns draw a reason; 1 in 8 draws the reason it already had."""
        rendered = render_days(build(_returny()), all_days(), ("returns",))
        results = [(i, d) for i, d, _ in dirty(rendered, "heavy_mess", copies=False) if d.num_rows]
        moved = sum(
            pc.sum(
                pc.not_equal(_normal(d["reason"]), _normal(i.clean["reason"])).cast(pa.int64())
            ).as_py()
            for i, d in results
        )
        n = sum(d.num_rows for _, d in results)
        same = sum(
            pc.sum(
                pc.is_in(i.clean["reason"], pa.array(["Defective", "No longer needed"])).cast(
                    pa.int64()
                )
            ).as_py()
            for i, _ in results
        )  # upper bound of the rows whose draw can equal their reason
        p_low, p_high = 0.5 * (n - same) / n, 0.5
        sigma = (0.25 / n) ** 0.5
        assert n > 1000
        assert p_low - 4 * sigma <= moved / n <= p_high + 4 * sigma, (moved, n)

    def test_skipped_with_one_warning_without_schemas(self, mess_config, whole_quick, caplog):
        with caplog.at_level(logging.WARNING, logger="ecomlake.messiness.levels"):
            check_level(mess_config, "heavy_mess")
        assert len(caplog.records) == 1 and "return-reason bias skipped" in caplog.text
        for _, _, log in dirty([i for i in whole_quick if i.table == "returns"], "heavy_mess"):
            assert not pc.any(pc.match_substring(log["defect_type"], "reason_bias")).as_py()
