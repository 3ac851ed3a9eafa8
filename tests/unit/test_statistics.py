"""Statistics over a larger world land near the configured values (plan-level, no disk).

Tolerances are several standard errors of the sample sizes involved, so the tests are stable
for this seed yet fail if a knob stops being honoured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from ecomlake.config.models import EcomConfig
from ecomlake.plan.calendar import US_PER_DAY, day_number, month_of
from ecomlake.plan.carts import CONVERTED, EMPTIED
from ecomlake.plan.visits import COPY_SLOT_BASE, REACTIVATION_SLOT
from ecomlake.plan.world import WorldPlan, build_world
from ecomlake.render.order_facts import draw_order_facts

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world() -> WorldPlan:
    raw = yaml.safe_load((REPO / "gen_config" / "template.yaml").read_text())
    raw["lookup_config"]["customers"]["num_customers"] = 120_000
    for table in raw["tables"]:
        if table["name"] == "shopping_carts":
            table["generate"] = 120_000
    raw["parameters"].update(start_date="2023-01-01", end_date="2024-12-31", signup_years=2)
    cfg = EcomConfig.model_validate(raw)
    import datetime as dt

    return build_world(cfg, 11, day_number(dt.date(2023, 1, 1)), day_number(dt.date(2024, 12, 31)))


def _close(actual: float, expected: float, n: int, sigmas: float = 4.0) -> None:
    se = np.sqrt(max(expected * (1 - expected), 1e-9) / max(n, 1))
    assert abs(actual - expected) <= sigmas * se + 1e-3, (actual, expected, n)


def _first_cart_of_each_customer(world: WorldPlan) -> np.ndarray:
    carts = world.carts
    _, first = np.unique(carts.customer, return_index=True)  # carts are in time order
    return first


def test_first_cart_conversion_includes_boost(world):
    p, lex = world.config.parameters, world.lexicon
    first = _first_cart_of_each_customer(world)
    channel = world.customers.channel[world.carts.customer[first]]
    converted = world.carts.status[first] == CONVERTED
    for i, name in enumerate(lex.signup_channels):
        sel = channel == i
        expected = p.conversion_rate * p.first_purchase_conversion_boost.get(name, 1.0)
        _close(converted[sel].mean(), expected, sel.sum())


def test_conversion_after_first_order_is_the_plain_rate(world):
    carts = world.carts
    order = np.argsort(carts.customer, kind="stable")
    cust, conv = carts.customer[order], carts.status[order] == CONVERTED
    hits = np.cumsum(conv) - conv
    start = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    before = hits - np.repeat(hits[start], np.diff(np.r_[start, len(cust)]))
    after_first = before > 0
    _close(conv[after_first].mean(), world.config.parameters.conversion_rate, after_first.sum())


def test_emptied_share_of_unconverted_carts(world):
    status = world.carts.status
    unconverted = status != CONVERTED
    expected = world.config.parameters.abandoned_cart_emptied_prob
    _close((status[unconverted] == EMPTIED).mean(), expected, unconverted.sum())


def test_return_rate_by_signup_channel(world):
    p, lex = world.config.parameters, world.lexicon
    orders, carts = world.orders, world.carts
    order_day = carts.ts_us[orders.cart] // US_PER_DAY
    early = order_day <= world.end_day - 366  # every return delay fits in the window
    returned = np.zeros(orders.size, bool)
    returned[world.returns.order[world.returns.event == 0]] = True
    channel = world.customers.channel[carts.customer[orders.cart]]
    for i, name in enumerate([*lex.signup_channels, None]):
        sel = early & (channel == (i if name else -1))
        expected = (
            p.return_rate_by_signup_channel.get(name, p.return_rate) if name else p.return_rate
        )
        _close(returned[sel].mean(), expected, sel.sum())


def test_second_return_probability(world):
    r = world.returns
    has_second = np.zeros(world.orders.size, bool)
    has_second[r.order[r.event == 1]] = True
    first = r.event == 0
    eligible = (
        first & (r.n_lines < world.orders.n_products[r.order]) & (r.day <= world.end_day - 400)
    )
    expected = world.config.parameters.multi_return_probability
    _close(has_second[r.order[eligible]].mean(), expected, eligible.sum())


def test_order_channel_speed_and_payment_mix(world):
    lex, cfg = world.lexicon, world.config
    facts = draw_order_facts(world, np.arange(world.orders.size))
    n = world.orders.size
    for i, share in enumerate(lex.order_channel_weights):
        _close((facts.channel == i).mean(), share, n)
    for i, share in enumerate(lex.speed_weights):
        _close((facts.speed == i).mean(), share, n)
    for c, channel in enumerate(lex.order_channels):
        sel = facts.channel == c
        allowed = cfg.channel_rules[channel].allowed_payment_methods
        used = {lex.payment_methods[m] for m in np.unique(facts.payment[sel])}
        assert used <= set(allowed), (channel, used)
    web = facts.channel == lex.order_channels.index("Web")
    weights = np.array(lex.payment_weights) * [
        m in cfg.channel_rules["Web"].allowed_payment_methods for m in lex.payment_methods
    ]
    for m, w in enumerate(weights / weights.sum()):
        _close((facts.payment[web] == m).mean(), w, web.sum())


def test_initial_tier_mix_by_channel(world):
    cust, lex, p = world.customers, world.lexicon, world.config.parameters
    registered = np.arange(cust.n_registered)
    no_tier = cust.tier[registered] == -1
    _close(no_tier.mean(), p.no_tier_probability, len(registered))
    for i, channel in enumerate(lex.signup_channels):
        sel = (cust.channel[registered] == i) & ~no_tier
        weights = p.loyalty_distribution_by_channel.get(
            channel, p.loyalty_distribution_by_channel["default"]
        )
        for t, w in enumerate(weights):
            _close((cust.tier[registered][sel] == t).mean(), w, sel.sum())


def test_seasonal_extras_follow_the_monthly_factors(world):
    carts = world.carts
    slot = carts.key & ((1 << 17) - 1)
    copies = slot >= COPY_SLOT_BASE
    day = carts.ts_us // US_PER_DAY
    mid_month = (
        day.astype("datetime64[D]") - day.astype("datetime64[D]").astype("datetime64[M]")
    ).astype(int)
    counts = np.bincount(carts.customer[~copies], minlength=world.customers.size)
    base = ~copies & (counts[carts.customer] > 1) & (mid_month >= 4) & (mid_month <= 24)
    base &= day <= world.end_day - 5
    source = (slot[copies] - COPY_SLOT_BASE) // 16
    parent = dict(
        zip(
            zip(carts.customer[base].tolist(), slot[base].tolist(), strict=True),
            range(base.sum()),
            strict=True,
        )
    )
    copies_per_base = np.zeros(base.sum())
    for c, s in zip(carts.customer[copies].tolist(), source.tolist(), strict=True):
        if (c, s) in parent:
            copies_per_base[parent[(c, s)]] += 1
    months = month_of(day[base])
    for month, factor in world.config.parameters.seasonal_factors.items():
        sel = months == month
        assert abs(copies_per_base[sel].mean() - (factor - 1)) < 0.05, (month, factor)
    plain = ~np.isin(months, list(world.config.parameters.seasonal_factors))
    assert copies_per_base[plain].sum() == 0


def test_reactivation_probability(world):
    carts, p = world.carts, world.config.parameters.reactivation_settings
    slot = carts.key & ((1 << 17) - 1)
    first = _first_cart_of_each_customer(world)
    eligible = carts.ts_us[first] // US_PER_DAY <= world.end_day - p.delay_days_range[1]
    reactivated = np.zeros(world.customers.size, bool)
    reactivated[carts.customer[slot == REACTIVATION_SLOT]] = True
    _close(reactivated[carts.customer[first][eligible]].mean(), p.probability, eligible.sum())
    assert carts.is_reactivation.sum() == (slot == REACTIVATION_SLOT).sum()
