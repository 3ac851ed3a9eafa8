"""Lake paths are relative, deterministic and cannot escape the root."""

from __future__ import annotations

import pytest

from ecomlake.errors import ConfigError
from ecomlake.lake.layout import (
    is_part_file,
    is_temp_file,
    part_file_name,
    partition_dir,
    partition_name,
    validate_segment,
)


def test_partition_dir_is_relative_hive_path() -> None:
    assert partition_dir("orders", "ingest_dt", "2024-01-02") == "orders/ingest_dt=2024-01-02"
    assert partition_dir("product_catalog", "category", "Books") == "product_catalog/category=Books"


def test_partition_name() -> None:
    assert partition_name("signup_date", "2024-01-02") == "signup_date=2024-01-02"


@pytest.mark.parametrize(("index", "name"), [(0, "part-00000.parquet"), (12, "part-00012.parquet")])
def test_part_file_name_has_five_digits(index: int, name: str) -> None:
    assert part_file_name(index) == name


def test_part_file_name_rejects_negative() -> None:
    with pytest.raises(ValueError):
        part_file_name(-1)


@pytest.mark.parametrize("value", ["", ".", "..", "a/../b", "/etc", "a\\b", "a\x00b", "x/"])
def test_validate_segment_rejects_traversal(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_segment(value, "partition value")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("partition value ")


def test_validate_segment_message_names_the_rule() -> None:
    with pytest.raises(
        ConfigError, match=r"^partition value 'a/../b': must not contain '/', '\.\.'"
    ):
        validate_segment("a/../b", "partition value")


@pytest.mark.parametrize("value", ["2024-01-02", "Books", "Home & Garden", "a..b", "x=y"])
def test_validate_segment_accepts_plain_names(value: str) -> None:
    assert validate_segment(value, "partition value") == value


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [("../x", "ingest_dt", "2024-01-01"), ("orders", "a/b", "1"), ("orders", "k=v", "1")],
)
def test_partition_dir_validates_every_segment(table: str, key: str, value: str) -> None:
    with pytest.raises(ConfigError):
        partition_dir(table, key, value)


def test_file_name_classifiers() -> None:
    assert is_part_file("part-00000.parquet")
    assert is_part_file("part-0000.parquet")  # the older tool's names are cleaned up too
    assert not is_part_file("_MANIFEST.json")
    assert not is_part_file("part-00000.parquet.bak")
    assert is_temp_file(".part-00000.parquet.tmp-123")
    assert not is_temp_file("part-00000.parquet")
