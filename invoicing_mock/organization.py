"""Who is calling, and which organisation they belong to.

Invoicing rules are about organisations: invoice units are managed by the organisation's payer (management)
account, and their receiver and linked accounts must be members. Standalone, the emulator knows the
organisations it was configured with (by default `DEFAULT_ORGANIZATION`); inside moto's `mock_aws()`, an
organisation created in moto's Organizations backend takes precedence, so a user's moto world and Invoicing agree.

The caller's account comes from the request's credentials, in this order:
1. inside `mock_aws()`: moto's own rules (`MOTO_ACCOUNT_ID`, the `x-moto-account-id` header, IAM access keys);
2. an access key registered with the backend (`InvoicingBackend.register_access_key`);
3. an access key id that is itself 12 digits is that account (handy for any SDK:
   `AWS_ACCESS_KEY_ID=111122223333`);
4. otherwise the default account 123456789012 (moto's default, the caller with any test credentials).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Iterable

DEFAULT_ACCOUNT_ID = "123456789012"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Organization:
    """An AWS organisation as Invoicing sees it: the payer (management) account and its member accounts.

    `members` always includes the payer.
    """

    payer: str
    members: frozenset[str]

    def __post_init__(self):
        for account in (self.payer, *self.members):
            if not _ACCOUNT_ID.fullmatch(account):
                raise ValueError(f"organisation accounts are 12-digit IDs; got {account!r}")
        if self.payer not in self.members:
            object.__setattr__(self, "members", frozenset(self.members | {self.payer}))

    @classmethod
    def of(cls, payer: str, members: Iterable[str] = ()) -> "Organization":
        return cls(payer=payer, members=frozenset(members) | {payer})

    def __contains__(self, account: object) -> bool:
        return account in self.members


#: The organisation `mock_invoicing()`, `invoicing-contracts serve` and `run --target endpoint` assume unless
#: told otherwise: payer 123456789012 (moto's default account) and five members.
DEFAULT_ORGANIZATION = Organization.of(
    "123456789012",
    ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555"],
)


class Directory:
    """The organisations the emulator knows; an account in none of them is a standalone account, which in AWS
    is its own payer (an organisation of one)."""

    def __init__(self, organizations: Iterable[Organization] = (DEFAULT_ORGANIZATION,)):
        self._by_account: dict[str, Organization] = {}
        for org in organizations:
            for account in org.members:
                other = self._by_account.get(account)
                if other is not None and other != org:
                    raise ValueError(
                        f"account {account} is in two organisations (payers {other.payer} and {org.payer}); "
                        f"an account belongs to at most one organisation"
                    )
                self._by_account[account] = org

    def organization_of(self, account: str) -> Organization:
        moto_org = moto_organization_of(account)
        if moto_org is not None:
            return moto_org
        return self._by_account.get(account) or Organization.of(account)


def moto_active() -> bool:
    """True inside moto's mock_aws(). Never imports moto: if it is not imported, it is not active."""
    core = sys.modules.get("moto.core.models")
    return bool(core is not None and core.botocore_stubber.enabled)


def moto_organization_of(account: str) -> Organization | None:
    """The organisation moto's Organizations backend holds for `account`, or None (moto inactive or no org)."""
    if not moto_active():
        return None
    # Imported here, where moto is active and so already loaded: at module level it would load moto's
    # Organizations and IAM backends for every user of the emulator, most of whom never enter mock_aws().
    from moto.organizations.models import organizations_backends

    payer = account
    if account in organizations_backends.master_accounts:
        payer = organizations_backends.master_accounts[account][0]
    if payer not in organizations_backends:
        return None
    for partition_backend in organizations_backends[payer].values():
        org = getattr(partition_backend, "org", None)
        if org is not None:
            members = [acct.id for acct in partition_backend.accounts if getattr(acct, "status", "ACTIVE") == "ACTIVE"]
            return Organization.of(org.master_account_id, members)
    return None


def access_key_of(authorization: str | None) -> str | None:
    if not authorization:
        return None
    match = _CREDENTIAL.search(authorization)
    return match.group(1) if match else None


def caller_account(headers: dict[str, str], access_keys: dict[str, str]) -> str:
    """The account a request acts as (see the module docstring for the order of the rules).

    `headers` has lower-case names, as responses.py normalises them.
    """
    access_key = access_key_of(headers.get("authorization"))
    if moto_active():
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        if headers.get("x-moto-account-id"):
            return headers["x-moto-account-id"]
    if access_key is not None:
        if access_key in access_keys:
            return access_keys[access_key]
        if _ACCOUNT_ID.fullmatch(access_key):
            return access_key
        if moto_active():
            from moto.iam.models import get_account_id_from  # lazily, as in moto_organization_of

            return get_account_id_from(access_key)
    return DEFAULT_ACCOUNT_ID
