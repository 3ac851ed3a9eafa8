"""Fingerprint of the effective config: equal fingerprints mean the config yields the same data.

Used to decide whether a committed partition can be skipped on a re-run.
"""

from __future__ import annotations

import hashlib
import json

from ecomlake.config.models import EcomConfig

# Keys accepted for compatibility with the older tool that never change a generated value.
_IGNORED_KEYS = {"row_generators", "output_dir"}


def config_fingerprint(cfg: EcomConfig) -> str:
    """sha256 hex of the config as compact canonical JSON, defaults filled in.

    Model fields serialise in declaration order, so moving YAML sections around changes
    nothing. Keys are deliberately not re-sorted: the order of a distribution's entries decides
    which label a draw maps to, so reordering them must give a new fingerprint.
    """
    payload = cfg.model_dump(mode="json", exclude=_IGNORED_KEYS)
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
