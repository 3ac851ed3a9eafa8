"""Verify a lake: data invariants (DuckDB) and manifests against the files they describe."""

from ecomlake.verify.invariants import Violation, check_invariants
from ecomlake.verify.manifests import check_manifests

__all__ = ["Violation", "check_invariants", "check_manifests"]
