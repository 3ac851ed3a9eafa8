"""The C kernels (ecomlake/_kernels.c) against their numpy / pyarrow fallbacks: same bits, same
floats, same id strings, same joined strings for every input shape, and bad calls raise instead
of crashing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ecomlake.plan import ids
from ecomlake.render import columns, contacts
from ecomlake.rng import Rng, cumulative, hashing

kernels = hashing._kernels
native = pytest.mark.skipif(kernels is None, reason="ecomlake._kernels is not built")
KEY = hashing.stream_key(42, "kernels")
RANDOM = np.random.default_rng(15)
IDS = RANDOM.integers(-(2**63), 2**63 - 1, 5_000, dtype=np.int64, endpoint=True)
GRID = np.arange(12, dtype=np.int64).reshape(3, 4)

# (entity, index): scalar and per-entity indexes, broadcasting both ways, multi-dim, other
# dtypes, non-contiguous and Fortran-ordered arrays, empty arrays, 0-d values.
CASES = {
    "scalar index": (IDS, 3),
    "array index": (IDS, IDS[::-1] % 17),
    "index past int64": (IDS, np.uint64(2**64 - 1)),
    "uint64 ids": (IDS.view(np.uint64), RANDOM.integers(0, 2**64 - 1, 5_000, dtype=np.uint64)),
    "int32 ids and index": (IDS.astype(np.int32), (IDS % 1000).astype(np.int32)),
    "bool ids, float index": (IDS > 0, 2.0),
    "python list": ([0, 1, 2**40, -5], [7, 8, 9, 10]),
    "sliced": (IDS[1::3], IDS[::3][: len(IDS[1::3])]),
    "column index broadcast": (IDS[:40, None], np.arange(3)),
    "row index broadcast": (GRID, np.arange(4)),
    "entity broadcast": (np.int64(7), np.arange(5)),
    "one-element index": (IDS[:9], np.array([4])),
    "grid": (GRID, GRID * 3),
    "fortran grid": (np.asfortranarray(GRID), 1),
    "transposed grid and index": (GRID.T, np.asfortranarray(GRID.T) % 5),
    "3-d": (np.arange(24).reshape(2, 3, 4).transpose(1, 0, 2), np.arange(4)),
    "empty": (np.array([], np.int64), 0),
    "empty with empty index": (np.array([], np.int64), np.array([], np.int64)),
    "0-d": (np.int64(5), 0),
    "0-d index array": (np.array(9), np.array(2)),
}


def _numpy_path(fn, *args):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hashing, "_kernels", None)
        return fn(*args)


@native
@pytest.mark.parametrize("entity,index", CASES.values(), ids=CASES.keys())
def test_bits_and_units_equal_the_numpy_path(entity, index) -> None:
    bits = hashing.random_bits(KEY, entity, index)
    expected = _numpy_path(hashing.random_bits, KEY, entity, index)
    assert bits.dtype == expected.dtype == np.uint64
    assert bits.shape == expected.shape
    assert np.array_equal(bits, expected)
    units = hashing.random_units(KEY, entity, index)
    assert units.dtype == np.float64 and units.shape == expected.shape
    assert np.array_equal(units, hashing.to_unit(expected))
    assert units.tobytes() == _numpy_path(hashing.random_units, KEY, entity, index).tobytes()


@native
def test_bits_at_block_edges_equal_one_by_one() -> None:
    entity = np.arange(70_000)
    whole = hashing.random_bits(KEY, entity, entity % 7)
    for i in (0, 32_767, 32_768, 69_999):
        assert whole[i] == _numpy_path(hashing.random_bits, KEY, entity[i : i + 1], i % 7)[0]


@native
class TestKernelArguments:
    """Wrong buffers raise TypeError or ValueError; nothing is read or written out of bounds."""

    ENTITY = np.arange(4, dtype=np.int64)

    def test_rejects_other_dtypes(self) -> None:
        out = np.empty(4, np.uint64)
        with pytest.raises(TypeError, match="entity"):
            kernels.hash_bits(1, self.ENTITY.astype(np.int32), np.zeros(1, np.int64), out)
        with pytest.raises(TypeError, match="out"):
            kernels.hash_bits(1, self.ENTITY, np.zeros(1, np.int64), np.empty(4, np.float64))
        with pytest.raises(TypeError, match="out"):
            kernels.hash_units(1, self.ENTITY, np.zeros(1, np.int64), np.empty(4, np.uint64))
        with pytest.raises(TypeError):
            kernels.hash_bits(1, "text", np.zeros(1, np.int64), out)

    def test_rejects_wrong_sizes(self) -> None:
        with pytest.raises(ValueError, match="out holds 3"):
            kernels.hash_bits(1, self.ENTITY, np.zeros(1, np.int64), np.empty(3, np.uint64))
        with pytest.raises(ValueError, match="index holds 2"):
            kernels.hash_bits(1, self.ENTITY, np.zeros(2, np.int64), np.empty(4, np.uint64))
        with pytest.raises(ValueError, match="index holds 0"):
            kernels.hash_bits(1, self.ENTITY, np.zeros(0, np.int64), np.empty(4, np.uint64))

    def test_rejects_strided_or_read_only_buffers(self) -> None:
        index = np.zeros(1, np.int64)
        with pytest.raises(ValueError):
            kernels.hash_bits(1, np.arange(8)[::2], index, np.empty(4, np.uint64))
        read_only = np.empty(4, np.uint64)
        read_only.flags.writeable = False
        with pytest.raises(ValueError):
            kernels.hash_bits(1, self.ENTITY, index, read_only)
        with pytest.raises(ValueError):
            kernels.hash_bits(1, self.ENTITY, index, bytes(32))

    def test_rejects_keys_outside_uint64(self) -> None:
        out, index = np.empty(4, np.uint64), np.zeros(1, np.int64)
        for key in (-1, 2**64):
            with pytest.raises(ValueError, match="key"):
                kernels.hash_bits(key, self.ENTITY, index, out)
        with pytest.raises(TypeError):
            kernels.hash_bits(1.5, self.ENTITY, index, out)

    def test_format_ids_rejects_bad_calls(self) -> None:
        numbers = np.arange(3, dtype=np.int64)
        with pytest.raises(ValueError, match="row 1 has no prefix"):
            kernels.format_ids(numbers, (b"A",), np.array([0, 1, 0], np.uint8), 4)
        with pytest.raises(ValueError, match="one byte per row"):
            kernels.format_ids(numbers, (b"A", b"B"), np.array([0, 1], np.uint8), 4)
        with pytest.raises(TypeError, match="choice"):
            kernels.format_ids(numbers, (b"A",), np.zeros(3, np.int64), 4)
        with pytest.raises(TypeError, match="bytes"):
            kernels.format_ids(numbers, ("A",), None, 4)
        with pytest.raises(ValueError, match="prefixes"):
            kernels.format_ids(numbers, (), None, 4)
        with pytest.raises(ValueError, match="width"):
            kernels.format_ids(numbers, (b"A",), None, -1)
        with pytest.raises(TypeError, match="numbers"):
            kernels.format_ids(numbers.astype(np.uint64), (b"A",), None, 4)
        with pytest.raises(ValueError, match="one-dimensional"):
            kernels.format_ids(numbers.reshape(3, 1), (b"A",), None, 4)


EDGE_NUMBERS = [0, 1, 9, 10, 9_999, 10_000, 99_999_999, 100_000_000, 10**18, 2**62, 2**63 - 1]
NEGATIVE_NUMBERS = [-1, -9_999, -(10**9), -(2**63)]
paths = pytest.mark.parametrize("path", ["kernel", "pyarrow"])


def _choose_path(module: object, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run on the kernel (skipped when it is not built) or on `module`'s fallback."""
    if path == "kernel" and module._kernels is None:
        pytest.skip("ecomlake._kernels is not built")
    if path == "pyarrow":
        monkeypatch.setattr(module, "_kernels", None)


@pytest.fixture
def id_path(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _choose_path(ids, path, monkeypatch)


def _reference(prefixes: list[str], numbers: list[int], width: int) -> list[str]:
    """`str.rjust` pads like utf8_lpad: on the left, whole numbers, before a minus sign too."""
    return [p + str(n).rjust(width, "0") for p, n in zip(prefixes, numbers, strict=True)]


@paths
@pytest.mark.parametrize("width", [0, 1, 4, 8, 19, 20, 25])
def test_prefixed_pads_and_never_cuts(id_path, width: int) -> None:
    numbers = EDGE_NUMBERS + NEGATIVE_NUMBERS + [10**width - 1 if width < 19 else 7]
    got = ids.prefixed("ORD-", np.array(numbers), width)
    assert got.type == pa.string()
    assert got.to_pylist() == _reference(["ORD-"] * len(numbers), numbers, width)


@paths
def test_prefixed_random_slices_and_empty(id_path) -> None:
    numbers = RANDOM.integers(0, 10**10, 3_000)
    for part in (numbers, numbers[5:900], numbers[::7], numbers[:0]):
        got = ids.prefixed("RTN-", part)
        assert got.to_pylist() == _reference(["RTN-"] * len(part), part.tolist(), 8)
    assert ids.prefixed("CART-", []).to_pylist() == []


@paths
def test_customer_ids(id_path) -> None:
    customer = np.concatenate([np.arange(30), RANDOM.integers(0, 3 * 10**6, 2_000)])
    n_registered = 10**6
    for part, id_start in ((customer, 1), (customer[::3], 9_990), (customer[:0], 1)):
        guest = part >= n_registered
        number = np.where(guest, 100_000 + part - n_registered, id_start + part)
        expected = _reference(np.where(guest, "GUEST-", "CUST-").tolist(), number.tolist(), 4)
        assert ids.customer_ids(part, n_registered, id_start).to_pylist() == expected


@native
def test_kernel_ids_equal_pyarrow_buffers() -> None:
    """Same offsets and data bytes as pyarrow's cast + lpad + join, not only equal values."""
    numbers = np.array(EDGE_NUMBERS + NEGATIVE_NUMBERS + RANDOM.integers(0, 10**9, 500).tolist())
    fast = [ids.prefixed("ORD-", numbers), ids.customer_ids(numbers[numbers >= 0], 10**8, 1)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids, "_kernels", None)
        slow = [ids.prefixed("ORD-", numbers), ids.customer_ids(numbers[numbers >= 0], 10**8, 1)]
    for a, b in zip(fast, slow, strict=True):
        assert a.equals(b)
        for x, y in zip(a.buffers()[1:], b.buffers()[1:], strict=True):  # offsets, data
            assert x.to_pybytes() == y.to_pybytes()


RNG = Rng(42)
LOWS = RANDOM.integers(-(2**40), 2**40, 5_000)
BOUNDS = RANDOM.integers(-50, 50, (5_000, 2)).cumsum(axis=1)  # rows of (low, high), low <= high
# (ids, low, high, index): scalar and per-row bounds, span 1, spans near 2**62 and 2**63,
# negative lows, strided and other-dtype bounds, broadcasting and 0-d or empty ids (the numpy
# code's turn), empty spans (high = low - 1).
INTEGER_CASES = {
    "scalar bounds": (IDS, 1, 300, 0),
    "per-row bounds": (IDS, LOWS, LOWS + np.abs(IDS) % 1000, IDS % 7),
    "strided bound columns": (IDS, BOUNDS[:, 0], BOUNDS[:, 1], 3),
    "span 1": (IDS, LOWS, LOWS, 0),
    "span 2**62": (IDS, -(2**61), 2**62 - 2**61 - 1, 0),
    "spans near 2**62": (IDS, -(2**62) + IDS % 9, 2**62 - 1, IDS % 3),
    "span 2**63 - 1": (IDS, -(2**62), 2**62 - 2, 0),
    "whole int64 (span wraps)": (IDS, -(2**63), 2**63 - 1, 0),
    "negative bounds": (IDS, -1000, -3, 0),
    "empty spans": (IDS, LOWS, LOWS - 1, 0),
    "scalar low, per-row high": (IDS, -5, np.abs(IDS) % 100, 0),
    "int32 bounds": (IDS, LOWS.astype(np.int32), (LOWS + 9).astype(np.int32), 0),
    "id broadcast by index": (np.int64(7), 0, np.arange(5, 50), np.arange(45)),
    "one-element low": (IDS[:10], np.array([3]), 90, 0),
    "grid": (GRID, -3, GRID, 1),
    "0-d": (np.int64(5), 0, 9, 0),
    "empty": (IDS[:0], 0, 9, 0),
    "empty per-row": (IDS[:0], LOWS[:0], LOWS[:0], IDS[:0]),
}


@native
@pytest.mark.parametrize("ids,low,high,index", INTEGER_CASES.values(), ids=INTEGER_CASES.keys())
def test_integers_equal_the_numpy_path(ids, low, high, index) -> None:
    with np.errstate(over="ignore"):
        got = RNG.integers("kernels.integers", ids, low, high, index)
        expected = _numpy_path(RNG.integers, "kernels.integers", ids, low, high, index)
    assert type(got) is type(expected) and got.dtype == expected.dtype == np.int64
    assert np.shape(got) == np.shape(expected)
    assert np.array_equal(got, expected)
    bounded = np.shape(low) == np.shape(high) == np.shape(got)
    if bounded and np.all(np.asarray(low) <= high) and np.all(np.asarray(high) - low < 2**62):
        assert np.all((low <= got) & (got <= high))


def _cdf_table(weights: np.ndarray) -> np.ndarray:
    return np.array([cumulative(w) for w in weights])


UNITS = RNG.uniform("kernels.categories", IDS[:6], index=2)
WEIGHTS = RANDOM.random((5, 20))
WEIGHTS[:, [0, 3, 4, 19]] = 0  # zero-weight categories: repeated cdf values, first and last too
BOUNDARY = _cdf_table(np.ones((2, 8)))  # u exactly on a cdf entry: picks the next category
BOUNDARY[0, :7] = [0.0, *np.sort(UNITS)]
UNSORTED = RANDOM.random((3, 6))  # searchsorted on these is not a count: the counting path
UNSORTED[1, 2] = np.nan
# (ids, table, rows, index)
CATEGORY_CASES = {
    "4x20 table": (IDS, _cdf_table(WEIGHTS[:4]), np.abs(IDS) % 4, IDS % 5),
    "one row": (IDS, _cdf_table(WEIGHTS[:1]), np.zeros(len(IDS), np.int64), 0),
    "one category": (IDS, np.ones((3, 1)), np.abs(IDS) % 3, 0),
    "u on a cdf entry": (IDS[:6], BOUNDARY, np.zeros(6, np.int64), 2),
    "unsorted and NaN rows": (IDS, UNSORTED, np.abs(IDS) % 3, 1),
    "int32 rows, strided table": (IDS, _cdf_table(WEIGHTS)[::2], (IDS % 3).astype(np.int32), 0),
    "empty": (IDS[:0], _cdf_table(WEIGHTS), IDS[:0], 0),
}


@native
@pytest.mark.parametrize("ids,table,rows,index", CATEGORY_CASES.values(), ids=CATEGORY_CASES.keys())
def test_categorical_rows_equal_the_numpy_path(ids, table, rows, index) -> None:
    got = RNG.categorical_rows("kernels.categories", ids, table, rows, index)
    expected = _numpy_path(RNG.categorical_rows, "kernels.categories", ids, table, rows, index)
    assert got.dtype == expected.dtype == np.int64
    assert np.array_equal(got, expected)
    if len(ids) and np.all(np.diff(table, axis=1) >= 0):
        u = RNG.uniform("kernels.categories", ids, index=index)
        by_row = [
            np.searchsorted(table[r], x, side="right")
            for r, x in zip(rows[:50], u[:50], strict=True)
        ]
        assert got[:50].tolist() == np.minimum(by_row, table.shape[1] - 1).tolist()


def test_u_on_a_cdf_entry_is_counted() -> None:
    """The boundary case above is real: each uniform is one of the row's entries."""
    u = RNG.uniform("kernels.categories", IDS[:6], index=2)
    assert np.isin(u, BOUNDARY[0]).all()
    picks = RNG.categorical_rows("kernels.categories", IDS[:6], BOUNDARY, np.zeros(6, int), 2)
    assert picks.tolist() == [1 + np.sort(u).tolist().index(x) + 1 for x in u]


@native
@pytest.mark.parametrize(
    "weights",
    [WEIGHTS[0], [0, 0, 1], [0, 0, 0], [1], [1, -1, 1], [2.0, np.nan, 1.0]],
    ids=["zero weights", "leading zeros", "all zero", "one", "negative", "NaN"],
)
@pytest.mark.parametrize("ids,index", [(IDS, 0), (IDS, IDS % 4), (np.int64(3), 0), (GRID, 1)])
def test_categorical_equals_the_numpy_path(weights, ids, index) -> None:
    with np.errstate(invalid="ignore"):
        got = RNG.categorical("kernels.category", ids, weights, index)
        expected = _numpy_path(RNG.categorical, "kernels.category", ids, weights, index)
    assert type(got) is type(expected) and np.shape(got) == np.shape(expected)
    assert np.array_equal(got, expected)


LAMBDAS = RANDOM.random(5_000) * 3
# (ids, lam, index): per-row and scalar lambdas, lambda 0, a long tail (lambda 40), lambdas
# whose exp(-lam) underflows to 0 (the count runs to the step limit), broadcasting, empty ids.
POISSON_CASES = {
    "per-row lambdas": (IDS, LAMBDAS, IDS % 7),
    "scalar lambda": (IDS, 0.7, 0),
    "lambda 0": (IDS, np.zeros(len(IDS)), 1),
    "long tail": (IDS[:500], 40.0, 0),
    "exp underflows": (IDS[:4], np.array([1000.0, 1.0, 0.0, 750.0]), 0),
    "grid": (GRID, 2.5, 1),
    "0-d": (np.int64(5), 1.5, 0),
    "empty": (IDS[:0], LAMBDAS[:0], 0),
}


@native
@pytest.mark.parametrize("ids,lam,index", POISSON_CASES.values(), ids=POISSON_CASES.keys())
def test_poisson_equals_the_numpy_path(ids, lam, index) -> None:
    got = RNG.poisson("kernels.poisson", ids, lam, index)
    expected = _numpy_path(RNG.poisson, "kernels.poisson", ids, lam, index)
    assert got.dtype == expected.dtype == np.int64
    assert np.shape(got) == np.shape(expected)
    assert np.array_equal(got, expected)


@native
@pytest.mark.parametrize("limit", [-1, 0, 1, 3])
def test_poisson_stops_at_the_step_limit(limit: int) -> None:
    lam = np.full(len(IDS), 30.0)
    out = np.empty(len(IDS), np.int64)
    kernels.hash_poisson(KEY, IDS, np.zeros(1, np.int64), limit, lam, np.exp(-lam), out)
    steps = Rng(1)._poisson_numpy("p", IDS, lam, np.exp(-lam), limit, 0)
    assert out.max() == steps.max() == max(limit, 0)


@native
class TestDrawKernelArguments:
    """hash_integers and hash_categories: wrong buffers and rows raise, never crash."""

    ENTITY = np.arange(4, dtype=np.int64)
    ZERO = np.zeros(1, np.int64)
    TABLE = np.array([[0.5, 1.0], [0.1, 1.0]])

    def test_integers_reject_bad_buffers(self) -> None:
        out = np.empty(4, np.int64)
        with pytest.raises(TypeError, match="low"):
            kernels.hash_integers(1, self.ENTITY, self.ZERO, np.zeros(1), self.ZERO, out)
        with pytest.raises(ValueError, match="high holds 3"):
            kernels.hash_integers(1, self.ENTITY, self.ZERO, self.ZERO, np.zeros(3, int), out)
        with pytest.raises(ValueError, match="out holds 0"):
            kernels.hash_integers(1, self.ENTITY, self.ZERO, self.ZERO, self.ZERO, out[:0])
        with pytest.raises(TypeError, match="out"):
            kernels.hash_integers(1, self.ENTITY, self.ZERO, self.ZERO, self.ZERO, out * 1.0)
        with pytest.raises(ValueError):
            kernels.hash_integers(1, self.ENTITY, self.ZERO, np.zeros(8, int)[::2], self.ZERO, out)
        with pytest.raises(ValueError, match="index holds 2"):
            kernels.hash_integers(1, self.ENTITY, np.zeros(2, int), self.ZERO, self.ZERO, out)
        with pytest.raises(ValueError, match="key"):
            kernels.hash_integers(-1, self.ENTITY, self.ZERO, self.ZERO, self.ZERO, out)

    def test_categories_reject_bad_tables_and_rows(self) -> None:
        out = np.empty(4, np.int64)
        rows = np.array([0, 1, 2, 0])
        with pytest.raises(ValueError, match="row 2 of value 2"):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE, rows, out)
        with pytest.raises(ValueError, match="row -1 of value 0"):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE, -rows - 1, out)
        with pytest.raises(ValueError, match="two-dimensional"):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE[0], self.ZERO, out)
        with pytest.raises(ValueError, match="column"):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, np.ones((2, 0)), self.ZERO, out)
        with pytest.raises(TypeError, match="table"):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE > 0, self.ZERO, out)
        with pytest.raises(ValueError):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE.T, self.ZERO, out)
        with pytest.raises(ValueError, match="rows holds 3"):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE, rows[:3], out)
        with pytest.raises(TypeError, match="lam"):
            kernels.hash_poisson(1, self.ENTITY, self.ZERO, 5, rows, np.ones(4), out)
        with pytest.raises(ValueError, match="p0 holds 3"):
            kernels.hash_poisson(1, self.ENTITY, self.ZERO, 5, np.ones(4), np.ones(3), out)
        with pytest.raises(ValueError, match="out holds 3"):
            kernels.hash_poisson(1, self.ENTITY, self.ZERO, 5, np.ones(1), np.ones(1), out[:3])
        read_only = np.empty(4, np.int64)
        read_only.flags.writeable = False
        with pytest.raises(ValueError):
            kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE, self.ZERO, read_only)
        one_row = np.empty(4, np.int64)
        kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE, np.int64(1), one_row)
        kernels.hash_categories(1, self.ENTITY, self.ZERO, self.TABLE, np.ones(4, int), out)
        assert one_row.tolist() == out.tolist()


@native
def test_counting_argsort_rejects_keys_out_of_range() -> None:
    keys, out = np.array([3, 1, 2, 1]), np.empty(4, np.int64)
    kernels.counting_argsort(keys, 1, 3, out)
    assert out.tolist() == [1, 3, 2, 0]
    with pytest.raises(ValueError, match="key 3 of value 0 is not in"):
        kernels.counting_argsort(keys, 1, 2, out)
    with pytest.raises(ValueError, match="key 1 of value 1 is not in"):
        kernels.counting_argsort(keys, 2, 9, out)
    with pytest.raises(ValueError, match="span"):
        kernels.counting_argsort(keys, 1, 0, out)
    with pytest.raises(ValueError, match="out holds 3"):
        kernels.counting_argsort(keys, 1, 3, out[:3])
    with pytest.raises(TypeError, match="keys"):
        kernels.counting_argsort(keys.astype(np.int32), 1, 3, out)
    kernels.counting_argsort(keys[:0], 0, 1, out[:0])  # no keys: nothing to do


@native
def test_group_kernels_reject_bad_buffers() -> None:
    counts, out = np.array([2, 0, 1]), np.empty(3, np.int64)
    with pytest.raises(ValueError, match="count -1 of group 1"):
        kernels.group_ranks(np.array([2, -1]), out[:1], out[:1])
    with pytest.raises(ValueError, match="out holds 2"):
        kernels.group_ranks(counts, out[:2], out)
    with pytest.raises(TypeError, match="counts"):
        kernels.group_ranks(counts.astype(np.int32), out, out.copy())
    with pytest.raises(ValueError, match="values hold 2 rows, the counts add up to 3"):
        kernels.group_cumsum(np.arange(2), counts, out)
    with pytest.raises(ValueError, match="out holds 4"):
        kernels.group_cumsum(np.arange(3), counts, np.empty(4, np.int64))
    kernels.group_cumsum(np.array([5, 6, 7]), counts, out)
    assert out.tolist() == [5, 11, 7]


@native
def test_one_dimensional_draws_take_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused kernels are not only a fallback's twin: the common 1-D calls reach them."""
    called = []

    class Recorder:
        def __getattr__(self, name: str):
            called.append(name)
            return getattr(kernels, name)

    monkeypatch.setattr(hashing, "_kernels", Recorder())
    RNG.integers("k", IDS, 0, 9, index=IDS % 3)
    RNG.integers("k", IDS, LOWS, LOWS + 5)
    RNG.categorical("k", IDS, [1, 0, 2])
    RNG.categorical_rows("k", IDS, _cdf_table(WEIGHTS), np.abs(IDS) % 5)
    RNG.poisson("k", IDS, LAMBDAS)
    assert called == ["hash_integers"] * 2 + ["hash_categories"] * 2 + ["hash_poisson"]


# Vocabularies for joined strings: empty strings, one entry, multi-byte utf-8, a sliced array.
WORDS = [
    ["", "a", "bc", "Zoë", "日本語", "😀x", ""],
    [""],
    ["x", "", "yz"],
    ["(555", "+1 ", "Ünïcode ", "naïve café"],
    ["solo"],
    ["", "", ""],
]
SLICED = pa.array(["skipped", "mid", "", "dłuższe", "tail", "skipped too"])[1:5]


@pytest.fixture
def join_path(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _choose_path(columns, path, monkeypatch)


def _vocabularies(k: int) -> list[pa.Array]:
    return [pa.array(WORDS[p % len(WORDS)], pa.string()) for p in range(k - 1)] + [SLICED]


def _joined_reference(vocabularies, indexes, null) -> list[str | None]:
    """Row by row in Python; null rows' indexes are never read."""
    pieces = [(v.to_pylist(), x) for v, x in zip(vocabularies, indexes, strict=True)]
    return [
        None if null is not None and null[i] else "".join(words[x[i]] for words, x in pieces)
        for i in range(len(indexes[0]))
    ]


@paths
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("rows", ["random", "no nulls", "all null", "empty"])
def test_joined_strings(join_path, k: int, rows: str) -> None:
    vocabularies = _vocabularies(k)
    n = 0 if rows == "empty" else 2_000
    indexes = [RANDOM.integers(0, len(v), n) for v in vocabularies]
    null = {"random": RANDOM.random(n) < 0.2, "no nulls": None}.get(rows, np.ones(n, bool))
    if rows == "all null":  # null rows' indexes are never read
        indexes = [np.full(n, 10**9), *indexes[1:]]
    got = columns.joined(list(zip(vocabularies, indexes, strict=True)), null)
    assert got.type == pa.string() and len(got) == n
    assert got.to_pylist() == _joined_reference(vocabularies, indexes, null)
    assert got.null_count == (0 if null is None else int(null.sum()))


@paths
@pytest.mark.parametrize("k", [1, 3])
def test_joined_pieces_around_the_short_copy(join_path, k: int) -> None:
    """Entries of 0-20 bytes, the shortest last in their vocabulary's data (the kernel copies
    short pieces 16 bytes at a time where its input and output have them): every row exact,
    the last rows of the output included."""
    words = ["x" * n + chr(ord("a") + n) for n in range(20, -1, -1)] + [""]
    vocabularies = [pa.array(words, pa.string()) for _ in range(k)]
    for n in (1, 2, 3, 17, 500):
        indexes = [RANDOM.integers(0, len(words), n) for _ in range(k)]
        indexes[-1][-1] = len(words) - 2  # the output ends on the vocabulary's last byte
        null = RANDOM.random(n) < 0.2
        null[-1] = False
        got = columns.joined(list(zip(vocabularies, indexes, strict=True)), null)
        assert got.to_pylist() == _joined_reference(vocabularies, indexes, null)


@paths
def test_labels_null_negative_indexes(join_path) -> None:
    vocabulary = ["Gold", "", "Śilver"]
    index = np.array([0, -1, 2, 1, -5, 2])
    expected = ["Gold", None, "Śilver", "", None, "Śilver"]
    assert columns.labels(vocabulary, index).to_pylist() == expected
    assert columns.labels([], np.full(3, -1)).to_pylist() == [None] * 3
    assert columns.labels(vocabulary, np.zeros(0, np.int64)).to_pylist() == []


@paths
@pytest.mark.parametrize("bad", [3, -1, 2**40])
def test_joined_index_out_of_range_raises(join_path, bad: int) -> None:
    vocabulary = pa.array(["a", "b", "c"])
    index = np.array([0, 1, bad, 2])
    with pytest.raises(IndexError):
        columns.joined([(vocabulary, np.zeros(4, np.int64)), (vocabulary, index)])
    with pytest.raises(IndexError):
        columns.labels(["a", "b", "c"], np.array([0, 3]))


@paths
def test_anonymous_contacts_equal_nulled_contacts(join_path) -> None:
    """Guests' names and phones nulled while built, as pc.if_else nulled them afterwards."""
    keys = np.arange(3_000) * 7
    anonymous = RANDOM.random(len(keys)) < 0.3
    plain = contacts.draw_contacts(Rng(11), keys)
    masked = contacts.draw_contacts(Rng(11), keys, anonymous)
    for field in ("first_name", "last_name", "phone_number"):
        expected = pc.if_else(pa.array(anonymous), None, getattr(plain, field))
        assert getattr(masked, field).equals(expected)
    for field in ("email", "address"):
        assert getattr(masked, field).equals(getattr(plain, field))


@native
def test_kernel_joined_equals_pyarrow() -> None:
    """Same values and validity as take + join, for contact-sized vocabularies and indexes."""
    vocabularies = [contacts._streets(), contacts._units(), contacts._cities(), SLICED]
    indexes = [RANDOM.integers(0, len(v), 20_000) for v in vocabularies]
    null = RANDOM.random(20_000) < 0.5
    pieces = list(zip(vocabularies, indexes, strict=True))
    fast = columns.joined(pieces, null)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columns, "_kernels", None)
        slow = columns.joined(pieces, null)
    assert fast.equals(slow)
    assert fast.is_valid().equals(slow.is_valid())


def _gather_join(pieces, null, allocate=bytearray):
    offsets, data, validity, null_count = kernels.gather_join(pieces, null, allocate)
    return bytes(offsets), bytes(data), validity, null_count


@native
class TestGatherJoinArguments:
    """Wrong buffers, indexes or offsets raise TypeError, IndexError or ValueError."""

    OFFSETS = np.array([0, 1, 3], np.int32)
    DATA = b"abc"
    INDEX = np.array([0, 1, 1], np.int64)

    def test_rejects_bad_buffers(self) -> None:
        with pytest.raises(TypeError, match="offsets"):
            _gather_join(((self.OFFSETS.astype(np.int64), self.DATA, self.INDEX),), None)
        with pytest.raises(TypeError, match="index"):
            _gather_join(((self.OFFSETS, self.DATA, self.INDEX.astype(np.int32)),), None)
        with pytest.raises(TypeError, match="data"):
            _gather_join(((self.OFFSETS, np.zeros(3, np.int32), self.INDEX),), None)
        with pytest.raises(TypeError, match="null"):
            _gather_join(((self.OFFSETS, self.DATA, self.INDEX),), np.zeros(3, np.int64))
        with pytest.raises(ValueError):  # not C-contiguous
            _gather_join(((self.OFFSETS, self.DATA, np.arange(6)[::2]),), None)
        with pytest.raises(TypeError, match="tuple"):
            _gather_join(((self.OFFSETS, self.DATA),), None)
        with pytest.raises(TypeError):
            _gather_join([(self.OFFSETS, self.DATA, self.INDEX)], None)

    def test_rejects_wrong_sizes(self) -> None:
        piece = (self.OFFSETS, self.DATA, self.INDEX)
        with pytest.raises(ValueError, match="pieces"):
            _gather_join((), None)
        with pytest.raises(ValueError, match="pieces"):
            _gather_join((piece,) * 17, None)
        with pytest.raises(ValueError, match="holds 2 values, not 3"):
            _gather_join((piece, (self.OFFSETS, self.DATA, self.INDEX[:2])), None)
        with pytest.raises(ValueError, match="one byte per row"):
            _gather_join((piece,), np.zeros(2, bool))
        with pytest.raises(ValueError, match="one-dimensional"):
            _gather_join(((self.OFFSETS[:0], self.DATA, self.INDEX),), None)

    def test_rejects_indexes_and_offsets_out_of_range(self) -> None:
        with pytest.raises(IndexError, match="index 2 of row 1 is out of piece 0's 2 entries"):
            _gather_join(((self.OFFSETS, self.DATA, np.array([0, 2])),), None)
        with pytest.raises(IndexError, match="index -1"):
            _gather_join(((self.OFFSETS, self.DATA, np.array([-1])),), None)
        for offsets in ([0, 1, 4], [0, 2, 1], [-1, 1, 3]):
            bad = np.array(offsets, np.int32)
            with pytest.raises(ValueError, match="offsets of entry"):
                _gather_join(((bad, self.DATA, np.array([0, 1])),), None)

    def test_rejects_bad_allocations(self) -> None:
        piece = (self.OFFSETS, self.DATA, self.INDEX)
        with pytest.raises(TypeError, match="callable"):
            kernels.gather_join((piece,), None, None)
        with pytest.raises(ValueError, match=r"allocate\(16\) returned 15 bytes"):
            _gather_join((piece,), None, lambda size: bytearray(size - 1))
        with pytest.raises(ValueError, match="writable"):
            _gather_join((piece,), None, bytes)
        with pytest.raises(ZeroDivisionError):
            _gather_join((piece,), None, lambda size: 1 / 0)

    def test_rejects_text_past_int32_offsets(self) -> None:
        """2049 rows of 1 MiB each: refused after the lengths, before any byte is copied."""
        offsets = np.array([0, 2**20], np.int32)
        with pytest.raises(ValueError, match="2 GiB"):
            _gather_join(((offsets, bytes(2**20), np.zeros(2049, np.int64)),), None)

    def test_returns_validity_only_with_nulls(self) -> None:
        piece = (self.OFFSETS, self.DATA, self.INDEX)
        offsets, data, validity, null_count = _gather_join((piece,), None)
        assert np.frombuffer(offsets, np.int32).tolist() == [0, 1, 3, 5]
        assert (data, validity, null_count) == (b"abcbc", None, 0)
        offsets, data, validity, null_count = _gather_join((piece,), np.array([False, True, False]))
        assert np.frombuffer(offsets, np.int32).tolist() == [0, 1, 1, 3]
        assert (data, validity, null_count) == (b"abc", bytes([0b101]), 1)
