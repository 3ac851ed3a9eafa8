"""The C extensions under AddressSanitizer and UndefinedBehaviorSanitizer.

The extensions are built from their sources into a copy of the package, and their own tests run
against that build. An out-of-bounds read or an overflow in C then fails here, even when it
happens to leave the bytes right (the golden digests cannot see that).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SANITIZE = "-fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g"
EXTENSIONS = ("ecomlake._sha256batch", "ecomlake._kernels")
C_TESTS = (  # every test module that runs a C path
    "tests/unit/test_sha256batch.py",
    "tests/unit/test_kernels.py",
    "tests/unit/test_plan_groups.py",
    "tests/unit/test_sorting.py",
    "tests/unit/test_rng.py",
)
RUNTIMES = ("libasan.so", "libubsan.so")


def _runtime(compiler: str, name: str) -> str | None:
    """The compiler's sanitizer runtime library, which must be preloaded into Python."""
    done = subprocess.run(
        [compiler, f"-print-file-name={name}"], capture_output=True, text=True, timeout=30
    )
    path = done.stdout.strip()
    return path if os.path.isabs(path) and os.path.exists(path) else None


def _copy_checkout(root: Path) -> None:
    """The package, its build script and the tests, without any built extension. Not
    pyproject.toml: `build_ext` needs only setup.py, and the metadata there would need the
    build system's setuptools (>= 77), not whichever one this environment has."""
    skip = shutil.ignore_patterns("*.so", "__pycache__")
    shutil.copytree(REPO / "ecomlake", root / "ecomlake", ignore=skip)
    shutil.copytree(REPO / "tests", root / "tests", ignore=skip)
    shutil.copy2(REPO / "setup.py", root / "setup.py")


def _findings(reports: Path) -> str:
    """What the sanitizers reported (the error, and the C stack where it happened)."""
    said = [path.read_text(errors="replace")[:4000] for path in sorted(reports.iterdir())]
    return "\n".join(said) or "(no sanitizer report)"


@pytest.mark.slow
def test_c_extensions_pass_their_tests_under_sanitizers(tmp_path):
    compiler = shutil.which("gcc")
    if compiler is None or any(importlib.util.find_spec(m) is None for m in EXTENSIONS):
        pytest.skip("the C extensions are not built here")
    runtimes = [_runtime(compiler, name) for name in RUNTIMES]
    if None in runtimes:
        pytest.skip(f"{compiler} has no sanitizer runtimes ({', '.join(RUNTIMES)})")
    _copy_checkout(tmp_path)
    env = {**os.environ, "CC": compiler, "CFLAGS": SANITIZE, "LDFLAGS": SANITIZE}
    build = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    built = sorted(p.name.split(".")[0] for p in (tmp_path / "ecomlake").glob("_*.so"))
    assert built == ["_kernels", "_sha256batch"], build.stdout[-2000:] + build.stderr[-2000:]

    reports = tmp_path / "sanitizer-reports"
    reports.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "LD_PRELOAD": " ".join(runtimes),
        # Reports go to files: pytest's capture would lose them when the process aborts.
        "ASAN_OPTIONS": f"detect_leaks=0:abort_on_error=1:log_path={reports / 'asan'}",
        "UBSAN_OPTIONS": f"halt_on_error=1:print_stacktrace=1:log_path={reports / 'ubsan'}",
    }  # no leak check: CPython's own allocations at exit would fill it
    probe = (
        "import ecomlake._kernels as k, ecomlake._sha256batch as s; print(k.__file__, s.__file__)"
    )
    where = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(Path(f).is_relative_to(tmp_path) for f in where.stdout.split()), where.stdout
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *C_TESTS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, _findings(reports) + tests.stdout[-2000:]
    assert not list(reports.iterdir()), _findings(reports)
    assert " passed" in tests.stdout and " skipped" not in tests.stdout, tests.stdout[-1000:]
