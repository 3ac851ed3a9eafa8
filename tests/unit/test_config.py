"""Config loading: shipped and user YAMLs load, and each bad input gives one exact line."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecomlake.config import EcomConfig, config_fingerprint, load_config, load_config_text
from ecomlake.errors import ConfigError
from ecomlake.run.window import DayChoice

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GEN_CONFIG = PROJECT_ROOT / "gen_config"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"reference configs not checked out at {REFERENCE}"
)


@pytest.fixture(scope="module")
def quick_text() -> str:
    return (GEN_CONFIG / "quick.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def quick_data(quick_text: str) -> dict[str, Any]:
    return yaml.safe_load(quick_text)


@pytest.fixture(scope="module")
def quick(quick_text: str) -> EcomConfig:
    return load_config_text(quick_text, "quick.yaml")


def config_error(text: str, source: str = "test.yaml") -> str:
    """The message of the ConfigError that `text` raises, checked to be a single line."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, source)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return message


def mutated(data: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> str:
    """The quick config as YAML text, after `change` has edited a deep copy of it."""
    edited = copy.deepcopy(data)
    change(edited)
    return yaml.safe_dump(edited, sort_keys=False)


def params(data: dict[str, Any]) -> dict[str, Any]:
    return data["parameters"]


# --- configs that must load ----------------------------------------------------------------


@needs_reference
def test_reference_template_loads_unchanged() -> None:
    cfg = load_config(REFERENCE / "ecom_sales_gen_template.yaml")
    assert cfg.lookup_config.product_catalog.num_products == 1286
    assert cfg.parameters.seasonal_factors == {7: 1.2, 11: 1.6, 12: 2.1}
    assert cfg.parameters.pinned_window() is None


@needs_reference
def test_reference_quick_loads_unchanged() -> None:
    cfg = load_config(REFERENCE / "ecom_sales_gen_quick.yaml")
    assert cfg.lookup_config.customers.num_customers == 300000
    assert cfg.row_generators is not None and cfg.output_dir == "output"


@pytest.mark.parametrize(
    ("name", "start", "end", "customers", "products"),
    [
        ("quick", date(2024, 1, 1), date(2024, 3, 31), 2000, 200),
        ("template", date(2025, 1, 1), date(2025, 12, 31), 10000, 1286),
        ("backlog", date(2020, 1, 1), date(2026, 1, 8), 2150000, 3000),
    ],
)
def test_gen_config_loads_with_pinned_window(
    name: str, start: date, end: date, customers: int, products: int
) -> None:
    cfg = load_config(GEN_CONFIG / f"{name}.yaml")
    assert DayChoice("t").world(cfg, date(2000, 1, 1)) == (start, end, True)
    assert cfg.lookup_config.customers.num_customers == customers
    assert cfg.lookup_config.product_catalog.num_products == products
    assert cfg.channel_rules and cfg.faker_seed == 42


# --- fingerprint -----------------------------------------------------------------------------


def test_fingerprint_is_stable_across_loads(quick_text: str, quick: EcomConfig) -> None:
    again = load_config_text(quick_text, "again.yaml")
    assert config_fingerprint(again) == config_fingerprint(quick)
    assert len(config_fingerprint(quick)) == 64


def test_fingerprint_changes_when_a_knob_changes(quick_data: dict, quick: EcomConfig) -> None:
    text = mutated(quick_data, lambda d: params(d).update(conversion_rate=0.13))
    assert config_fingerprint(load_config_text(text, "t")) != config_fingerprint(quick)


def test_fingerprint_ignores_keys_that_never_change_data(
    quick_data: dict, quick: EcomConfig
) -> None:
    text = mutated(quick_data, lambda d: d.update(output_dir="elsewhere", row_generators={}))
    assert config_fingerprint(load_config_text(text, "t")) == config_fingerprint(quick)


# --- one test per kind of bad input ----------------------------------------------------------


def test_probability_out_of_range(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d).update(conversion_rate=1.5))
    assert config_error(text) == "parameters.conversion_rate: must be between 0 and 1"


def test_an_infinite_number_is_named_as_such(quick_data: dict) -> None:
    """YAML's .inf was told "must not be negative", which it is not."""
    text = mutated(quick_data, lambda d: params(d).update(conversion_rate=float("inf")))
    assert config_error(text) == "parameters.conversion_rate: must be a finite number, got inf"


def test_distribution_not_summing_to_one(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d)["order_channel_distribution"].update(Web=0.4))
    assert config_error(text) == "parameters.order_channel_distribution: must sum to 1 (got 0.95)"


def test_unordered_range(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: d["tables"][3].update(item_count_range=[8, 1]))
    assert config_error(text) == "tables[3].item_count_range: must be ordered [low, high]"


def test_invalid_date(quick_text: str) -> None:
    text = quick_text.replace("start_date: 2024-01-01", "start_date: 2024-13-01")
    assert config_error(text) == "parameters.start_date: invalid date '2024-13-01'"


def test_start_after_end(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d).update(start_date=date(2024, 4, 1)))
    assert config_error(text) == (
        "parameters.start_date: must be on or before end_date (2024-04-01 > 2024-03-31)"
    )


def test_only_one_of_start_and_end(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d).pop("end_date"))
    assert config_error(text) == "parameters.end_date: must be set when start_date is set"


def test_unknown_key_typo(quick_data: dict) -> None:
    def misspell(d: dict) -> None:
        params(d)["conversion_rte"] = params(d).pop("conversion_rate")

    assert config_error(mutated(quick_data, misspell)) == (
        "parameters.conversion_rte: unknown key (did you mean 'conversion_rate'?) (+1 more)"
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(messiness={"Heavy_Mess": {}}),
         "messiness.Heavy_Mess: unknown key (did you mean 'heavy_mess'?)"),
        (lambda d: d.update(messiness={"heavy_mess": {"whitespce": 0.5}}),
         "messiness.heavy_mess.whitespce: unknown key (did you mean 'whitespace'?)"),
        (lambda d: d["tables"][0].update(colums=[]),
         "tables[0].colums: unknown key (did you mean 'columns'?)"),
        (lambda d: d.update(Faker_Seed=3), "Faker_Seed: unknown key (did you mean 'faker_seed'?)"),
        (lambda d: params(d).update(zzz=1), "parameters.zzz: unknown key (check the spelling)"),
    ],
)  # fmt: skip
def test_an_unknown_optional_key_is_matched_against_the_keys_there(quick_data, mutate, message):
    """Only missing required keys were offered: a misspelt optional key, or a level in another
    case, got 'check the spelling'."""
    assert config_error(mutated(quick_data, mutate)) == message


def test_missing_required_section(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: d.pop("vocab"))
    assert config_error(text) == "vocab: field required"


def test_wrong_type(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: d["lookup_config"]["customers"].update(num_customers="x"))
    assert config_error(text) == (
        "lookup_config.customers.num_customers: must be a whole number (got 'x')"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a whole number (got True)"),
        ("200", "must be a whole number (got '200')"),
        (200.5, "must be a whole number (got 200.5)"),
    ],
)
def test_a_count_is_a_number_not_a_flag_or_text(quick_data: dict, value, message) -> None:
    """YAML's `yes`/`true` made a one-product world, and "200" passed, without a word."""
    text = mutated(
        quick_data, lambda d: d["lookup_config"]["product_catalog"].update(num_products=value)
    )
    assert config_error(text) == f"lookup_config.product_catalog.num_products: {message}"


def test_numpy_numbers_in_a_dict_config_are_numbers(quick_data: dict) -> None:
    """A config built in a notebook often holds numpy scalars: they are the numbers they are."""
    import numpy as np

    from ecomlake.library import load_config

    def numpy_values(d: dict) -> None:
        d["lookup_config"]["product_catalog"]["num_products"] = np.int64(300)
        params(d)["conversion_rate"] = np.float64(0.2)

    data = copy.deepcopy(quick_data)
    numpy_values(data)
    cfg = load_config(data)
    assert cfg.lookup_config.product_catalog.num_products == 300
    assert type(cfg.lookup_config.product_catalog.num_products) is int
    assert cfg.parameters.conversion_rate == 0.2


def test_a_rate_is_a_number_not_a_flag(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d).update(conversion_rate=True))
    assert config_error(text) == "parameters.conversion_rate: must be a number (got True)"


def test_category_without_vocab(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: d["vocab"]["categories"].append("Garden"))
    assert config_error(text) == (
        "vocab.categories[5]: must have an entry 'garden' in vocab.category_vocab"
    )


@pytest.mark.parametrize(
    ("category", "problem"),
    [
        ("Home/Garden", "it must not be empty, '.' or '..', or hold '/'"),
        ("..", "it must not be empty, '.' or '..'"),
        ("é" * 122, "it takes 244 bytes, at most 242 fit"),
        ("Bo%2Foks", "'%' and two hex digits would be read back as an escape"),
    ],
)
def test_a_category_that_cannot_name_a_folder(quick_data: dict, category, problem) -> None:
    """Each category is a folder of the lake: one that cannot be is refused before any write
    (it failed the run's first day, after an --overwrite had cleared the lake)."""

    def odd(d: dict) -> None:
        d["vocab"]["categories"].append(category)
        d["vocab"]["category_vocab"][category.lower()] = d["vocab"]["category_vocab"]["books"]

    message = config_error(mutated(quick_data, odd))
    assert message.startswith("vocab.categories[5]: cannot name a partition folder: " + problem)


def test_loyalty_list_wrong_length(quick_data: dict) -> None:
    def three_weights(d: dict) -> None:
        params(d)["loyalty_distribution_by_channel"]["Website"] = [0.5, 0.3, 0.2]

    assert config_error(mutated(quick_data, three_weights)) == (
        "parameters.loyalty_distribution_by_channel.Website: "
        "must have 4 weights, one per vocab.loyalty_tiers (got 3)"
    )


def test_lines_per_cart_are_bounded(quick_data: dict) -> None:
    """[4, 10**9] lines passed, and planning asked for 124 GiB (a raw MemoryError)."""

    def huge_tier(d: dict) -> None:
        params(d)["cart_behavior_by_tier"]["Platinum"]["item_count_range"] = [4, 10**9]

    assert config_error(mutated(quick_data, huge_tier)) == (
        "parameters.cart_behavior_by_tier.Platinum.item_count_range: values must be 1 to 1000"
    )
    cart_items = next(i for i, t in enumerate(quick_data["tables"]) if t["name"] == "cart_items")

    def huge_table(d: dict) -> None:
        d["tables"][cart_items]["item_count_range"] = [1, 1001]

    assert config_error(mutated(quick_data, huge_table)) == (
        f"tables[{cart_items}].item_count_range: values must be 1 to 1000"
    )


def test_missing_shipping_cost_for_a_speed(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d)["shipping_costs"].pop("Overnight"))
    assert config_error(text) == (
        "parameters.shipping_costs: must have a cost for shipping speed 'Overnight'"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == f"config: file not found: {missing}"
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)  # a folder cannot be read as a file
    assert str(caught.value).startswith(f"config: cannot read {tmp_path}: ")
    assert "\n" not in str(caught.value)


def test_an_endless_or_huge_file_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    """`/dev/zero` as the config was read until the machine ran out of memory."""
    with pytest.raises(
        ConfigError, match=r"^config: /dev/zero is larger than 4 MiB: not a config$"
    ):
        load_config("/dev/zero")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (4 * 2**20) + "\n")
    with pytest.raises(ConfigError, match="is larger than 4 MiB"):
        load_config(big)


def test_invalid_yaml_syntax() -> None:
    assert config_error("parameters: [1, 2\n", "bad.yaml") == (
        "config: invalid YAML in bad.yaml at line 2, column 1: "
        "expected ',' or ']', but got '<stream end>'"
    )


def test_non_mapping_root() -> None:
    assert config_error("- a\n- b\n", "list.yaml") == (
        "config: list.yaml must hold a mapping at the top level (got a list)"
    )


# --- other cross-section rules ------------------------------------------------------------


def test_several_errors_report_the_first_and_count_the_rest(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d).update(conversion_rate=2, return_rate=-1))
    assert config_error(text) == "parameters.conversion_rate: must be between 0 and 1 (+1 more)"


def test_key_with_a_space_is_quoted_in_the_path(quick_data: dict) -> None:
    def bad_rate(d: dict) -> None:
        params(d)["return_rate_by_signup_channel"]["Social Media"] = 1.2

    assert config_error(mutated(quick_data, bad_rate)) == (
        'parameters.return_rate_by_signup_channel["Social Media"]: must be between 0 and 1'
    )


def test_channel_rule_needs_a_known_payment_method(quick_data: dict) -> None:
    def allow_bitcoin(d: dict) -> None:
        d["channel_rules"]["Phone"]["allowed_payment_methods"].append("Bitcoin")

    assert config_error(mutated(quick_data, allow_bitcoin)) == (
        "channel_rules.Phone.allowed_payment_methods[2]: must be a payment method listed in "
        "parameters.global_payment_method_distribution (got 'Bitcoin')"
    )


def test_payment_method_allowed_by_a_channel_needs_a_fee_rate(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d)["financials"]["payment_fee_rates"].pop("Ebay"))
    assert config_error(text) == (
        "parameters.financials.payment_fee_rates: must have a rate for payment method 'Ebay'"
    )


def test_duplicate_yaml_key(quick_text: str) -> None:
    text = quick_text.replace("\nparameters:\n", "\nparameters:\n  return_rate: 0.3\n")
    lines = text.splitlines()
    line = next(i for i, s in enumerate(lines, 1) if s.startswith("  return_rate: 0.25"))
    assert config_error(text, "dup.yaml") == (
        f"config: invalid YAML in dup.yaml at line {line}, column 3: duplicate key 'return_rate'"
    )


def test_month_keys_may_be_text(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d).update(seasonal_factors={"7": 1.2, 12: 2.0}))
    assert load_config_text(text, "t").parameters.seasonal_factors == {7: 1.2, 12: 2.0}


# --- helpers used by the planner -------------------------------------------------------------


def test_customer_status_comes_from_the_customers_column(quick: EcomConfig) -> None:
    assert quick.customer_status_distribution() == (["Active", "Inactive"], [0.9, 0.1])


def test_customer_status_falls_back_to_vocab_and_parameters(quick_data: dict) -> None:
    def drop_column_options(d: dict) -> None:
        for column in d["tables"][0]["columns"]:
            if column["name"] == "customer_status":
                column.pop("options")
                column.pop("probabilities")
        params(d).pop("customer_status_probs")

    cfg = load_config_text(mutated(quick_data, drop_column_options), "t")
    assert cfg.customer_status_distribution() == (
        ["Active", "Inactive", "Dormant"],
        [0.7, 0.2, 0.1],
    )


def test_world_window_without_pins(quick_data: dict) -> None:
    def unpin(d: dict) -> None:
        params(d).pop("start_date")
        params(d).pop("end_date")

    cfg = load_config_text(mutated(quick_data, unpin), "t")
    today = date(2024, 6, 30)
    assert DayChoice("t").world(cfg, today) == (date(2024, 4, 1), today, False)
    cli = (date(2023, 1, 1), date(2023, 1, 31))
    assert DayChoice("t", *cli).world(cfg, today) == (*cli, True)
    rule = r"^O.end_date: required when O.start_date is given$"
    with pytest.raises(ConfigError, match=rule):
        DayChoice("O", date(2023, 1, 1)).world(cfg, today)


def test_world_window_config_pins_win(quick: EcomConfig) -> None:
    window = DayChoice("t", date(2023, 1, 1), date(2023, 1, 2)).world(quick, date(2030, 1, 1))
    assert window == (date(2024, 1, 1), date(2024, 3, 31), True)


def test_segment_key_typo_is_an_error(quick_data: dict) -> None:
    text = mutated(
        quick_data,
        lambda d: params(d)["refund_behavior_by_reason"].update(
            Defectiv={"full_return_prob": 1, "partial_quantity_prob": 0}
        ),
    )
    assert config_error(text) == (
        "parameters.refund_behavior_by_reason.Defectiv: "
        "must be a return reason of this config or 'default' (got 'Defectiv')"
    )


def test_cart_behaviour_default_is_optional(quick_data: dict) -> None:
    text = mutated(quick_data, lambda d: params(d)["cart_behavior_by_tier"].pop("default"))
    assert "default" not in load_config_text(text).parameters.cart_behavior_by_tier


def test_a_yaml_merge_key_is_refused_saying_so(quick_text: str) -> None:
    """It was "could not determine a constructor for the tag ...merge"."""
    text = quick_text.replace("\nparameters:\n", "\nparameters:\n  <<: {return_rate: 0.3}\n")
    message = config_error(text, "merge.yaml")
    assert message.endswith("merge keys (<<) are not supported: write the keys out")
