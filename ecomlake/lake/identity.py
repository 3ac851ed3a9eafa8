"""What a lake is (`_lake.json`: seed, config fingerprint, window, and the config it was made
with), so that a run never mixes another config into a lake. Who is writing it: `lock.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, fields

import yaml

from ecomlake.config import EcomConfig
from ecomlake.config.load import load_config_text
from ecomlake.errors import EcomlakeError, OptionError
from ecomlake.lake.fs import (
    LakeLocation,
    exists,
    is_link,
    join,
    read_bytes,
    remove,
    remove_tree,
    write_bytes,
)

log = logging.getLogger(__name__)

LAKE_FILE = "_lake.json"
CONFIG_FILE = "_config.yaml"  # the config the lake was made with: verify and repair plan from it
_FIELDS = ("target", "overwrite")  # the options a refusal of the lake there names


@dataclass(frozen=True)
class LakeIdentity:
    """The facts that make two runs' partitions belong to the same lake."""

    seed: int
    config_fingerprint: str
    generator_version: str
    world_start: str
    world_end: str
    messiness: dict | None = None  # a messy lake's level and rates (what verify expects broken)

    def same_world(self, other: LakeIdentity) -> bool:
        return (self.seed, self.config_fingerprint, self.world_start, self.world_end) == (
            other.seed,
            other.config_fingerprint,
            other.world_start,
            other.world_end,
        )


# What a damaged `_lake.json` stands for under --overwrite: a lake of no known world, replaced.
UNKNOWN_LAKE = LakeIdentity(-1, "", "", "", "")


def read_identity(loc: LakeLocation, *, overwrite: bool | None = None) -> LakeIdentity | None:
    """The lake's identity, or None for a new (or empty) target. A damaged `_lake.json` is a
    one-line OptionError; with `overwrite` it is UNKNOWN_LAKE (another world: replaced), and
    `overwrite` False (the command could) offers it."""
    if not exists(loc, LAKE_FILE):
        return None
    try:
        body = json.loads(read_bytes(loc, LAKE_FILE))
        problem = _identity_problem(body)
    except (EcomlakeError, ValueError) as exc:
        problem = f"unreadable: {exc}"
    if problem is None:
        return LakeIdentity(**body)
    if overwrite:
        return UNKNOWN_LAKE
    rule = f"{{target}}: {join(loc.root, LAKE_FILE)} is damaged ({problem}); restore it"
    if overwrite is False:
        rule += ", or pass {overwrite} to replace the lake"
    raise OptionError("", rule, *_FIELDS)


def _identity_problem(body: object) -> str | None:
    """What is wrong with a parsed `_lake.json`, or None."""
    if not isinstance(body, dict):
        return "not a JSON object"
    names = [f.name for f in fields(LakeIdentity)]
    missing = [n for n in names[:5] if n not in body]
    if missing:
        return f"no {', '.join(missing)}"
    unknown = sorted(set(body) - set(names))
    if unknown:
        return f"unknown key {unknown[0]!r}"
    if isinstance(body["seed"], bool) or not isinstance(body["seed"], int):
        return f"seed {body['seed']!r} is not a whole number"
    texts = [n for n in names[1:5] if not isinstance(body[n], str)]
    if texts:
        return f"{texts[0]} is not text"
    for name in ("world_start", "world_end"):
        try:
            dt.date.fromisoformat(body[name])
        except ValueError:
            return f"{name} {body[name]!r} is not a date (YYYY-MM-DD)"
    return None


def write_identity(loc: LakeLocation, identity: LakeIdentity) -> None:
    """`_lake.json`; a clean lake's has no `messiness` key (its bytes predate messiness)."""
    body = {k: v for k, v in asdict(identity).items() if k != "messiness" or v is not None}
    write_bytes(loc, LAKE_FILE, (json.dumps(body, indent=2) + "\n").encode())


def config_yaml(cfg: EcomConfig) -> bytes:
    """The config with every default filled in, as YAML that loads to the same fingerprint."""
    body = cfg.document(by_alias=True, exclude_unset=True)
    text = "# the config this lake was generated with (written by ecomlake)\n"
    return (text + yaml.safe_dump(body, sort_keys=False)).encode()


def write_lake_config(loc: LakeLocation, cfg: EcomConfig) -> None:
    """`_config.yaml`, so the lake alone is enough to plan it again (verify, repair)."""
    write_bytes(loc, CONFIG_FILE, config_yaml(cfg))


def read_lake_config(loc: LakeLocation) -> EcomConfig | None:
    """The config stored with the lake, or None for a lake that has none (export-raw, older)."""
    if not exists(loc, CONFIG_FILE):
        return None
    text = read_bytes(loc, CONFIG_FILE).decode("utf-8", errors="replace")
    return load_config_text(text, source=join(loc.root, CONFIG_FILE))


def check_compatible(
    loc: LakeLocation, existing: LakeIdentity, new: LakeIdentity, can_overwrite: bool = True
) -> None:
    """Refuse to mix another config, seed or window into an existing lake; `can_overwrite`:
    the command has --overwrite, so the message offers it."""
    if existing.same_world(new):
        return
    levels = _level(existing), _level(new)
    same_place = (existing.seed, existing.world_start, existing.world_end) == (
        new.seed,
        new.world_start,
        new.world_end,
    )
    if same_place and levels[0] != levels[1]:  # the level is folded into the fingerprint
        rule = (
            f"{{target}}: {loc.uri} holds a {levels[0]} lake and this run is {levels[1]}: pass "
            f"{{messiness_level}} {levels[0]} to add to it, or choose another {{target}}"
        )
        raise OptionError("", rule, "target", "messiness_level")
    if same_place and existing.messiness and new.messiness and existing.messiness != new.messiness:
        rates = sorted(set(existing.messiness) | set(new.messiness))
        differ = ", ".join(
            f"{k} {existing.messiness.get(k)} here, {new.messiness.get(k)} in this run"
            for k in rates
            if existing.messiness.get(k) != new.messiness.get(k)
        )
        rule = (
            f"{{target}}: {loc.uri} holds a {levels[0]} lake of other rates ({differ}); a lake "
            "keeps one level's rates (a lake export-raw made from a run dir has no late rows), "
            "so choose another {target}"
        )
        raise OptionError("", rule, "target")
    hint = ""
    if (existing.seed, existing.config_fingerprint) == (new.seed, new.config_fingerprint):
        hint = " (only the window differs: pin parameters.start_date/end_date to grow a lake)"
    way_out = "pass {overwrite} to replace it all, or choose" if can_overwrite else "choose"
    rule = (
        f"{{target}}: {loc.uri} holds a lake made with another config, seed or window "
        f"(fingerprint {existing.config_fingerprint[:12]}, seed {existing.seed}, "
        f"{existing.world_start}..{existing.world_end}; this run: "
        f"{_differs(existing, new)}); to add to it, run with its own config ({CONFIG_FILE} "
        f"in the lake) and seed; {way_out} another {{target}}{hint}"
    )
    raise OptionError("", rule, *_FIELDS)


def _differs(existing: LakeIdentity, new: LakeIdentity) -> str:
    """What of this run's identity is not the lake's: its fingerprint, seed and window."""
    parts = [
        f"fingerprint {new.config_fingerprint[:12]}"
        if new.config_fingerprint != existing.config_fingerprint
        else "",
        f"seed {new.seed}" if new.seed != existing.seed else "",
        f"{new.world_start}..{new.world_end}"
        if (new.world_start, new.world_end) != (existing.world_start, existing.world_end)
        else "",
    ]
    return ", ".join(p for p in parts if p) or "the same fingerprint, seed and window"


def _level(identity: LakeIdentity) -> str:
    """The messiness level a lake (or run) identity names; `none` for a clean one."""
    return str((identity.messiness or {}).get("name") or "none")


def clear_lake(loc: LakeLocation, tables: list[str]) -> None:
    """Remove the given table folders and the identity file (keeps `_runs/` history)."""
    for table in tables:
        if remove_tree(loc, table):
            log.warning("--overwrite: removed %s", loc.display(join(loc.root, table)))
    remove(loc, LAKE_FILE)
    remove(loc, CONFIG_FILE)


def unlink_tables(loc: LakeLocation, tables: list[str]) -> None:
    """Remove each table folder that is a link (the link, not what it points to), so that an
    overwrite writes real folders inside the lake."""
    for table in tables:
        if is_link(loc, table):
            remove_tree(loc, table)
            log.warning("--overwrite: removed the link %s", loc.display(join(loc.root, table)))


def forget_empty_lake(loc: LakeLocation, tables: list[str]) -> None:
    """Remove the identity files a run wrote first if it failed before any table folder came to
    be, so the target is free again; a lake with data keeps them (they say what the data is)."""
    if not any(exists(loc, table) for table in tables):
        remove(loc, LAKE_FILE)
        remove(loc, CONFIG_FILE)
