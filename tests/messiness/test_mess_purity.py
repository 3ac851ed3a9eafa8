"""messiness/ stays pure: it imports only the layers to its right and does no I/O or global RNG."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ecomlake" / "messiness"
ALLOWED = {"messiness", "render", "plan", "rng", "config", "errors"}
BANNED = re.compile(
    r"np\.random|^import random\b|^from random\b|uuid4|datetime\.now|time\.time\(|\bopen\(", re.M
)


def test_messiness_imports_only_render_plan_rng_config():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ecomlake."):
                target = node.module.split(".")[1]
                assert target in ALLOWED, f"messiness/{path.name} imports ecomlake.{target}"


def test_messiness_has_no_global_randomness_or_io():
    for path in PACKAGE.glob("*.py"):
        found = BANNED.search(path.read_text())
        assert found is None, f"messiness/{path.name} uses {found.group(0)}"
