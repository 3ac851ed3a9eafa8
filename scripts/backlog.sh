#!/usr/bin/env bash
# The six-year backfill (gen_config/backlog.yaml, 2020-01-01 .. 2026-01-08) in one `generate`
# call on local Ray. Lineage is pinned so that a re-run writes the same bytes.
# Variables: TARGET (default output/backlog), WORKERS (default: all cores), RAY_ADDRESS,
#            BATCH_ID (default backlog), INGESTION_TS (default 2026-01-09T00:00:00+00:00).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
args=(
  --config "$repo/gen_config/backlog.yaml"
  --target "${TARGET:-output/backlog}"
  --batch-id "${BATCH_ID:-backlog}"
  --ingestion-ts "${INGESTION_TS:-2026-01-09T00:00:00+00:00}"
)
[[ -n "${WORKERS:-}" ]] && args+=(--workers "$WORKERS")
[[ -n "${RAY_ADDRESS:-}" ]] && args+=(--ray-address "$RAY_ADDRESS")

exec ecomlake generate "${args[@]}" "$@"
