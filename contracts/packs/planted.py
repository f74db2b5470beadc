"""Planted faults for the packs' moto target: moto's backend with its token handling broken, so a run can show the
pack's suite catches what it claims to (`run --service NAME --target moto --mock-backend
contracts.packs.planted:ignore_token`; tests/unit/contracts/test_packs_run.py). Each is a context manager
factory taking the service name, entered inside `mock_aws()` by contracts.engine.targets.ServiceTarget."""

from __future__ import annotations

import contextlib
from typing import Iterator
from unittest import mock


@contextlib.contextmanager
def ignore_token(service: str) -> Iterator[None]:
    """moto forgets the service's idempotency token:
    - efs: CreateFileSystem no longer looks the creation token up, so a replay creates a second file system;
    - secretsmanager: CreateSecret no longer compares the token with the secret's versions, so a replay or a
      conflicting payload overwrites the version instead of being ignored or refused."""
    if service == "efs":
        from moto.efs.models import EFSBackend

        original = EFSBackend.create_file_system

        def create_file_system(self, creation_token, *args, **kwargs):
            self.creation_tokens.discard(creation_token)
            return original(self, creation_token, *args, **kwargs)

        patch = mock.patch.object(EFSBackend, "create_file_system", create_file_system)
    elif service == "secretsmanager":
        from moto.secretsmanager.models import SecretsManagerBackend

        def check(self, secret_name, client_request_token, *args, **kwargs):
            return None  # as if no version had the token: the create goes ahead

        patch = mock.patch.object(SecretsManagerBackend, "_check_with_existing_secrets_and_versions", check)
    else:
        raise ValueError(f"no planted fault for {service!r}; planted faults exist for efs and secretsmanager")
    with patch:
        yield
