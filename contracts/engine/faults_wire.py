"""The client side of the fault properties: clients with botocore's own retry machinery, and a wire recorder.

`WireRecorder(client)` keeps every attempt botocore sends, retries included: the body and the `amz-sdk-request`
header ("attempt=2; max=3"), so "the retried request carries the same token" is checked on what went over the
wire, not assumed. It listens at before-send per operation (the most specific event name), which botocore
emits once per attempt just before sending, after signing; it returns nothing, so it never answers a request.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from contracts.calls import Attempt

#: The retry mode under test: botocore's standard mode (transient errors, 5xx and throttling are retried).
RETRY_MODE = "standard"


class WireRecorder:
    def __init__(self, client: Any):
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        service = client.meta.service_model
        for name in service.operation_names:
            client.meta.events.register(f"before-send.{service.service_id.hyphenize()}.{name}",
                                        self._make_handler(name))

    def _make_handler(self, operation: str):
        def record(request, **_kwargs) -> None:
            body = request.body
            if hasattr(body, "read"):  # a stream: botocore sends bytes for AWS JSON, but stay safe
                body = b""
            header = request.headers.get("amz-sdk-request") or b""
            attempt = Attempt(operation, body if isinstance(body, bytes) else (body or "").encode(),
                              header.decode() if isinstance(header, bytes) else str(header))
            with self._lock:
                self._attempts.append(attempt)
        return record

    def attempts(self, operation: str | None = None, *, token_member: str | None = None,
                 token: str | None = None) -> list[Attempt]:
        with self._lock:
            found = [a for a in self._attempts if operation is None or a.operation == operation]
        if token_member is not None and token is not None:
            found = [a for a in found if a.param(token_member) == token]
        return found

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()


def client_for(target: Any, *, max_attempts: int = 1, read_timeout: float = 30, pool: int = 10,
               endpoint_url: str | None = None, account: str | None = None):
    """A botocore client of the target, like contracts.engine.targets.Target.client, with a chosen retry budget
    (botocore's standard mode), read timeout and connection pool; `endpoint_url` overrides where it sends."""
    config = Config(
        retries={"mode": RETRY_MODE, "total_max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=read_timeout,
        max_pool_connections=pool,
        # Like the mock target's clients: an AWS_ENDPOINT_URL_INVOICING must not pull traffic elsewhere.
        ignore_configured_endpoint_urls=endpoint_url is None and target.kind == "mock",
    )
    session_args: dict[str, Any] = {"region_name": target.config.region}
    if target.config.credentials == "account-keys":
        session_args.update(aws_access_key_id=account or target.payer, aws_secret_access_key="testing")
    url = endpoint_url or (target.url if target.kind == "endpoint" else None)
    kwargs = {"endpoint_url": url} if url else {}
    return boto3.session.Session(**session_args).client("invoicing", config=config, **kwargs)
