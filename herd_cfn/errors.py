"""One error type for every kind of bad input, so the CLI can print one clear line and exit non-zero."""

from __future__ import annotations


class HerdError(Exception):
    """A problem the user can fix. ``str()`` is the one message the CLI prints."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(HerdError):
    """Bad input: names where (file), what (key) and which rule was broken."""

    def __init__(self, where: str, key: str | None, rule: str) -> None:
        self.where = where
        self.key = key
        self.rule = rule
        location = f"{where}: {key}" if key else where
        super().__init__(f"{location}: {rule}")


class DeploymentError(HerdError):
    """A deployment that AWS refused or that failed; exit code 1 sets it apart from bad input."""

    exit_code = 1
