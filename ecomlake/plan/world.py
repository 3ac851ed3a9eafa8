"""The world plan: every fact that crosses days, computed once on the driver and broadcast.

A day task slices its rows out of these arrays by day number (`*_on(day)`), without copying.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ecomlake.config import EcomConfig
from ecomlake.plan.calendar import US_PER_DAY, day_date
from ecomlake.plan.carts import CartPlan, build_carts
from ecomlake.plan.catalog import CatalogPlan, build_catalog
from ecomlake.plan.customers import CustomerPlan, ShopperCut, build_customers
from ecomlake.plan.lexicon import Lexicon
from ecomlake.plan.lines import LineModel
from ecomlake.plan.orders import OrderPlan, build_orders
from ecomlake.plan.returns import ReturnPlan, build_returns
from ecomlake.plan.sorting import stable_argsort
from ecomlake.plan.visits import build_visits
from ecomlake.rng import Rng


@dataclass(eq=False, repr=False)  # arrays: == would be ambiguous, a repr tens of KB
class WorldPlan:
    """Config, seed, window and the plan arrays of every entity."""

    config: EcomConfig
    seed: int
    start_day: int
    end_day: int
    lexicon: Lexicon
    catalog: CatalogPlan
    line_model: LineModel
    customers: CustomerPlan
    carts: CartPlan
    orders: OrderPlan
    returns: ReturnPlan
    signup_order: np.ndarray  # numbers of the customers that exist, sorted by signup day
    _cart_offsets: np.ndarray
    _order_offsets: np.ndarray
    _return_offsets: np.ndarray
    _signup_sorted: np.ndarray  # signup day of each entry of signup_order

    def __repr__(self) -> str:
        first, last = day_date(self.start_day), day_date(self.end_day)
        return (
            f"WorldPlan(seed={self.seed}, window={first}..{last}, "
            f"customers={self.customers.size:,}, carts={self.carts.size:,}, "
            f"orders={self.orders.size:,}, returns={self.returns.size:,})"
        )

    @property
    def rng(self) -> Rng:
        return Rng(self.seed)

    @property
    def days(self) -> range:
        return range(self.start_day, self.end_day + 1)

    def carts_on(self, day: int) -> slice:
        return self._slice(self._cart_offsets, day)

    def orders_on(self, day: int) -> slice:
        return self._slice(self._order_offsets, day)

    def returns_on(self, day: int) -> slice:
        return self._slice(self._return_offsets, day)

    def customers_on(self, day: int) -> np.ndarray:
        """Customers whose signup day is `day` (registered, and guests on their first visit)."""
        # Needles of the haystack's dtype: int64 needles would copy 2 M int32 days per call.
        bounds = np.array([day, day + 1], dtype=self._signup_sorted.dtype)
        lo, hi = np.searchsorted(self._signup_sorted, bounds)
        return self.signup_order[lo:hi]

    def signup_days(self) -> np.ndarray:
        """Distinct signup days of existing customers (some may precede the window)."""
        return np.unique(self._signup_sorted)

    def _slice(self, offsets: np.ndarray, day: int) -> slice:
        if day < self.start_day or day > self.end_day:
            return slice(0, 0)
        i = day - self.start_day
        return slice(int(offsets[i]), int(offsets[i + 1]))


# The entity plans, by WorldPlan attribute: everything else in a world derives from them.
ENTITY_PLANS = {
    "customers": CustomerPlan,
    "carts": CartPlan,
    "orders": OrderPlan,
    "returns": ReturnPlan,
}


def build_world(
    cfg: EcomConfig,
    seed: int,
    start_day: int,
    end_day: int,
    block: tuple[int, int] | None = None,
    shopper_cut: ShopperCut = None,
) -> WorldPlan:
    """Plan the whole window [start_day, end_day] (inclusive day numbers), for every customer
    or for the customer numbers `block` = [lo, hi) with the world's `shopper_cut`: customers
    are independent in the plan, so a block's entities are exactly the whole world's entities
    of those customers (plan/blocks.py puts the blocks together)."""
    rng = Rng(seed)
    lex = Lexicon.from_config(cfg)
    catalog = build_catalog(cfg, lex, rng)
    model = LineModel.from_config(cfg, lex, catalog)
    customers = build_customers(cfg, lex, rng, start_day, end_day, block, shopper_cut)
    visits = build_visits(cfg, lex, rng, customers, start_day, end_day)
    carts = build_carts(cfg, lex, rng, customers, visits, model)
    orders = build_orders(lex, rng, customers, carts, model, catalog)
    returns = build_returns(cfg, lex, rng, customers, carts, orders, end_day)
    _set_guest_signups(customers, carts)
    entities = {"customers": customers, "carts": carts, "orders": orders, "returns": returns}
    return _assemble(cfg, seed, start_day, end_day, lex, catalog, model, entities)


def assemble_world(
    cfg: EcomConfig, seed: int, start_day: int, end_day: int, arrays: dict[str, np.ndarray]
) -> WorldPlan:
    """The world whose entity plans are `arrays` (as `world_arrays` names them);
    the lexicon, catalog and line model are rebuilt from the config, which is cheap."""
    entities = {}
    for name, kind in ENTITY_PLANS.items():
        values = {
            f.name: arrays[f"{name}.{f.name}"]
            for f in dataclasses.fields(kind)
            if f.default is dataclasses.MISSING or f"{name}.{f.name}" in arrays
        }
        entities[name] = kind(**{k: v.item() if v.ndim == 0 else v for k, v in values.items()})
    return index_world(cfg, seed, start_day, end_day, entities)


def index_world(
    cfg: EcomConfig,
    seed: int,
    start_day: int,
    end_day: int,
    entities: dict,
    signup_order: np.ndarray | None = None,
    dated: tuple[int | None, int | None] = (None, None),
) -> WorldPlan:
    """The world of these entity plans; the lexicon, catalog and line model are rebuilt from
    the config, which is cheap. A day's slice of a blocked world (plan/blocks.py) gives its
    `signup_order` and `dated`, how many leading carts and orders belong to its days."""
    lex = Lexicon.from_config(cfg)
    catalog = build_catalog(cfg, lex, Rng(seed))
    model = LineModel.from_config(cfg, lex, catalog)
    return _assemble(
        cfg, seed, start_day, end_day, lex, catalog, model, entities, signup_order, dated
    )


def world_arrays(world: WorldPlan) -> dict[str, np.ndarray]:
    """The entity plans' arrays by dotted name (`carts.ts_us`), plain ints as 0-d arrays: what
    `assemble_world` takes back."""
    out: dict[str, np.ndarray] = {}
    for name in ENTITY_PLANS:
        part = getattr(world, name)
        for f in dataclasses.fields(part):
            value = getattr(part, f.name)
            if value is not None:  # an unset optional field keeps its default
                out[f"{name}.{f.name}"] = np.asarray(value)
    return out


def _assemble(
    cfg: EcomConfig,
    seed: int,
    start_day: int,
    end_day: int,
    lex: Lexicon,
    catalog: CatalogPlan,
    model: LineModel,
    entities: dict,
    signup_order: np.ndarray | None = None,
    dated: tuple[int | None, int | None] = (None, None),
) -> WorldPlan:
    """Index the entity plans by day (the first `dated` carts and orders; all by default)."""
    carts, orders, returns = entities["carts"], entities["orders"], entities["returns"]
    bounds = np.arange(start_day, end_day + 2)
    cart_day = carts.ts_us[: dated[0]] // US_PER_DAY
    customers = entities["customers"]
    if signup_order is None:
        signup_order = _signup_order(customers)
    return WorldPlan(
        config=cfg,
        seed=seed,
        start_day=start_day,
        end_day=end_day,
        lexicon=lex,
        catalog=catalog,
        line_model=model,
        **entities,
        signup_order=signup_order,
        _cart_offsets=np.searchsorted(cart_day, bounds),
        _order_offsets=np.searchsorted(cart_day[orders.cart[: dated[1]]], bounds),
        _return_offsets=np.searchsorted(returns.day, bounds),
        _signup_sorted=customers.signup_day[customers.local(signup_order)],
    )


def _set_guest_signups(customers: CustomerPlan, carts: CartPlan) -> None:
    """A guest's signup day is the day of its first cart; guests who never shop keep -1.
    Only guests' carts are read (a quarter of them in the scale world)."""
    first = np.full(customers.size, np.iinfo(np.int64).max)
    of_guest = np.flatnonzero(customers.is_guest(carts.customer))
    day = carts.ts_us[of_guest] // US_PER_DAY
    np.minimum.at(first, customers.local(carts.customer[of_guest]), day)
    guests = np.flatnonzero(customers.is_guest(customers.numbers()))
    shopped = first[guests] != np.iinfo(np.int64).max
    customers.signup_day[guests[shopped]] = first[guests[shopped]]


def _signup_order(customers: CustomerPlan) -> np.ndarray:
    """Numbers of existing customers sorted by (signup day, number)."""
    exists = np.flatnonzero(customers.signup_day >= 0)
    return customers.numbers_at(exists[stable_argsort(customers.signup_day[exists])])
