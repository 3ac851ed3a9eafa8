"""Read a YAML config into an `EcomConfig`; any failure is one `ConfigError` line `yaml.path: rule`.

Nothing else in the project parses the YAML, so this is where bad input is turned into a message.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from ecomlake.config.fields import RULE_ERROR_TYPE
from ecomlake.config.models import EcomConfig
from ecomlake.errors import ConfigError

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MAX_SHOWN = 40


class _ConfigLoader(yaml.SafeLoader):
    """Safe loader that keeps dates as text (the models parse and report them) and rejects
    duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # they would hide duplicate keys
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "merge keys (<<) are not supported: write the keys out",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # unhashable: the base constructor reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


MAX_CONFIG_BYTES = 4 * 2**20  # the largest config here is a few KB


def load_config(path: str | Path) -> EcomConfig:
    """Read and validate the YAML file at `path`."""
    if not str(path).strip():  # Path("") is the current folder
        raise ConfigError("config: the path is empty")
    path = Path(path)
    try:
        with path.open("rb") as file:  # bounded: a device or a huge file is not read whole
            data = file.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"config: {path} is larger than {MAX_CONFIG_BYTES // 2**20} MiB: not a config"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config: cannot read {path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    return load_config_text(text, source=str(path))


def load_config_text(text: str, source: str = "<string>") -> EcomConfig:
    """Validate YAML text; `source` names it in messages about the text as a whole."""
    try:
        data = yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(exc, source)) from None
    if not isinstance(data, dict):
        got = "nothing" if data is None else f"a {_kind(data)}"
        raise ConfigError(f"config: {source} must hold a mapping at the top level (got {got})")
    try:
        return EcomConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def _yaml_message(exc: yaml.YAMLError, source: str) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return _one_line(f"config: invalid YAML in {source}{where}: {problem}")


def format_validation_error(exc: ValidationError) -> str:
    """The first error as `yaml.path: rule`, plus how many more there are."""
    errors = exc.errors(include_url=False)
    first = _pick_first(errors)
    loc = list(first["loc"]) + list((first.get("ctx") or {}).get("at", ()))
    prefix = ""
    if loc and loc[-1] == "[key]":  # pydantic marks an invalid dict key this way
        loc.pop()
        prefix = "key "
    if first["type"] == "extra_forbidden":
        rule_text = f"unknown key ({_did_you_mean(first, errors) or 'check the spelling'})"
    else:
        rule_text = _rule_text(first)
    message = f"{format_path(loc)}: {prefix}{rule_text}"
    if len(errors) > 1:
        message += f" (+{len(errors) - 1} more)"
    return _one_line(message)


def _pick_first(errors: list[dict]) -> dict:
    """A misspelt key shows up as 'unknown' plus 'missing'; the unknown one is the useful report."""
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def _did_you_mean(extra: dict, errors: list[dict]) -> str:
    """Suggest the key the unknown one closely resembles: a key of that mapping in the config's
    model (the same letters in another case first), or a required sibling that is missing."""
    parent, name = extra["loc"][:-1], str(extra["loc"][-1])
    missing = [
        str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent
    ]
    known = [*missing, *_model_keys(EcomConfig, parent)]
    same = [key for key in known if key.lower() == name.lower()]
    close = same or difflib.get_close_matches(name, known, n=1)
    return f"did you mean {close[0]!r}?" if close else ""


def _model_keys(model: type[BaseModel], path: tuple) -> list[str]:
    """The keys the model takes at `path` (a validation error's location), [] where the path
    leads to no model (a list of numbers, a free mapping)."""
    kind: Any = model
    for part in path:
        kind = _bare(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(part, str):
            field = kind.model_fields.get(part)
            kind = field.annotation if field is not None else None
        elif get_origin(kind) in (list, tuple) and isinstance(part, int):
            kind = get_args(kind)[0]
        elif get_origin(kind) is dict:
            kind = get_args(kind)[1]
        else:
            return []
    kind = _bare(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [field.alias or key for key, field in kind.model_fields.items()]
    return []


def _bare(kind: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` as X."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(kind) if a is not type(None)]
            if len(args) != 1:
                return kind
            kind = args[0]
        else:
            return kind


def format_path(loc: list[str | int]) -> str:
    """['tables', 2, 'item_count_range'] -> 'tables[2].item_count_range'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            path += f".{part}" if path else part
        else:
            path += f'["{part}"]'
    return path or "config"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    return "number" if isinstance(value, int | float) else type(value).__name__


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict | list | tuple):
        return f"a {_kind(value)}"
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _got(text: str) -> Callable[[dict], str]:
    return lambda err: f"{text} (got {_shown(err.get('input'))})"


_MESSAGES: dict[str, Callable[[dict], str]] = {
    "missing": lambda err: "field required",
    "int_type": _got("must be a whole number"),
    "int_parsing": _got("must be a whole number"),
    "int_from_float": _got("must be a whole number"),
    "float_type": _got("must be a number"),
    "float_parsing": _got("must be a number"),
    "finite_number": _got("must be a finite number"),
    "bool_type": _got("must be true or false"),
    "bool_parsing": _got("must be true or false"),
    "string_type": _got("must be text"),
    "list_type": _got("must be a list"),
    "tuple_type": _got("must be a list"),
    "dict_type": _got("must be a mapping"),
    "model_type": _got("must be a mapping"),
    "model_attributes_type": _got("must be a mapping"),
    "too_short": lambda err: f"must have at least {err['ctx']['min_length']} entries",
    "too_long": lambda err: f"must have at most {err['ctx']['max_length']} entries",
}


def _rule_text(err: dict) -> str:
    if err["type"] == RULE_ERROR_TYPE:
        return err["msg"]
    if err["type"] == "value_error":
        return str(err["ctx"]["error"])
    render = _MESSAGES.get(err["type"])
    if render is not None:
        return render(err)
    msg = err["msg"]
    return msg[:1].lower() + msg[1:]


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
