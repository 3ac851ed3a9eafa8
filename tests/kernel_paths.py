"""One fixture shape for every optional C kernel: run a test on the kernel and on the numpy
fallback that replaces it when the extension is not built."""

from __future__ import annotations

from types import ModuleType

import pytest


def kernel_and_numpy(module: ModuleType, doc: str):
    """A fixture, parametrized "kernel" and "numpy", for the kernels `module` imports as
    `_kernels`: the numpy run patches them away; the kernel run skips when they are not built."""

    @pytest.fixture(params=["kernel", "numpy"])
    def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
        if request.param == "kernel" and module._kernels is None:
            pytest.skip("ecomlake._kernels is not built")
        if request.param == "numpy":
            monkeypatch.setattr(module, "_kernels", None)

    path.__doc__ = doc
    return path
