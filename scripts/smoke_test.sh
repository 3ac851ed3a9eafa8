#!/usr/bin/env bash
# A short, self-cleaning end-to-end run in a temporary folder:
#   1. generate the first two weeks of the quick world straight into a lake;
#   2. the trio: run-generator (CSVs) -> export-raw (lake) -> upload-raw --dry-run;
#   3. verify both lakes (manifests, checksums, invariants) and check they hold the same bytes.
# Usage: scripts/smoke_test.sh        (SMOKE_EXECUTOR=ray to run the days on local Ray)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
config="$repo/gen_config/quick.yaml"
executor=${SMOKE_EXECUTOR:-in-process}
work=$(mktemp -d "${TMPDIR:-/tmp}/ecomlake-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
pins=(--batch-id smoke --ingestion-ts 2024-04-01T00:00:00+00:00)
days=(--start-date 2024-01-01 --end-date 2024-01-14)

ecomlake generate --config "$config" --target "$work/lake" "${days[@]}" \
  --executor "$executor" --no-progress --log-level warning "${pins[@]}" --target-size-mb 16

ecomlake run-generator --config "$config" --artifact-root "$work/artifacts" "${days[@]}" \
  --log-level warning
run_dir=$(ls -d "$work"/artifacts/raw_run_*)
ecomlake export-raw --source "$run_dir" --target "$work/raw" "${pins[@]}" --log-level warning
ecomlake upload-raw --source "$work/raw" --bucket smoke-bucket --dates 2024-01-05 --dry-run \
  --log-level warning

ecomlake verify "$work/lake" --config "$config"
ecomlake verify "$work/raw" --config "$config"

python3 - "$work/lake" "$work/raw" <<'PY'
import hashlib, pathlib, sys

def digest(root):
    root = pathlib.Path(root)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and p.parts[len(root.parts)] != "_runs"}

same = digest(sys.argv[1]) == digest(sys.argv[2])
print(f"smoke test: {'passed' if same else 'FAILED'} (generate and the trio wrote "
      f"{'identical' if same else 'different'} lakes)")
sys.exit(0 if same else 1)
PY
