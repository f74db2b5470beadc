"""The exit codes of every `invoicing-contracts` command, and the one error that means "bad input"."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # every contract holds
    VIOLATED = 1  # a contract is violated, the suite could not check one, or the drift gate failed
    USAGE = 2  # bad input: options, files, or an installed model too old for the contracts
    UNSAFE = 3  # the target is unreachable, or a real account is not cleared for the run


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""

    exit_code = ExitCode.USAGE
