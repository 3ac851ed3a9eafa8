"""Exception hierarchy: one root, each error keeps its context and pickles across Ray.

Exit codes used by the CLI: 0 ok, 1 ran but checks failed, 2 bad input (nothing written),
3 run failed or incomplete, 130 interrupted (Ctrl-C or SIGTERM; re-run to resume).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class EcomlakeError(Exception):
    """Root of every error the tool raises on purpose; `exit_code` is what the CLI returns."""

    exit_code = EXIT_RUN_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self):  # keep the message when Ray ships the exception to the driver
        return (type(self), (self.message,))

    def __str__(self) -> str:
        return self.message


class ConfigError(EcomlakeError):
    """The YAML or a flag is invalid; the message reads `yaml.path: rule` or `--flag: rule`."""

    exit_code = EXIT_BAD_INPUT


class OptionError(ConfigError):
    """An option is invalid. The rule is written once, naming options as `{field}` placeholders:
    the library shows them as `Owner.field` (`field` for a plain argument, owner ""), the CLI as
    its flags (cli/flags.py)."""

    def __init__(self, owner: str, template: str, *fields: str) -> None:
        self.owner, self.template, self.fields = owner, template, fields
        super().__init__(self.render(lambda field: f"{owner}.{field}" if owner else field))

    def __reduce__(self):
        return (type(self), (self.owner, self.template, *self.fields))

    def render(self, name: Callable[[str], str]) -> str:
        """The message with every `{field}` named by `name`."""
        text = self.template
        for field in self.fields:
            text = text.replace("{" + field + "}", name(field))
        return text

    def owned_by(self, owner: str, fields: Collection[str]) -> OptionError:
        """The same rule named as `owner`'s options when `owner` holds every field it names: a
        check shared by several commands (the target, the Ray address) cannot know whose
        option it checks, the command that called it does."""
        if owner == self.owner or not set(self.fields) <= set(fields):
            return self
        return type(self)(owner, self.template, *self.fields)


class StorageError(EcomlakeError):
    """Reading or writing the lake failed."""


class CommitError(EcomlakeError):
    """A partition could not be committed (data, manifest, _SUCCESS)."""


class Interrupted(EcomlakeError):
    """Ctrl-C or SIGTERM came before the run wrote anything."""

    exit_code = EXIT_INTERRUPTED
