"""The defect registry is the one list: every rate exists, every cell defect has an injector
and columns, the log's names come from it, and a level's expected breaks follow its rates."""

from __future__ import annotations

import dataclasses

from ecomlake.config.messiness import MessLevelConfig
from ecomlake.messiness import PRESETS, expected_breaks
from ecomlake.messiness.log import DEFECT_TYPES
from ecomlake.messiness.registry import CELL_DEFECTS, DEFECTS, ROW_DEFECTS, defect


def test_every_rate_is_a_level_field_and_a_yaml_key():
    fields = {f.name for f in dataclasses.fields(PRESETS["heavy_mess"])}
    yaml_keys = set(MessLevelConfig.model_fields)
    for spec in DEFECTS:
        assert spec.rate in fields and spec.rate in yaml_keys, spec.name


def test_cell_defects_have_columns_and_name_the_log_bits_in_order():
    assert all(d.columns and d.inject for d in CELL_DEFECTS)
    pinned = ("reason_bias", "sales_spike", "stale_dimension", "orphan_fk", "out_of_range", "typo",
              "whitespace", "casing", "null")  # fmt: skip
    assert tuple(d.name for d in CELL_DEFECTS) == DEFECT_TYPES == pinned  # the logs' '+' order
    assert ROW_DEFECTS == ("duplicate", "near_duplicate", "late_arrival")


def test_a_rate_switched_off_drops_its_breaks():
    heavy = PRESETS["heavy_mess"]
    no_orphans = dataclasses.replace(heavy, orphan_fk=0.0)
    orphan_only = set(defect("orphan_fk").breaks) - set().union(
        *(d.breaks for d in DEFECTS if d.name != "orphan_fk")
    )
    assert orphan_only and orphan_only <= expected_breaks(heavy)
    assert not orphan_only & expected_breaks(no_orphans)
    assert "order_financials.total_items" in expected_breaks(heavy, spike=True)
    assert expected_breaks(None) == frozenset()
