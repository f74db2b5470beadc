"""Clearance: a real-account run (or sweep) starts only when told three times, before any Invoicing client exists.

  1. the flag `--allow-real-account`, and
  2. the environment variable INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT=1 (a pipeline sets it on purpose; a
     command copied from a README does not carry it), and
  3. an allowlist of account IDs (`--allowed-account ID`, repeatable, or INVOICING_CONTRACTS_ALLOWED_ACCOUNTS),
     on which the caller's account, as STS GetCallerIdentity reports it, must be.
Otherwise `Unsafe` (exit code 3) with the region and, once known, the account and caller ARN in the message.
STS is asked only after 1-3 are given: without opt-in nothing leaves the machine.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from contracts.exit_codes import ExitCode
from contracts.guard.plan import ACCOUNT_ID

OPT_IN_FLAG = "--allow-real-account"
OPT_IN_ENV = "INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT"
ALLOWLIST_ENV = "INVOICING_CONTRACTS_ALLOWED_ACCOUNTS"
_TRUE = {"1", "true", "yes"}


class Unsafe(RuntimeError):
    """The real-account run must not start (CLI exit code 3). The message says why and what to change."""

    exit_code = ExitCode.UNSAFE


class ClearanceOptions(Protocol):
    """What clearance reads: contracts.options.RunOptions and contracts.guard.sweep.SweepOptions both have it."""

    allow_real_account: bool
    allowed_account: tuple[str, ...]
    aws_profile: str | None
    aws_region: str | None
    endpoint_url: str | None


@dataclass(frozen=True)
class Clearance:
    """The account a real-account run was cleared for."""

    account: str
    caller_arn: str
    region: str
    endpoint_url: str | None
    allowlist: tuple[str, ...]

    def describe(self) -> str:
        where = f"region {self.region}" + (f", endpoint {self.endpoint_url}" if self.endpoint_url else "")
        return f"account {self.account} ({self.caller_arn}), {where}"


def allowlist_of(options: ClearanceOptions, environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = list(options.allowed_account)
    if not raw and environ.get(ALLOWLIST_ENV):
        raw = [environ[ALLOWLIST_ENV]]
    ids = [part for item in raw for part in re.split(r"[,\s]+", item) if part]
    bad = [i for i in ids if not ACCOUNT_ID.fullmatch(i)]
    if bad:
        raise ValueError(f"the allowlist has entries that are not 12-digit account IDs: {', '.join(map(repr, bad))}")
    return tuple(dict.fromkeys(ids))


def region_of(options: ClearanceOptions, session) -> str | None:
    return options.aws_region or session.region_name


def endpoint_of(options: ClearanceOptions, environ: Mapping[str, str]) -> str | None:
    return options.endpoint_url or environ.get("AWS_ENDPOINT_URL_INVOICING") or None


def make_session(options: ClearanceOptions) -> boto3.Session:
    return boto3.Session(profile_name=options.aws_profile, region_name=options.aws_region)


def clear(options: ClearanceOptions, *, environ: Mapping[str, str] | None = None, session=None,
          purpose: str = "--target aws") -> Clearance:
    """Raise Unsafe unless flag, environment, allowlist and the caller's account all agree; no Invoicing call."""
    environ = os.environ if environ is None else environ
    session = session or make_session(options)
    region = region_of(options, session)
    endpoint = endpoint_of(options, environ)
    where = f"region {region or 'unset'}" + (f", endpoint {endpoint}" if endpoint else "")

    def refuse(reason: str, account: str = "not checked") -> Unsafe:
        return Unsafe(f"refusing {purpose} ({where}, account {account}): {reason}")

    if not options.allow_real_account:
        raise refuse(f"this run would write to a real AWS account; opt in with {OPT_IN_FLAG} and "
                     f"{OPT_IN_ENV}=1, and allowlist the account with --allowed-account ACCOUNT_ID")
    if environ.get(OPT_IN_ENV, "").strip().lower() not in _TRUE:
        raise refuse(f"{OPT_IN_FLAG} was given but {OPT_IN_ENV} is not set to 1; both are needed, so that a "
                     f"copied command line alone cannot write to an account")
    try:
        allowlist = allowlist_of(options, environ)
    except ValueError as error:
        raise refuse(str(error)) from None
    if not allowlist:
        raise refuse(f"no account is allowlisted; add --allowed-account ACCOUNT_ID (or {ALLOWLIST_ENV}) for each "
                     f"account this run may write to")
    if not region:
        raise refuse("no region; set --aws-region or AWS_DEFAULT_REGION")
    identity = caller_identity(session, region, purpose)
    account, arn = identity["Account"], identity["Arn"]
    if account not in allowlist:
        raise refuse(f"the caller ({arn}) is account {account}, which is not on the allowlist "
                     f"({', '.join(allowlist)}); nothing was sent to Invoicing", account)
    return Clearance(account, arn, region, endpoint, allowlist)


def caller_identity(session, region: str, purpose: str = "--target aws") -> dict:
    """STS GetCallerIdentity (needs no IAM permission); Unsafe when the caller cannot be established."""
    try:
        return session.client("sts", region_name=region).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        raise Unsafe(f"refusing {purpose} (region {region}): cannot establish the caller's account with STS "
                     f"GetCallerIdentity ({type(error).__name__}: {error}); check the credentials") from None
