"""Re-pin tests/golden/day_digests.json: sha256 of each table's encoded Parquet for three days
of the quick world, clean and at heavy_mess, with pinned lineage.

    python scripts/regen_golden.py          # rewrite the file
    python scripts/regen_golden.py --check  # exit 1 when the pinned digests differ

A re-pin changes what "the same bytes" means for every user of a seed: its commit message must
say why the bytes changed (which renderer, defect or writer option, and on purpose). The file
carries a sha256 of its digests, so a hand edit fails the golden test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "day_digests.json"
CONFIG = REPO / "gen_config" / "quick.yaml"
DAYS = ("2024-01-01", "2024-02-15", "2024-03-31")  # first (catalog), a mid day, the last
LEVELS = ("none", "heavy_mess")
LINEAGE = {"batch_id": "golden", "ingestion_ts": "2024-04-01T00:00:00+00:00"}


def day_digests() -> dict[str, dict[str, dict[str, str]]]:
    """{level: {day: {table: sha256 of the table's Parquet bytes}}}, as `generate` encodes."""
    from ecomlake.lake import ParquetOptions, encode_parquet
    from ecomlake.library import plan_world, render_day
    from ecomlake.render.registry import table_spec

    world = plan_world(CONFIG, plan_cache=False)  # no side effect on the user's cache
    out: dict[str, dict[str, dict[str, str]]] = {}
    for level in LEVELS:
        out[level] = {}
        for day in DAYS:
            tables = render_day(world, day, messiness_level=level, **LINEAGE)
            out[level][day] = {
                name: hashlib.sha256(
                    encode_parquet(table, ParquetOptions(), table_spec(name).pk)
                ).hexdigest()
                for name, table in tables.items()
            }
    return out


def seal(digests: dict) -> dict:
    """The file's body: the digests and a sha256 over them (hand edits break it)."""
    return {"digests": digests, "sha256": _body_hash(digests)}


def _body_hash(digests: dict) -> str:
    return hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    body = seal(day_digests())
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    if args.check:
        same = GOLDEN.is_file() and GOLDEN.read_text(encoding="utf-8") == text
        print(f"{GOLDEN.relative_to(REPO)}: {'unchanged' if same else 'DIFFERS'}")
        return 0 if same else 1
    GOLDEN.write_text(text, encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(REPO)}: say why in the commit message")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
