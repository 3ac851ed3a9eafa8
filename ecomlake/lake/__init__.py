"""The lake sink: paths, Parquet encoding, manifests, storage and the per-partition commit."""

from ecomlake.lake.check import PartitionState, check_partition
from ecomlake.lake.commit import PartitionWrite, RunIdentity, is_committed
from ecomlake.lake.fs import (
    LakeLocation,
    exists,
    join,
    list_dir,
    read_bytes,
    remove,
    resolve_target,
    write_bytes,
)
from ecomlake.lake.layout import (
    MANIFEST_NAME,
    SUCCESS_NAME,
    part_file_name,
    partition_dir,
    partition_name,
    validate_segment,
)
from ecomlake.lake.manifest import SCHEMA_VERSION, ManifestFile, PartitionManifest
from ecomlake.lake.parquet import COMPRESSIONS, ParquetOptions, encode_parquet, split_rows
from ecomlake.lake.sink import PartitionSink, write_partition

__all__ = [
    "COMPRESSIONS",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "SUCCESS_NAME",
    "LakeLocation",
    "ManifestFile",
    "ParquetOptions",
    "PartitionManifest",
    "PartitionSink",
    "PartitionState",
    "PartitionWrite",
    "RunIdentity",
    "check_partition",
    "encode_parquet",
    "exists",
    "is_committed",
    "join",
    "list_dir",
    "part_file_name",
    "partition_dir",
    "partition_name",
    "read_bytes",
    "remove",
    "resolve_target",
    "split_rows",
    "validate_segment",
    "write_bytes",
    "write_partition",
]
