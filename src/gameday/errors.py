"""Errors a user can cause. Each carries one sentence naming the file (or
thing) and the fix; the CLI prints it on one line and exits with its code."""
from __future__ import annotations


class UserError(Exception):
    """Bad input: a malformed feature, experiment, SLA, manifest, kubeconfig
    or request. Exit code 2, never a traceback."""

    exit_code = 2

    def __init__(self, message: str):
        message = one_line(message)
        super().__init__(message)
        self.message = message


class TargetError(Exception):
    """The target could not be reached, or a rollback failed. Exit code 3."""

    exit_code = 3

    def __init__(self, message: str):
        message = one_line(message)
        super().__init__(message)
        self.message = message


def one_line(message: str) -> str:
    """A message on one line (a parser's multi-line error folded), so the
    CLI's answer to bad input is always exactly one line."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())
