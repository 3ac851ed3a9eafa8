"""Library option fields -> the CLI's flags, so an OptionError reads `--batch-id: ...` here and
`GenerateOptions.batch_id: ...` to library callers."""

from __future__ import annotations

from ecomlake.errors import EcomlakeError, OptionError

_NOT_DERIVED = {  # every other field is `--` + its name with '-' for '_'
    "catalog_options": "--catalog-option",
    "hooks": "--post-export-hook",
    "post_export_hooks": "--post-export-hook",
    "storage_options": "--storage-option",
    "tables": "--table",
}


def flag(field: str) -> str:
    """The flag that sets option `field`."""
    return _NOT_DERIVED.get(field, "--" + field.replace("_", "-"))


def cli_message(exc: EcomlakeError) -> str:
    """The error's one line as the CLI shows it."""
    return exc.render(flag) if isinstance(exc, OptionError) else str(exc)
