"""Keyed randomness: pinned values and distribution shapes.

The golden values below are the data's foundation: any refactor of ecomlake.rng must reproduce
them bit for bit, or every lake generated so far changes. Change them only on purpose.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest
from kernel_paths import kernel_and_numpy

from ecomlake.rng import Rng, hashing, mix64, stream_key, streams

IDS = np.arange(5)


rng_path = kernel_and_numpy(
    hashing, "Runs a test on the C kernels (ecomlake/_kernels.c) and on their numpy fallback."
)


@pytest.mark.usefixtures("rng_path")
class TestGoldenValues:
    def test_mix64(self):
        values = mix64(np.array([0, 1, 2**63], dtype=np.uint64)).tolist()
        assert values == [0, 6238072747940578789, 2720858781877447050]

    def test_stream_key_depends_on_seed_and_name(self):
        assert int(stream_key(42, "plan.visit.gap")) == 1555869152477246785
        assert int(stream_key(7, "plan.visit.gap")) == 10965012332441277662

    def test_bits(self):
        assert Rng(42).bits("golden.bits", IDS).tolist() == [
            4151964581666574877,
            3422907388367505971,
            8227644157598519131,
            5373153373984553990,
            13116996509631616822,
        ]

    def test_bits_with_index(self):
        assert Rng(42).bits("golden.bits", IDS, index=3).tolist() == [
            16083750353365085185,
            8241524638380209441,
            13519048706074005759,
            1795831135439877794,
            3272131717954423690,
        ]

    def test_draws(self):
        r = Rng(42)
        assert r.uniform("golden.uniform", IDS).tolist() == [
            0.05823253651670146,
            0.14669019170530284,
            0.38193825729071607,
            0.6940011294950111,
            0.9472340035499393,
        ]
        assert r.integers("golden.integers", IDS, 1, 14).tolist() == [13, 11, 5, 2, 9]
        assert r.categorical("golden.categorical", IDS, [0.5, 0.3, 0.2]).tolist() == [1, 2, 1, 0, 2]
        assert r.poisson("golden.poisson", IDS, np.full(5, 2.2)).tolist() == [5, 5, 2, 2, 2]
        np.testing.assert_allclose(
            r.lognormal("golden.lognormal", IDS, np.zeros(5), np.ones(5)),
            [1.2887705914837406, 3.267690430207026, 1.8407512645658206, 0.86210769200723,
             0.8246631791082496],
            rtol=0,
            atol=1e-15,
        )  # fmt: skip


@pytest.mark.usefixtures("rng_path")
class TestIndependence:
    def test_value_does_not_depend_on_other_ids(self):
        r = Rng(1)
        whole = r.uniform("s", np.arange(1000))
        part = r.uniform("s", np.array([999, 3, 500]))
        assert part.tolist() == [whole[999], whole[3], whole[500]]

    def test_blocks_do_not_show(self):
        """Hashing runs block by block; values across block edges equal one-by-one values."""
        ids = np.arange(100_000)
        whole = Rng(1).bits("s", ids, index=ids % 7)
        picks = np.array([0, 32_767, 32_768, 99_999])
        assert whole[picks].tolist() == [Rng(1).bits("s", i, index=i % 7) for i in picks]

    def test_layout_does_not_show(self):
        """Fortran-ordered and transposed ids hash like their C-ordered copies."""
        grid = np.arange(12).reshape(3, 4)
        bits = Rng(1).bits("s", grid, index=2)
        assert bits.tolist() == [[Rng(1).bits("s", i, index=2) for i in row] for row in grid]
        assert np.array_equal(Rng(1).bits("s", np.asfortranarray(grid), index=2), bits)
        assert np.array_equal(Rng(1).bits("s", grid.T, index=2), bits.T)

    def test_streams_and_seeds_differ(self):
        a = Rng(1).uniform("a", np.arange(100))
        assert not np.array_equal(a, Rng(1).uniform("b", np.arange(100)))
        assert not np.array_equal(a, Rng(2).uniform("a", np.arange(100)))


@pytest.mark.usefixtures("rng_path")
class TestFastPathsMatchPlainFormulas:
    """The draws skip work (in place, per-row searchsorted, shrinking Poisson loop) but must
    equal the plain formulas bit for bit."""

    IDS = np.arange(70_000)

    def test_categorical_rows(self):
        table = np.array([[0.1, 0.5, 1.0], [0.0, 0.0, 1.0], [0.3, 0.3, 1.0]])
        rows = Rng(2).integers("rows", self.IDS, 0, 2)
        u = Rng(9).uniform("c", self.IDS)
        plain = np.minimum((u[:, None] >= table[rows]).sum(axis=1), 2)
        assert np.array_equal(Rng(9).categorical_rows("c", self.IDS, table, rows), plain)

    def test_poisson(self):
        lam = Rng(2).uniform("lam", self.IDS, 0.0, 9.0)
        u = Rng(9).uniform("p", self.IDS)
        p = np.exp(-lam)
        cdf, k, step = p.copy(), np.zeros(len(lam), np.int64), 0
        while (u >= cdf).any():
            step += 1
            k += u >= cdf
            p = p * lam / step
            cdf = cdf + p
        assert np.array_equal(Rng(9).poisson("p", self.IDS, lam), k)

    @pytest.mark.parametrize(
        "ids,index",
        [(IDS, 0), (IDS, IDS % 3), (np.int64(5), 2), (IDS[:0], 0)],  # the class's IDS
        ids=["scalar index", "array index", "0-d", "empty"],
    )
    def test_normal_and_lognormal(self, ids, index):
        u1 = 1.0 - Rng(9).uniform("n", ids, index=index)
        u2 = Rng(9).uniform("n#2", ids, index=index)
        plain = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        z = Rng(9).normal("n", ids, index)
        assert type(z) is type(plain) and np.asarray(z).tobytes() == np.asarray(plain).tobytes()
        mu = np.linspace(0.0, 4.0, np.size(plain)).reshape(np.shape(plain))
        for m, sigma in [(mu, 0.7), (1.5, mu), (mu[None], 0.2)]:  # the last one broadcasts up
            got, want = Rng(9).lognormal("n", ids, m, sigma, index), np.exp(m + sigma * plain)
            assert type(got) is type(want) and np.shape(got) == np.shape(want)
            assert np.asarray(got).tobytes() == np.asarray(want).tobytes()

    def test_uniform_and_integers_with_arrays(self):
        low = Rng(2).integers("low", self.IDS, -50, 50)
        high = low + Rng(2).integers("span", self.IDS, 0, 30)
        u = Rng(9).uniform("x", self.IDS)
        assert np.array_equal(Rng(9).uniform("x", self.IDS, low, high), low + (high - low) * u)
        span = high - low + 1
        plain = low + np.minimum((u * span).astype(np.int64), span - 1)
        assert np.array_equal(Rng(9).integers("x", self.IDS, low, high), plain)


@pytest.mark.usefixtures("rng_path")
class TestDistributions:
    N = 200_000

    def test_uniform_range_and_mean(self):
        u = Rng(3).uniform("u", np.arange(self.N), 2.0, 4.0)
        assert u.min() >= 2.0 and u.max() < 4.0
        assert abs(u.mean() - 3.0) < 0.01

    def test_integers_inclusive(self):
        v = Rng(3).integers("i", np.arange(self.N), 1, 6)
        assert set(np.unique(v)) == {1, 2, 3, 4, 5, 6}

    def test_categorical_frequencies(self):
        c = Rng(3).categorical("c", np.arange(self.N), [0.6, 0.3, 0.1, 0.0])
        freq = np.bincount(c, minlength=4) / self.N
        np.testing.assert_allclose(freq, [0.6, 0.3, 0.1, 0.0], atol=0.005)

    @pytest.mark.parametrize("lam", [0.1, 1.5, 5.2])
    def test_poisson_mean_and_variance(self, lam):
        k = Rng(3).poisson("p", np.arange(self.N), np.full(self.N, lam))
        assert abs(k.mean() - lam) < 0.03 * max(lam, 1)
        assert abs(k.var() - lam) < 0.06 * max(lam, 1)

    def test_lognormal_mean(self):
        sigma = 0.8
        mu = np.log(50) - sigma**2 / 2
        g = Rng(3).lognormal("g", np.arange(self.N), np.full(self.N, mu), np.full(self.N, sigma))
        assert abs(g.mean() - 50) < 1.0


class TestStreamNames:
    def test_unique(self):
        names = list(streams.all_streams().values())
        assert len(names) == len(set(names))

    def test_no_global_randomness_outside_rng(self):
        """Randomness only via ecomlake.rng: no random, np.random, uuid4 or clock in the core."""
        core = Path(__file__).resolve().parents[2] / "ecomlake"
        banned = re.compile(
            r"np\.random|^import random\b|^from random\b|uuid4|datetime\.now|time\.time\(", re.M
        )
        for folder in ("plan", "render", "rng", "messiness"):
            for path in (core / folder).glob("*.py"):
                found = banned.search(path.read_text())
                assert found is None, f"{path.name} uses {found.group(0)}"


LAYERS = [
    "__main__", "cli", "testing", "lakes", "api", "raydata", "library", "stats", "hooks", "trio",
    "run", "tables", "verify", "lake", "lineage", "messiness", "render", "plan", "rng", "config",
]  # fmt: skip
_CORE = {"lake", "lineage", "messiness", "render", "plan", "rng", "config"}
ALLOWED = {
    "__main__": {"cli"},
    "cli": set(LAYERS) - {"__main__"},
    "testing": {"api", "library", "run", "plan", "config"},  # the pytest plugin users load
    "lakes": {"api", "library", "run", "stats", "verify"},  # what the library exports
    "api": {"library", "run", "verify", *_CORE},
    "raydata": {"library", "run", *_CORE},
    "library": {"run", *_CORE},
    "stats": {"verify", *_CORE},
    "hooks": {"run", "lake"},  # example post-export hooks: what users' own hooks may import
    "trio": {"run", "tables", *_CORE},  # export-raw commits to the tables as generate does
    # run and tables call each other: the driver hands each finished day to the table committer,
    # which reports back in run's result types; verify checks the tables' files
    "run": {"tables", *_CORE},
    "tables": {"run", "verify", *_CORE},
    "verify": {"tables", "lake", "lineage", "messiness", "render", "plan", "config"},
    "lake": {"config", "lineage"},
    "lineage": {"_sha256batch"},  # its C extension (ecomlake/_sha256batch.c), a leaf
    "messiness": {"render", "plan", "rng", "config"},
    "render": {"plan", "rng", "config", "_kernels"},  # columns: the joined strings' C kernel
    "plan": {"rng", "config", "_kernels"},  # ids: the id strings' C kernel
    "rng": {"_kernels"},  # its C extension (ecomlake/_kernels.c), a leaf
    "config": set(),
}
SHARED = {"__init__", "errors"}  # the version and the exception types: every layer may use them


def test_every_package_has_a_layer():
    """A new package or top-level module must be placed in LAYERS before it can be imported."""
    core = Path(__file__).resolve().parents[2] / "ecomlake"
    found = {p.parent.name for p in core.glob("*/__init__.py")} | {
        p.stem for p in core.glob("*.py")
    }
    assert found - SHARED == set(ALLOWED) == set(LAYERS)


def test_imports_follow_the_pipeline():
    """Each layer imports only layers to its right (cli -> api -> run -> lake/render -> plan)."""
    core = Path(__file__).resolve().parents[2] / "ecomlake"
    for layer, allowed in ALLOWED.items():
        files = [core / f"{layer}.py"] if (core / f"{layer}.py").exists() else []
        files += list((core / layer).rglob("*.py"))
        for path in files:
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and not node.level:
                    modules = [node.module or ""]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                for module in modules:
                    parts = module.split(".")
                    if parts[0] != "ecomlake" or len(parts) < 2:
                        continue
                    target = parts[1]
                    if target in SHARED or target == layer:
                        continue
                    assert target in allowed, f"{path.relative_to(core)} imports {module}"
