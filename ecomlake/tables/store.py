"""Object-store credentials for the table libraries, taken from the lake's own s3fs/gcsfs
options (and the environment the libraries read themselves), so `--storage-option` is given once."""

from __future__ import annotations

import json
import os

from ecomlake.lake import LakeLocation

GCS_API = "https://storage.googleapis.com"


def _s3_settings(loc: LakeLocation) -> dict[str, str | None]:
    """endpoint, key, secret and region of the lake's S3 client, where set."""
    fs = loc.fs
    client_kwargs = getattr(fs, "client_kwargs", None) or {}
    return {
        "endpoint": getattr(fs, "endpoint_url", None)
        or client_kwargs.get("endpoint_url")
        or os.environ.get("AWS_ENDPOINT_URL"),
        "key": getattr(fs, "key", None),
        "secret": getattr(fs, "secret", None),
        "region": client_kwargs.get("region_name") or os.environ.get("AWS_DEFAULT_REGION"),
    }


def delta_storage_options(loc: LakeLocation) -> dict[str, str]:
    """delta-rs `storage_options` for the lake's store; {} for a local lake."""
    if loc.scheme == "gs":
        return _delta_gcs_options(loc)
    if loc.scheme != "s3":
        return {}
    s3 = _s3_settings(loc)
    options = {
        "AWS_ENDPOINT_URL": s3["endpoint"],
        "AWS_ACCESS_KEY_ID": s3["key"],
        "AWS_SECRET_ACCESS_KEY": s3["secret"],
        "AWS_REGION": s3["region"],
    }
    if str(s3["endpoint"] or "").startswith("http://"):
        options["AWS_ALLOW_HTTP"] = "true"
    return {k: str(v) for k, v in options.items() if v}


def _delta_gcs_options(loc: LakeLocation) -> dict[str, str]:
    """delta-rs takes a GCS endpoint only from a service-account key, so a lake whose client
    talks to another endpoint without credentials (an emulator) gets a key naming that endpoint
    with OAuth off; real GCS needs nothing (delta-rs finds the credentials as gcsfs does)."""
    endpoint = str(getattr(loc.fs, "_location", "") or "").rstrip("/")
    anonymous = getattr(getattr(loc.fs, "credentials", None), "method", None) == "anon"
    if not endpoint or endpoint == GCS_API or not anonymous:
        return {}
    key = {"gcs_base_url": endpoint, "disable_oauth": True}
    key.update(dict.fromkeys(("client_email", "private_key", "private_key_id"), ""))  # required
    options = {"google_service_account_key": json.dumps(key)}
    if endpoint.startswith("http://"):
        options["allow_http"] = "true"
    return options


FSSPEC_IO = "pyiceberg.io.fsspec.FsspecFileIO"


def iceberg_io_properties(loc: LakeLocation) -> dict[str, str]:
    """pyiceberg FileIO properties for the lake's store; {} for a local lake. Object stores go
    through fsspec (s3fs/gcsfs, as the lake itself): Arrow's S3 client writes metadata files
    as multipart uploads, which some S3-compatible stores do not complete."""
    if loc.is_local:
        return {}
    if loc.scheme == "gs":
        return {"py-io-impl": FSSPEC_IO, **_gcs_settings(loc)}
    s3 = _s3_settings(loc)
    options = {
        "py-io-impl": FSSPEC_IO,
        "s3.endpoint": s3["endpoint"],
        "s3.access-key-id": s3["key"],
        "s3.secret-access-key": s3["secret"],
        "s3.region": s3["region"],
    }
    return {k: str(v) for k, v in options.items() if v}


def _gcs_settings(loc: LakeLocation) -> dict[str, str]:
    """The lake's GCS endpoint, and anonymous access where the lake's client uses it (an
    emulator); otherwise gcsfs finds the credentials as it does for the lake."""
    options = {"gcs.service.host": getattr(loc.fs, "_endpoint", None)}
    credentials = getattr(loc.fs, "credentials", None)
    if getattr(credentials, "method", None) == "anon":
        options["gcs.oauth2.token"] = "anon"
    return {k: str(v) for k, v in options.items() if v}
