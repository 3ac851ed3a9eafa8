"""Which client writes a day's small files fastest: s3fs or pyarrow.fs, on moto and local disk.

Usage: python bench/storage_clients.py [--rounds 15] [--synthetic-kb 200]

Starts its own moto server and gcp-storage-emulator on 127.0.0.1, renders one ordinary day of the
quick config into a temp folder, then replays that day's commit sequence with each client and
prints the median milliseconds per day. The commit sequence is what `write_partition` does per
partition: delete `_SUCCESS`, PUT the part files, list the folder, PUT `_MANIFEST.json`, PUT an
empty `_SUCCESS`; "puts only" leaves out the delete and the list. A second payload replaces each
part file by `--synthetic-kb` KB of random bytes. "ecomlake.lake.fs" is the path a run takes: the
helpers with our client settings and the retry wrapper. Rounds go round-robin over all cases so
that a busy neighbour on the machine slows every case alike. (pyarrow's GCS filesystem hangs on
the emulator, so gs:// has gcsfs only.) Figures are recorded in docs/storage.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import shutil
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # before gcsfs is imported
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]
DAY = "2024-01-05"  # an ordinary day: no dimension backlog of the first task

Partition = tuple[str, list[tuple[str, bytes]], bytes]  # (rel dir, [(name, parquet)], manifest)


def render_day(tmp: Path) -> list[Partition]:
    """Generate 2024-01-04..05 locally and return the partitions written for DAY."""
    from ecomlake.api import generate
    from ecomlake.run.driver import GenerateOptions

    lake = tmp / "lake"
    options = GenerateOptions(
        target=str(lake),
        start_date=dt.date(2024, 1, 4),
        end_date=dt.date(2024, 1, 5),
        executor="in-process",
        batch_id="bench",
        ingestion_ts="2024-04-01T00:00:00+00:00",
    )
    result = generate(REPO / "gen_config" / "quick.yaml", options)
    assert result.ok, result.failures
    parts: list[Partition] = []
    for folder in sorted(lake.glob(f"*/*={DAY}")):
        files = [(p.name, p.read_bytes()) for p in sorted(folder.glob("part-*.parquet"))]
        manifest = (folder / "_MANIFEST.json").read_bytes()
        parts.append((f"{folder.parent.name}/{folder.name}", files, manifest))
    return parts


def synthetic(parts: list[Partition], kb: int) -> list[Partition]:
    """The same layout with every part file replaced by `kb` KB of incompressible bytes."""
    return [(d, [(n, os.urandom(kb * 1024)) for n, _ in files], m) for d, files, m in parts]


class Client:
    """The three operations of a commit for one client, and an untimed `clear(folder)`."""

    def __init__(self, name: str, put, delete, listing, clear) -> None:
        self.name, self.put, self.delete, self.listing = name, put, delete, listing
        self.clear = clear


def fsspec_client(name: str, fs) -> Client:
    def delete(path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)

    def listing(path: str) -> list[str]:
        fs.invalidate_cache(path)
        try:
            return fs.ls(path, detail=False)
        except FileNotFoundError:
            return []

    return Client(name, fs.pipe_file, delete, listing, lambda p: fs.rm(p, recursive=True))


def arrow_client(name: str, fs, make_parents: bool = False) -> Client:
    """pyarrow.fs; on local disk it must create parent folders itself (S3 has none)."""
    import pyarrow.fs as pafs

    def put(path: str, data: bytes) -> None:
        if make_parents:
            fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with fs.open_output_stream(path) as out:
            out.write(data)

    def delete(path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            fs.delete_file(path)

    def listing(path: str) -> list[str]:
        return [i.path for i in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))]

    return Client(name, put, delete, listing, fs.delete_dir)


def ecomlake_client(name: str, uri: str) -> tuple[Client, str]:
    """The helpers of ecomlake.lake.fs (our client settings and the retry wrapper) on `uri`."""
    from ecomlake.lake import fs as lake_fs

    loc = lake_fs.resolve_target(uri)

    def rel(path: str) -> str:
        return path[len(loc.root) + 1 :]

    client = Client(
        name,
        lambda path, data: lake_fs.write_bytes(loc, rel(path), data),
        lambda path: lake_fs.remove(loc, rel(path)),
        lambda path: lake_fs.list_dir(loc, rel(path)),
        lambda path: loc.fs.rm(path, recursive=True),
    )
    return client, loc.root


def local_client() -> Client:
    """What ecomlake does on local disk: temp file + rename, folders made first."""

    def put(path: str, data: bytes) -> None:
        parent, name = os.path.split(path)
        os.makedirs(parent, exist_ok=True)
        tmp = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def delete(path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)

    def listing(path: str) -> list[str]:
        try:
            return os.listdir(path)
        except FileNotFoundError:
            return []

    return Client("os (temp+rename)", put, delete, listing, shutil.rmtree)


def commit_day(client: Client, root: str, parts: list[Partition], full: bool) -> None:
    for rel_dir, files, manifest in parts:
        base = f"{root}/{rel_dir}"
        if full:
            client.delete(f"{base}/_SUCCESS")
        for name, data in files:
            client.put(f"{base}/{name}", data)
        if full:
            client.listing(base)
        client.put(f"{base}/_MANIFEST.json", manifest)
        client.put(f"{base}/_SUCCESS", b"")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--synthetic-kb", type=int, default=200)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ecomlake-bench-"))
    os.environ["TMPDIR"] = str(tmp)  # moto spools objects to temp files: keep them here
    tempfile.tempdir = None
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    import boto3
    import gcsfs
    import pyarrow.fs as pafs
    import s3fs
    from gcp_storage_emulator.server import create_server
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    _fix_moto_complete_multipart()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
    gcs_port = free_port()
    gcs = create_server("127.0.0.1", gcs_port, in_memory=True, default_bucket="bench")
    gcs.start()

    day = render_day(tmp)
    payloads = {"real day": day, f"{args.synthetic_kb} KB parts": synthetic(day, args.synthetic_kb)}
    files = sum(len(f) + 2 for _, f, _ in day)
    print(f"day {DAY}: {len(day)} partitions, {files} objects per day; median of {args.rounds}")

    s3 = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    arrow_s3 = pafs.S3FileSystem(
        endpoint_override=endpoint, region="us-east-1", access_key="bench", secret_key="bench"
    )
    gs = gcsfs.GCSFileSystem(
        endpoint_url=f"http://127.0.0.1:{gcs_port}", token="anon", skip_instance_cache=True
    )

    def wipe_gcs(_folder: str) -> None:
        # the emulator keeps deleted objects (soft delete) and rewrites its whole index on every
        # write, so each write gets slower the more were made before: reset it between rounds
        url = f"http://127.0.0.1:{gcs_port}/wipe?keep-buckets=1"
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()

    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{gcs_port}"
    gcs_clients = [
        fsspec_client("gcsfs", gs),
        ecomlake_client("ecomlake.lake.fs (gcsfs)", "gs://bench/ecomlake")[0],
    ]
    for client in gcs_clients:
        client.clear = wipe_gcs
    local_root = str(tmp / "local")
    targets = [
        ("s3 (moto)", fsspec_client("s3fs", s3), "bench/s3fs"),
        ("s3 (moto)", arrow_client("pyarrow.fs.S3FileSystem", arrow_s3), "bench/arrow"),
        ("s3 (moto)", *ecomlake_client("ecomlake.lake.fs (s3fs)", "s3://bench/ecomlake")),
        ("local disk", local_client(), f"{local_root}/os"),
        (
            "local disk",
            arrow_client("pyarrow.fs.LocalFileSystem", pafs.LocalFileSystem(), make_parents=True),
            f"{local_root}/arrow",
        ),
        ("gcs (emulator)", gcs_clients[0], "bench/gcsfs"),
        ("gcs (emulator)", gcs_clients[1], "bench/ecomlake"),
    ]
    try:
        run_all(targets, payloads, args.rounds)
    finally:
        gcs.stop()
        moto.stop()


def run_all(targets, payloads, rounds: int) -> None:
    """Time every (client, payload, sequence) once per round, round-robin, so that a noisy
    neighbour on the machine slows all of them alike; report the median per cell."""
    cases = []
    for target, client, root in targets:
        for label, parts in payloads.items():
            for full in (False, True):
                cases.append((target, client, label, full, f"{root}/{label[:4]}-{full:d}", parts))
    times: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for round_ in range(-1, rounds):  # round -1 warms every client up and is not counted
        for i, (_, client, _, full, root, parts) in enumerate(cases):
            t0 = time.perf_counter()
            commit_day(client, f"{root}/{round_}", parts, full)
            if round_ >= 0:
                times[i].append((time.perf_counter() - t0) * 1000)
            # a partition folder holds a handful of objects, not thousands: and the emulator
            # slows down as its store grows, so every round starts from an empty folder
            client.clear(f"{root}/{round_}")
    print(f"{'target':<16}{'client':<30}{'payload':<16}{'puts only':>12}{'commit seq':>12}")
    for i in range(0, len(cases), 2):
        target, client, label = cases[i][:3]
        cells = [f"{statistics.median(times[j]):10.1f}ms" for j in (i, i + 1)]
        print(f"{target:<16}{client.name:<30}{label:<16}{cells[0]:>12}{cells[1]:>12}")


def _fix_moto_complete_multipart() -> None:
    """moto 5.2.1 answers CompleteMultipartUpload with the wrong XML root tag, which the AWS C++
    SDK in pyarrow reads as an error embedded in a 200 (getmoto/moto#10055, fixed by #10056).
    pyarrow.fs writes every object as a multipart upload, so without this it cannot write to this
    moto at all; the patch renames the root tag in this process's server only."""
    from moto.s3.responses import S3Response

    original = S3Response.serialized

    def serialized(self, result):
        status, headers, body = original(self, result)
        if self.data.get("Action") == "CompleteMultipartUpload" and isinstance(body, str):
            body = body.replace("CompleteMultipartUploadResponse", "CompleteMultipartUploadResult")
        return status, headers, body

    S3Response.serialized = serialized


if __name__ == "__main__":
    main()
