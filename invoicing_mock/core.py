"""`mock_invoicing`: botocore clients talk to an in-process emulator, and no Invoicing request leaves the machine.

How requests reach the emulator: importing `invoicing_mock` appends a handler for `before-send.invoicing` to
botocore's BUILTIN_HANDLERS (as moto does for `before-send`), so every botocore session created afterwards
carries it. botocore emits `before-send.invoicing.<Op>` to every handler and takes the first response, most
specific event name first, so inside moto's `mock_aws()` ours answers before moto's generic `before-send`
stubber (which would let Invoicing through to the network anyway: no moto URL pattern matches it).
Starting the mock also drops boto3's cached default session (restored on stop), as moto does, so
`boto3.client(...)` builds a session that has the handler.

Which mock answers: a thread's own innermost active mock; a thread that started none (a worker a test spawns
inside a mock) gets the most recently started mock still active. So mocks nest, and two threads with a mock each
reach their own backends. The registry of active mocks is process-wide, because botocore's sender and handler
list are; it is empty, and botocore and boto3 are as they were, once the last mock stops.

The guard: while a mock is active, botocore's HTTP sender refuses any Invoicing request (by X-Amz-Target or by
host) addressed to a non-loopback host with `InvoicingRequestEscaped`; that catches a client whose session was
created before `invoicing_mock` was imported (fix: create it inside the mock, or `patch_client(client)`).
Requests addressed to a loopback host (127.0.0.0/8, ::1, localhost) are left alone, both by the handler and by
the guard: they do not leave the machine, so a client pointed at `invoicing-contracts serve` keeps working.
"""

from __future__ import annotations

import functools
import ipaddress
import sys
import threading
from typing import Any, Iterable
from urllib.parse import urlsplit

import botocore.handlers
import botocore.httpsession
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from invoicing_mock.behaviour import Behaviour
from invoicing_mock.clock import Clock
from invoicing_mock.faults import DropResponse
from invoicing_mock.idempotency import DEFAULT_WINDOW_SECONDS
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.organization import Organization
from invoicing_mock.responses import TARGET_PREFIX, InvoicingResponse

EVENT = "before-send.invoicing"

_original_send = botocore.httpsession.URLLib3Session.send
_NOTHING_SAVED = object()  # boto3 was not imported when the first mock started: no default session to restore


class InvoicingRequestEscaped(RuntimeError):
    """An Invoicing request was about to leave the machine while mock_invoicing was active."""


class _Body:
    """The raw stream botocore's AWSResponse reads from."""

    def __init__(self, data: bytes):
        self._data = data

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        data, self._data = self._data, b""
        return data

    def stream(self, **kwargs: Any):
        if self._data:
            yield self.read()


@functools.lru_cache(maxsize=256)
def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _is_invoicing(request: Any) -> bool:
    target = request.headers.get("X-Amz-Target") or b""
    if isinstance(target, bytes):
        target = target.decode("latin-1")
    return target.startswith(f"{TARGET_PREFIX}.") or _host(request.url).startswith("invoicing.")


class _ActiveMocks:
    """The active mocks: all of them in start order, and each thread's own (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list["mock_invoicing"] = []
        self._own = threading.local()
        self._saved_default_session: Any = _NOTHING_SAVED

    def own(self) -> list["mock_invoicing"]:
        """This thread's active mocks, innermost last."""
        if not hasattr(self._own, "mocks"):
            self._own.mocks = []
        return self._own.mocks

    def answering(self) -> "mock_invoicing | None":
        own = getattr(self._own, "mocks", None)
        if own:
            return own[-1]
        started = self.started
        # Read without the lock (every request passes here); another thread may empty the list meanwhile.
        try:
            return started[-1]
        except IndexError:
            return None

    def add(self, mock: "mock_invoicing") -> None:
        with self.lock:
            if not self.started:
                self._install()
            self.started.append(mock)

    def remove(self, mock: "mock_invoicing") -> None:
        with self.lock:
            if mock not in self.started:
                raise RuntimeError("mock_invoicing.stop() called on a mock that is not active")
            self.started.remove(mock)
            if not self.started:
                self._uninstall()

    def _install(self) -> None:
        botocore.httpsession.URLLib3Session.send = _guarded_send
        boto3 = sys.modules.get("boto3")
        if boto3 is not None:
            self._saved_default_session = boto3.DEFAULT_SESSION
            boto3.DEFAULT_SESSION = None

    def _uninstall(self) -> None:
        botocore.httpsession.URLLib3Session.send = _original_send
        boto3 = sys.modules.get("boto3")
        if boto3 is not None and self._saved_default_session is not _NOTHING_SAVED:
            boto3.DEFAULT_SESSION = self._saved_default_session
        self._saved_default_session = _NOTHING_SAVED


_active = _ActiveMocks()


def _before_send(request: Any, **kwargs: Any) -> AWSResponse | None:
    """The botocore handler: answer Invoicing requests from the mock this thread reaches (see the module
    docstring)."""
    mock = _active.answering()
    if mock is None or _is_loopback(_host(request.url)):
        return None
    responder = mock.responder
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    try:
        status, headers, payload = responder.dispatch(request.method, request.headers, body)
    except DropResponse as drop:
        # What the SDK would see on the wire: a read timeout when the server hangs, else a closed connection.
        if drop.hang_seconds:
            raise ReadTimeoutError(endpoint_url=request.url)
        raise ConnectionClosedError(endpoint_url=request.url)
    return AWSResponse(request.url, status, headers, _Body(payload))


def _guarded_send(self, request):
    if _active.started and _is_invoicing(request) and not _is_loopback(_host(request.url)):
        raise InvoicingRequestEscaped(
            f"An Invoicing request to {request.url} was about to leave the machine while mock_invoicing is "
            f"active: its botocore session was created before invoicing_mock was imported. Create the client "
            f"inside mock_invoicing(), or call invoicing_mock.patch_client(client)."
        )
    return _original_send(self, request)


def patch_client(client: Any) -> None:
    """Route an existing client's Invoicing requests to the emulator (for clients made before the import)."""
    client.meta.events.unregister(EVENT, _before_send)
    client.meta.events.register(EVENT, _before_send)


class mock_invoicing:
    """Context manager and decorator: boto3/botocore Invoicing clients talk to an in-process emulator.

        with mock_invoicing() as mock:
            client = boto3.client("invoicing", region_name="us-east-1")
            client.create_invoice_unit(...)
            mock.backend  # the InvoicingBackend, for configuration and inspection

    Options are those of InvoicingBackend (organizations, clock, idempotency_window, behaviour: a
    `Behaviour` or its JSON-like dict, see invoicing_mock.behaviour), or a ready `backend`.
    Each start begins with empty state unless `backend` is given. Nests: the innermost active mock answers, per
    thread (see the module docstring). Works inside and outside moto's `mock_aws()`.
    """

    def __init__(
        self,
        func: Any = None,
        *,
        backend: InvoicingBackend | None = None,
        organizations: Iterable[Organization] | None = None,
        clock: Clock | None = None,
        idempotency_window: float = DEFAULT_WINDOW_SECONDS,
        behaviour: Behaviour | dict | None = None,
    ):
        self._given_backend = backend
        self._options: dict[str, Any] = {"clock": clock, "idempotency_window": idempotency_window}
        if behaviour is not None:
            if backend is not None:
                raise TypeError("mock_invoicing: give `behaviour` to the backend you pass, not to the mock")
            self._options["behaviour"] = Behaviour.of(behaviour)  # checked now, not at the first request
        if organizations is not None:
            self._options["organizations"] = tuple(organizations)
        self.backend: InvoicingBackend | None = backend
        self.responder: InvoicingResponse | None = None
        self._func = func
        self._thread_mocks: list[mock_invoicing] | None = None  # the active mocks of the thread that started it
        if func is not None:
            functools.update_wrapper(self, func)

    # As a bare decorator (@mock_invoicing) or a configured one (@mock_invoicing(clock=...)).
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._func is None:
            func = args[0]
            clone = mock_invoicing(func, backend=self._given_backend, **self._options)
            return clone
        with mock_invoicing(backend=self._given_backend, **self._options):
            return self._func(*args, **kwargs)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # Decorating a method: bind it like a function would be bound.
        if instance is None or self._func is None:
            return self
        return functools.partial(self.__call__, instance)

    def start(self) -> "mock_invoicing":
        self.backend = self._given_backend or InvoicingBackend(**self._options)
        self.responder = InvoicingResponse(self.backend)
        _active.add(self)
        self._thread_mocks = _active.own()
        self._thread_mocks.append(self)
        return self

    def stop(self) -> None:
        _active.remove(self)
        # The starting thread's list, even when another thread stops it.
        self._thread_mocks.remove(self)
        self._thread_mocks = None

    def __enter__(self) -> "mock_invoicing":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if (EVENT, _before_send) not in botocore.handlers.BUILTIN_HANDLERS:
    botocore.handlers.BUILTIN_HANDLERS.append((EVENT, _before_send))
