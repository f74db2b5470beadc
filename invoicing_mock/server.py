"""The emulator over HTTP: `invoicing-contracts serve --port N`, and `start(port=0)` for tests.

Any AWS SDK reaches it with an endpoint override, e.g.
    AWS_ENDPOINT_URL_INVOICING=http://127.0.0.1:8765 AWS_ACCESS_KEY_ID=123456789012 AWS_SECRET_ACCESS_KEY=x ...
The access key id picks the calling account when it is 12 digits (see invoicing_mock.organization); any other
key acts as the default payer 123456789012. One thread per connection; the backend serialises state changes.

Fault admin interface (for tests that need a bad day on demand; loopback by default, `--no-admin` turns it off).
JSON in and out; paths under /_invoicing/ never reach the Invoicing protocol:
    GET    /_invoicing/faults          the schedule with per-rule counters (seen, fired), the call count, the
                                       clock and the token window
    POST   /_invoicing/faults          replace the schedule: {"seed": 7, "rules": [{"kind": "drop", ...}]}
                                       (the rule format is in invoicing_mock.faults); 400 {"message"} if invalid
    DELETE /_invoicing/faults          no faults (the call log keeps running)
    GET    /_invoicing/log?since=N     calls after sequence number N: operation, account, idempotency token,
                                       request id, faults applied (never a request body, so never a secret)
    GET    /_invoicing/clock           {"now": epoch seconds, "idempotency_window": seconds}
    POST   /_invoicing/clock           {"advance": seconds}: move the emulator's time forward (token windows)
`--behaviour FILE` sets the behaviour knobs of invoicing_mock.behaviour (how it answers where AWS is silent), so
`serve` can stand for an account whose behaviour was recorded. Start-up flags of `serve` set a schedule before the
first request: `--fault KIND[:key=value,...]` (repeatable,
e.g. `--fault drop:operation=CreateInvoiceUnit,nth=1`, `--fault throttle:probability=0.1`), `--fault-seed N`,
`--faults-file FILE` (the JSON the POST takes).
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qs, urlsplit

from invoicing_mock.behaviour import Behaviour, BehaviourError
from invoicing_mock.faults import DropResponse, FaultRule, FaultSpecError, ScheduledFaults
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.organization import DEFAULT_ORGANIZATION, Organization
from invoicing_mock.responses import InvoicingResponse

logger = logging.getLogger("invoicing_mock.server")

DEFAULT_PORT = 8765
MAX_BODY_BYTES = 16 * 1024 * 1024
ADMIN_PREFIX = "/_invoicing/"
#: The exit code of bad input, as every `invoicing-contracts` command answers it.
USAGE_EXIT_CODE = 2


class ServeUsageError(Exception):
    """Bad input to `serve` (a file, a port, an organisation): `main` prints it as one line and exits 2."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as SDK connection pools expect
    server_version = "invoicing-emulator"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and delayed ACKs add
        # ~40 ms to every response on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_response(413)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(ADMIN_PREFIX) and self.server.admin:
            status, headers, payload = self.server.admin_answer(self.command, self.path, body)
            self._send(status, headers, payload)
            return
        try:
            status, headers, payload = self.server.responder.dispatch(self.command, dict(self.headers.items()), body)
        except DropResponse as drop:
            # The effect is committed; the client sees the connection close with no answer (after a hang, if
            # asked: a client with a shorter read timeout sees a timeout instead).
            if drop.hang_seconds:
                time.sleep(drop.hang_seconds)
            self.close_connection = True
            return
        self._send(status, headers, payload)

    def _send(self, status: int, headers: dict, payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    def log_message(self, format: str, *args) -> None:
        # Request lines only (method, path, status): bodies, and so secrets, are never logged.
        logger.info("%s %s", self.address_string(), format % args)


class InvoicingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Many SDK clients connecting at once (the concurrency properties send 32): the default backlog of 5
    # makes the kernel drop SYNs, which clients see as a second-long stall.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], backend: InvoicingBackend, admin: bool = True):
        super().__init__(address, _Handler)
        self.backend = backend
        self.responder = InvoicingResponse(backend)
        self.admin = admin
        if admin and type(backend.faults).__name__ == "Faults":
            backend.faults = ScheduledFaults()  # no faults, but the call log the admin interface serves

    # -- the fault admin interface (see the module docstring) ---------------------------------------------------
    def admin_answer(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(path)
        route = parts.path[len(ADMIN_PREFIX):].strip("/")
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError as error:
            return _json(400, {"message": f"the body is not JSON: {error}"})
        try:
            if route == "faults":
                if method == "POST":
                    self.backend.faults = ScheduledFaults.from_spec(data).continuing(self.backend.faults)
                elif method == "DELETE":
                    self.backend.faults = ScheduledFaults().continuing(self.backend.faults)
                elif method != "GET":
                    return _json(405, {"message": f"{method} {parts.path}: use GET, POST or DELETE"})
                return _json(200, self.fault_state())
            if route == "log" and method == "GET":
                since = int((parse_qs(parts.query).get("since") or ["0"])[0])
                faults = self.backend.faults
                return _json(200, {"calls": faults.log(since) if isinstance(faults, ScheduledFaults) else []})
            if route == "clock":
                if method == "POST":
                    if not isinstance(data, dict) or not isinstance(data.get("advance"), (int, float)):
                        return _json(400, {"message": 'POST /_invoicing/clock takes {"advance": seconds}'})
                    self.backend.advance_clock(float(data["advance"]))
                elif method != "GET":
                    return _json(405, {"message": f"{method} {parts.path}: use GET or POST"})
                return _json(200, self.clock_state())
        except (FaultSpecError, ValueError) as error:
            return _json(400, {"message": str(error)})
        return _json(404, {"message": f"no admin resource {method} {parts.path}; there are /_invoicing/faults, "
                                      f"/_invoicing/log and /_invoicing/clock"})

    def clock_state(self) -> dict[str, Any]:
        return {"now": self.backend.clock.now(), "idempotency_window": self.backend.tokens.window_seconds}

    def fault_state(self) -> dict[str, Any]:
        faults = self.backend.faults
        state = faults.state() if isinstance(faults, ScheduledFaults) else \
            {"seed": None, "rules": [], "calls": None, "custom": type(faults).__name__}
        return {**state, **self.clock_state()}


def _json(status: int, payload: dict) -> tuple[int, dict, bytes]:
    body = json.dumps(payload).encode()
    return status, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body


class Served:
    """A running server: `url`, `stop()`, `backend`. Unpacks as `url, stop = start()`."""

    def __init__(self, server: InvoicingHTTPServer, thread: threading.Thread):
        self._server, self._thread = server, thread
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.backend = server.backend

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __iter__(self) -> Iterator:
        return iter((self.url, self.stop))


def start(port: int = 0, *, backend: InvoicingBackend | None = None, host: str = "127.0.0.1",
          admin: bool = True) -> Served:
    """Serve in a background thread; port 0 picks a free port. Returns the URL and a stop function.
    `admin`: offer the fault admin interface under /_invoicing/ (see the module docstring)."""
    server = InvoicingHTTPServer((host, port), backend or InvoicingBackend(), admin=admin)
    # A short poll interval makes stop() quick (serve_forever checks for shutdown once per interval).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"invoicing-emulator:{port}", daemon=True
    )
    thread.start()
    return Served(server, thread)


# ------------------------------------------------------------------------------------------ `serve` subcommand


def _organization(text: str) -> Organization:
    payer, _, members = text.partition(":")
    try:
        return Organization.of(payer.strip(), [m.strip() for m in members.split(",") if m.strip()])
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}; write PAYER:MEMBER,MEMBER,... e.g. 123456789012:111111111111")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The name errors are reported under: "invoicing-contracts serve" through the CLI, else this module's own.
    parser.set_defaults(serve_prog=parser.prog)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    parser.add_argument(
        "--organization",
        type=_organization,
        action="append",
        metavar="PAYER:MEMBER,...",
        help="an organisation the emulator knows (repeatable); default: payer "
        f"{DEFAULT_ORGANIZATION.payer} with members {','.join(sorted(DEFAULT_ORGANIZATION.members - {DEFAULT_ORGANIZATION.payer}))}",
    )
    parser.add_argument(
        "--idempotency-window", type=float, default=None, metavar="SECONDS",
        help="how long a ClientToken is remembered (default 86400)",
    )
    parser.add_argument(
        "--behaviour", metavar="FILE",
        help="JSON of behaviour knobs: answer like the service a baseline was recorded from where AWS is silent "
             "(conflict error, token scope, window, replayed errors, ...; see invoicing_mock/behaviour.py and "
             "docs/bases.md)",
    )
    faults = parser.add_argument_group("faults (see invoicing_mock.faults; also settable at run time through "
                                       "the admin interface /_invoicing/faults)")
    faults.add_argument("--fault", action="append", type=_fault_rule, default=[], metavar="KIND[:key=value,...]",
                        help="a fault rule (repeatable): kind drop|throttle|internal|latency; keys operation, "
                             "token, account, nth (1+3), every, probability, times, seconds, retry_after, phase; "
                             "e.g. drop:operation=CreateInvoiceUnit,nth=1")
    faults.add_argument("--fault-seed", type=int, default=0, metavar="N", help="seed of probabilistic rules (default 0)")
    faults.add_argument("--faults-file", metavar="FILE", help='a JSON schedule {"seed": N, "rules": [...]}')
    faults.add_argument("--no-admin", dest="admin", action="store_false",
                        help="do not offer the fault admin interface under /_invoicing/")


def _fault_rule(text: str) -> FaultRule:
    try:
        return FaultRule.parse(text)
    except FaultSpecError as error:
        raise argparse.ArgumentTypeError(str(error))


def _schedule(args: argparse.Namespace) -> ScheduledFaults | None:
    rules = list(args.fault)
    seed = args.fault_seed
    if args.faults_file:
        try:
            spec = json.loads(Path(args.faults_file).read_text())
            loaded = ScheduledFaults.from_spec(spec)
        except (OSError, ValueError) as error:  # FaultSpecError is a ValueError
            raise ServeUsageError(f"--faults-file {args.faults_file}: {error}")
        rules = list(loaded.rules) + rules
        seed = loaded.seed if "seed" in spec else seed
    return ScheduledFaults(rules, seed=seed) if rules else None


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted (0); bad input is one line on stderr and exit code 2."""
    try:
        return _serve(args)
    except ServeUsageError as error:
        print(f"{getattr(args, 'serve_prog', 'invoicing-contracts serve')}: {error}", file=sys.stderr)
        return USAGE_EXIT_CODE


def _serve(args: argparse.Namespace) -> int:
    organizations: Iterable[Organization] = args.organization or (DEFAULT_ORGANIZATION,)
    options: dict = {} if args.idempotency_window is None else {"idempotency_window": args.idempotency_window}
    if getattr(args, "behaviour", None):
        try:
            options["behaviour"] = Behaviour.from_file(args.behaviour)
        except BehaviourError as error:
            raise ServeUsageError(f"--behaviour {error}")
    schedule = _schedule(args)
    if schedule is not None:
        options["faults"] = schedule
    try:
        backend = InvoicingBackend(organizations=organizations, **options)
    except ValueError as error:
        raise ServeUsageError(str(error))
    try:
        served = start(args.port, backend=backend, host=args.host, admin=args.admin)
    except OSError as error:
        raise ServeUsageError(f"cannot listen on {args.host}:{args.port} ({error.strerror}); choose another --port, or 0")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(f"Invoicing emulator listening on {served.url}", flush=True)
    print(f"  e.g. AWS_ENDPOINT_URL_INVOICING={served.url} aws invoicing list-invoice-units", flush=True)
    if schedule is not None:
        print(f"  faults: {json.dumps(schedule.spec())}", flush=True)
    if not backend.behaviour.is_default:
        print(f"  behaviour: {json.dumps(backend.behaviour.to_dict(), default=list)}", flush=True)
    if args.admin:
        print(f"  fault admin interface: {served.url}{ADMIN_PREFIX}faults", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        served.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m invoicing_mock.server")
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
