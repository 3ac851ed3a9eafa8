#!/usr/bin/env bash
# A short, self-cleaning end-to-end run: generate the first two weeks of the quick world into a
# temporary folder, read the lake back and check every invariant and manifest.
# Usage: scripts/smoke_test.sh        (SMOKE_EXECUTOR=ray to run the days on local Ray)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
executor=${SMOKE_EXECUTOR:-in-process}
work=$(mktemp -d "${TMPDIR:-/tmp}/ecomlake-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

ecomlake generate \
  --config "$repo/gen_config/quick.yaml" \
  --target "$work/lake" \
  --start-date 2024-01-01 --end-date 2024-01-14 \
  --executor "$executor" --no-progress \
  --batch-id smoke --ingestion-ts 2024-04-01T00:00:00+00:00

python3 - "$work/lake" "$repo/gen_config/quick.yaml" <<'PY'
import sys

from ecomlake.config import load_config
from ecomlake.verify import check_invariants, check_manifests

lake, config = sys.argv[1], sys.argv[2]
problems = check_manifests(lake) + check_invariants(lake, load_config(config))
for problem in problems:
    print(f"FAIL {problem.check}: {problem.detail}")
print(f"smoke test: {'FAILED' if problems else 'passed'} ({len(problems)} problems)")
sys.exit(1 if problems else 0)
PY
