"""`verify`: manifests and invariants of a whole lake in one report a person or a script reads."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import duckdb
import pyarrow as pa

from ecomlake.config import EcomConfig
from ecomlake.errors import ConfigError
from ecomlake.lake.fs import join, resolve_target
from ecomlake.render.registry import TABLE_NAMES
from ecomlake.verify.invariants import Violation, check_invariants
from ecomlake.verify.manifests import check_manifests


@dataclass
class VerifyReport:
    """What was checked and what broke; `ok` is true when nothing did."""

    target: str
    manifest_violations: list[Violation] = field(default_factory=list)
    invariant_violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def violations(self) -> list[Violation]:
        return self.manifest_violations + self.invariant_violations

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> str:
        body = {
            "target": self.target,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "violations": [asdict(v) for v in self.violations],
        }
        return json.dumps(body, indent=2, sort_keys=True)

    def to_text(self) -> str:
        lines = [f"verify {self.target}"]
        for name, found in (
            ("manifests", self.manifest_violations),
            ("invariants", self.invariant_violations),
        ):
            lines.append(f"  {name}: {'ok' if not found else f'{len(found)} problem(s)'}")
            lines.extend(f"    FAIL {v.check}: {v.detail}" for v in found)
        lines.append(f"result: {'ok' if self.ok else 'FAILED'} ({self.seconds:.1f}s)")
        return "\n".join(lines)


def verify_lake(
    target: str,
    config: EcomConfig | None = None,
    storage_options: dict | None = None,
) -> VerifyReport:
    """Check every partition's manifest and every data invariant of the lake at `target`."""
    started = time.perf_counter()
    loc = resolve_target(target, storage_options)
    if not any(loc.fs.exists(join(loc.root, name)) for name in TABLE_NAMES):
        raise ConfigError(f"verify: no lake at {target} (none of its table folders exist)")
    report = VerifyReport(target)
    report.manifest_violations = check_manifests(target, storage_options)
    try:
        report.invariant_violations = check_invariants(target, config, storage_options)
    except (duckdb.Error, pa.ArrowException, OSError) as exc:  # e.g. a truncated part file
        reason = str(exc).strip().splitlines()[0]
        report.invariant_violations = [
            Violation("invariants.not_run", f"the data could not be read: {reason}", 1)
        ]
    report.seconds = time.perf_counter() - started
    return report
