"""The Python examples in docs/api.md run as written, from the repository's root.

A reader copies them first; an example that raises after an API change is a broken promise.
Each document's blocks share one namespace, in order (a later block may use an earlier one's
names). Blocks that start Ray are left to tests/integration/test_library.py, which checks the
same calls on the session's Ray: `ray.init` here would clash with it.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(doc: Path) -> list[str]:
    """The document's ```python blocks, in order."""
    return _BLOCK.findall(doc.read_text(encoding="utf-8"))


def test_the_api_document_has_examples_that_import_ecomlake():
    blocks = python_blocks(REPO / "docs" / "api.md")
    assert len(blocks) >= 6
    assert sum("import ecomlake" in block for block in blocks) >= 4


def test_api_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the examples name gen_config/quick.yaml
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # their mkdtemp() lands here
    namespace: dict = {"__name__": "doc_example"}
    ran = 0
    for number, block in enumerate(python_blocks(REPO / "docs" / "api.md"), start=1):
        if re.search(r"^import ray$", block, re.MULTILINE):
            continue
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(block, f"docs/api.md block {number}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"docs/api.md block {number} raised {type(exc).__name__}: {exc}")
        ran += 1
    assert ran >= 5
    # what the examples print is what their comments say
    assert namespace["cfg"].faker_seed == 42 and namespace["small"].faker_seed == 7
    assert namespace["result"].ok and namespace["report"].ok
    assert namespace["stamped"]["orders"].column_names[-3:] == [
        "batch_id",
        "ingestion_ts",
        "event_id",
    ]
