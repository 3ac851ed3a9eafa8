#!/usr/bin/env bash
# A short, self-cleaning end-to-end run in a temporary folder:
#   1. generate the first two weeks of the quick world straight into a lake;
#   2. the trio: run-generator (CSVs) -> export-raw (lake) -> upload-raw into an S3 bucket of a
#      local moto server started here (skipped, saying so, where moto is not installed);
#   3. verify the lakes (manifests, checksums, invariants) and check they hold the same bytes.
# Nothing leaves this machine.
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
python3 - "$work/raw" <<'PY'
import logging, os, subprocess, sys

try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError:
    print("upload-raw: skipped (moto is not installed here: pip install -e '.[dev]')")
    sys.exit(0)

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's line per request
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
try:
    endpoint = "http://%s:%d" % server.get_host_and_port()
    keys = {"AWS_ACCESS_KEY_ID": "smoke", "AWS_SECRET_ACCESS_KEY": "smoke"}
    env = {**os.environ, **keys, "AWS_DEFAULT_REGION": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="smoke", aws_secret_access_key="smoke")
    s3.create_bucket(Bucket="smoke-bucket")
    store = ["--storage-option", f"endpoint_url={endpoint}", "--log-level", "warning"]
    upload = ["upload-raw", "--source", sys.argv[1], "--bucket", "s3://smoke-bucket"]
    for args in ([*upload, "--dates", "2024-01-05", "--dry-run"], upload):  # it confirms each
        subprocess.run(["ecomlake", *args, *store], env=env, check=True)  # object it uploads
finally:
    server.stop()
PY

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
