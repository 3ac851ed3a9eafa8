"""ecomlake._sha256batch: both its SHA-NI path and its OpenSSL path give hashlib's digests."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np
import pytest

sha256batch = pytest.importorskip("ecomlake._sha256batch")

PREFIX = b"evt_"
INT64_EDGES = [0, -1, 1, 9, 10, -10, 99, -99, 2**63 - 1, -(2**63), -(2**63) + 1]
INT64_EDGES += [10**k for k in range(19)] + [10**k - 1 for k in range(1, 19)]
INT64_EDGES += [-(10**k) for k in range(19)]


def _cpu_flags() -> set[str]:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.fixture(params=["openssl", "sha_ni"])
def path(request):
    """Hash through OpenSSL alone, or with SHA-NI where this machine has it."""
    use = request.param == "sha_ni"
    if use and not sha256batch.HAVE_SHA_NI:
        pytest.skip("this CPU (or build) has no SHA-NI")
    previous = sha256batch.use_sha_ni(use)
    assert sha256batch.use_sha_ni(use) is use  # the setting took
    yield request.param
    sha256batch.use_sha_ni(previous)


def _column(values: list[bytes]) -> tuple[np.ndarray, bytes]:
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(v) for v in values])
    return offsets, b"".join(values)


def _expected(payloads: list[bytes]) -> bytes:
    return b"".join(PREFIX + hashlib.sha256(p).hexdigest().encode() for p in payloads)


def _check_strings(values: list[bytes], before: bytes = b"", after: bytes = b"") -> None:
    got = sha256batch.hex_digests(len(values), (before, _column(values), after), PREFIX)
    assert got == _expected([before + v + after for v in values])


def test_sha_ni_is_used_where_the_cpu_has_it() -> None:
    """Otherwise every SHA-NI case below would be skipped, not run, on a machine that has it."""
    if "sha_ni" not in _cpu_flags():
        pytest.skip("no sha_ni in /proc/cpuinfo")
    assert sha256batch.HAVE_SHA_NI
    previous = sha256batch.use_sha_ni(True)
    try:
        assert sha256batch.use_sha_ni(True) is True
    finally:
        sha256batch.use_sha_ni(previous)


def test_sha_ni_is_on_by_default_where_supported() -> None:
    previous = sha256batch.use_sha_ni(False)
    sha256batch.use_sha_ni(previous)
    assert previous is sha256batch.HAVE_SHA_NI


def test_every_payload_length_up_to_300(path: str) -> None:
    """Every padding case: 55/56 and 119/120 bytes (the length no longer fits the block), 63/64,
    the last length in four blocks (247) and the first past them (248, hashed by OpenSSL)."""
    values = [bytes((i * 7 + length) % 256 for i in range(length)) for length in range(301)]
    _check_strings(values)
    _check_strings(list(reversed(values)))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 1001])
def test_row_counts_odd_and_even(path: str, n: int) -> None:
    rng = random.Random(n)
    values = [rng.randbytes(rng.randrange(301)) for _ in range(n)]
    _check_strings(values, b'{"_table":"t","id":"', b'"}')


@pytest.mark.parametrize(
    "lengths",
    [
        [0, 247],
        [247, 0],
        [55, 56],
        [56, 55],
        [63, 64],
        [119, 120],
        [120, 119, 0],
        [0, 300, 1],  # a row too long for the pair's buffer between the two of a pair
        [300, 5, 300, 6, 300],
        [1, 183, 184, 248, 2],
    ],
)
def test_mixed_lengths_in_a_pair(path: str, lengths: list[int]) -> None:
    _check_strings([bytes([65 + i % 26]) * length for i, length in enumerate(lengths)])


def test_empty_strings_and_constants(path: str) -> None:
    assert sha256batch.hex_digests(3, (), PREFIX) == _expected([b""] * 3)
    _check_strings([b""] * 5)
    _check_strings([b"", b"x", b""], b"{", b"}")


@pytest.mark.parametrize("lead", range(30, 50))
def test_int64_pieces_at_their_extremes(path: str, lead: int) -> None:
    """Decimal text of 1 to 20 characters, placed to cross the 55/56 and 64 byte edges."""
    before = b"k" * lead
    values = np.array(INT64_EDGES, dtype=np.int64)
    got = sha256batch.hex_digests(len(values), (before, (values,), b"}"), PREFIX)
    assert got == _expected([before + str(v).encode() + b"}" for v in INT64_EDGES])


def test_string_and_int_columns_together(path: str) -> None:
    rng = random.Random(7)
    names = [rng.randbytes(rng.randrange(40)) for _ in range(len(INT64_EDGES))]
    values = np.array(INT64_EDGES, dtype=np.int64)
    pieces = (b'{"a":"', _column(names), b'","b":', (values,), b"}")
    got = sha256batch.hex_digests(len(values), pieces, PREFIX)
    payloads = [
        b'{"a":"' + name + b'","b":' + str(v).encode() + b"}"
        for name, v in zip(names, INT64_EDGES, strict=True)
    ]
    assert got == _expected(payloads)
