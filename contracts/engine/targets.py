"""Where the suite sends its requests: `mock` (in-process emulator), `endpoint` (any URL), `aws` (a real account).

- mock: `invoicing_mock.mock_invoicing` with a fresh emulator backend per start; nothing touches the network.
  `backend_factory` (or `--mock-backend module:attr`) swaps in another backend, e.g. an emulator variant with a
  planted fault, so the suite's power can be measured (the `mutants` command builds on this).
- endpoint: `--endpoint-url`, else AWS_ENDPOINT_URL_INVOICING as botocore reads it. The suite resets nothing it
  cannot reach: it creates what it needs and deletes what it created. By default the caller's account is chosen
  by the access key id (a 12-digit key id is that account, as `invoicing-contracts serve` reads it), so `serve`
  and `run --target endpoint` work together with no configuration; `"credentials": "environment"` in the target
  config uses the default credential chain instead (one account only).
- aws: a real account, only inside the guarded real-account run of contracts.guard.safety (`run --target aws` clears
  the account, keeps the ledger and cleans up; see docs/real-account.md). Its clients carry the write guard, the
  resource budget, the rate limit and the throttling backoff; it reads until its writes show (eventual
  consistency), shares fixtures between tests (every create counts against the budget), and leaves resources
  the run did not create out of every listing.

The organisation (payer and members) comes from `--accounts PAYER,MEMBER,...` or a JSON target config
(`--target-config FILE`), defaulting to invoicing_mock.DEFAULT_ORGANIZATION.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

from contracts.calls import Api, Trace
from contracts.exit_codes import ExitCode
from contracts.guard.ledger import TAG_RUN
from contracts.options import TARGETS
from contracts.packs.contract import load
from invoicing_mock import DEFAULT_ORGANIZATION, Organization, mock_invoicing
from invoicing_mock.models import InvoicingBackend, validation_code

ENDPOINT_ENV = "AWS_ENDPOINT_URL_INVOICING"
# An account outside the default organisation: the "another account" of the token-scope property.
DEFAULT_OTHER_ACCOUNT = "999999999999"


class TargetError(Exception):
    """The target cannot be used: unreachable or unsafe (CLI exit code 3). One line, says what to do."""

    exit_code = ExitCode.UNSAFE


class TargetLost(BaseException):
    """The target stopped answering mid-run. A BaseException so Hypothesis does not shrink it as a failure."""


class ConfigError(ValueError):
    """Bad target configuration from the user (CLI exit code 2)."""


@dataclass
class TargetConfig:
    kind: str = "mock"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    payer: str | None = None  # None: invoicing_mock.DEFAULT_ORGANIZATION
    members: tuple[str, ...] = ()
    other_account: str | None = DEFAULT_OTHER_ACCOUNT
    credentials: str = "account-keys"  # account-keys | environment
    hints: dict[str, list] = field(default_factory=dict)  # extra Hints.members, by member name
    mock_backend: str | None = None  # "module:attr" of an emulator backend factory
    backend_factory: Callable[..., Any] | None = None  # the same, as an object (tests, mutants)
    real_run: Any = None  # --target aws: the guarded run (contracts.guard) that cleared the account


@dataclass
class Reproduction:
    """How a reproduction script reaches the target the run used (filled in when the target starts)."""

    kind: str = "mock"  # mock | endpoint | aws
    endpoint_url: str | None = None
    region: str = "us-east-1"
    backend: str | None = None  # "module:attr" of a non-default emulator backend factory, for the mock
    payer: str = DEFAULT_ORGANIZATION.payer
    organization: tuple[str, ...] | None = None  # (payer, members...) when not the emulator's default


def parse_accounts(text: str) -> tuple[str, tuple[str, ...]]:
    """'PAYER,MEMBER,...' -> (payer, members incl. payer)."""
    accounts = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in accounts if not (len(a) == 12 and a.isdigit())]
    if not accounts or bad:
        raise ConfigError(f"--accounts takes 12-digit account IDs, payer first (e.g. 123456789012,111111111111); "
                          f"got {', '.join(bad) or 'nothing'}")
    return accounts[0], tuple(dict.fromkeys(accounts))


def load_config_file(path: str, config: TargetConfig) -> TargetConfig:
    """Fill `config` from a JSON file: payer, members, other_account, credentials, region, hints."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read target config {path}: {error}") from error
    known = {"payer", "members", "other_account", "credentials", "region", "hints", "endpoint_url"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"target config {path}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    if "payer" in data:
        config.payer, config.members = parse_accounts(",".join([data["payer"], *data.get("members", [])]))
    for key in ("other_account", "region", "endpoint_url"):
        if key in data:
            setattr(config, key, data[key])
    if "credentials" in data:
        if data["credentials"] not in ("account-keys", "environment"):
            raise ConfigError(f"target config {path}: credentials is 'account-keys' or 'environment'")
        config.credentials = data["credentials"]
    if "hints" in data:
        if not isinstance(data["hints"], dict) or not all(isinstance(v, list) for v in data["hints"].values()):
            raise ConfigError(f"target config {path}: hints maps member names to lists of values")
        config.hints.update(data["hints"])
    return config


def resolve_factory(spec: str) -> Callable[..., Any]:
    """'package.module:attr' -> the object (a backend class or a function returning a backend)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"--mock-backend takes module:attr (e.g. mypkg.variants:FreshArnOnReplay); got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"--mock-backend {spec}: cannot import {module_name} ({error})") from error
    try:
        factory = getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"--mock-backend {spec}: {module_name} has no attribute {attr!r}") from None
    if not callable(factory):
        raise ConfigError(f"--mock-backend {spec}: {attr} is not callable")
    return factory


class Target:
    """A started target hands out recording Apis: `api(account=None, validate=True)`."""

    kind = "?"
    read_retries = 0  # repeated reads until a write shows (contracts.engine.session.Settling); 0: reads are consistent
    read_retry_delay = 0.5  # seconds before the first repeat (doubling)
    shares_fixtures = False  # fixtures live across tests, and listings leave out what the run did not create

    def __init__(self, config: TargetConfig, trace: Trace):
        self.config = config
        self.trace = trace  # the run's: every Api of this target records into it
        if config.payer is None:
            config.payer = DEFAULT_ORGANIZATION.payer
            config.members = tuple(sorted(DEFAULT_ORGANIZATION.members))
        self.payer = config.payer
        self.members = tuple(dict.fromkeys((config.payer, *config.members)))
        self._apis: dict[tuple[str | None, bool], Api] = {}
        self.validation_sends: dict[str, int] = {}
        self.reproduction = Reproduction()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> "Target":
        default = (self.payer == DEFAULT_ORGANIZATION.payer and set(self.members) == set(DEFAULT_ORGANIZATION.members))
        self.reproduction = Reproduction(
            kind=self.kind, region=self.config.region, payer=self.payer,
            organization=None if default else (self.payer, *[m for m in self.members if m != self.payer]))
        return self

    def stop(self) -> None:
        self._apis.clear()

    def __enter__(self) -> "Target":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- clients -----------------------------------------------------------------------------------------------
    @property
    def other_account(self) -> str | None:
        """An account outside the organisation the suite may call as, or None when it cannot switch accounts."""
        if self.config.credentials != "account-keys":
            return None
        return self.config.other_account

    def _client_kwargs(self) -> dict[str, Any]:
        return {}

    def _config_extra(self) -> dict[str, Any]:
        return {}

    def client(self, *, account: str | None = None, validate: bool = True):
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # one request per call: effects stay countable
            parameter_validation=validate,
            connect_timeout=5,
            read_timeout=30,
            **self._config_extra(),
        )
        session_args: dict[str, Any] = {"region_name": self.config.region}
        if self.config.credentials == "account-keys":
            # The emulator reads a 12-digit access key id as the caller's account.
            session_args.update(aws_access_key_id=account or self.payer, aws_secret_access_key="testing")
        elif account not in (None, self.payer):
            raise TargetError(f"cannot call as account {account}: the target config uses environment credentials")
        return boto3.session.Session(**session_args).client("invoicing", config=config, **self._client_kwargs())

    def api(self, *, account: str | None = None, validate: bool = True) -> Api:
        key = (account, validate)
        if key not in self._apis:
            self._apis[key] = Api(self.client(account=account, validate=validate), trace=self.trace,
                                  validate=validate, account=account)
        return self._apis[key]

    def probe(self) -> None:
        """Raise TargetError if the target does not answer at all (any HTTP answer will do)."""

    @property
    def receiver(self) -> str:
        """An account fixtures may name as an invoice receiver."""
        return self.payer

    def unit_name(self, name: str) -> str:
        """An invoice-unit name for a resource the suite makes itself (a real-account run prefixes its own)."""
        return name

    def effective_params(self, operation: str, params: dict) -> dict:
        """`params` as the target's clients will send them (a real-account run adds its tags to creates)."""
        return dict(params)

    def foreign(self, arn: str) -> bool:
        """Whether `arn` is a resource someone other than this run created (only a shared target knows)."""
        return False

    def finish(self) -> dict[str, Any]:
        """Called once the suite is done with the target: what the reports should add about it."""
        return {}

    def validation_code(self, account: str, arn: str) -> str | None:
        """The code the last SendProcurementPortalValidation issued for `arn`, when the target lets us know it."""
        return None

    def note_validation_sent(self, arn: str) -> None:
        self.validation_sends[arn] = self.validation_sends.get(arn, 0) + 1

    def describe(self) -> dict[str, Any]:
        return {"target": self.kind, "region": self.config.region, "payer": self.payer,
                "members": list(self.members)}


class MockTarget(Target):
    kind = "mock"

    def __init__(self, config: TargetConfig, trace: Trace):
        super().__init__(config, trace)
        self.factory = config.backend_factory
        if self.factory is None and config.mock_backend:
            self.factory = resolve_factory(config.mock_backend)
        self._mock = None
        self.backend = None

    def start(self) -> "MockTarget":
        super().start()
        self.reproduction.backend = self.config.mock_backend
        organizations = [Organization.of(self.payer, self.members)]
        factory = self.factory or InvoicingBackend
        self.backend = factory(organizations=organizations)
        self._mock = mock_invoicing(backend=self.backend)
        self._mock.start()
        return self

    def stop(self) -> None:
        super().stop()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def _config_extra(self) -> dict[str, Any]:
        # An AWS_ENDPOINT_URL_INVOICING in the environment must not pull mock traffic to some server.
        return {"ignore_configured_endpoint_urls": True}

    def validation_code(self, account: str, arn: str) -> str | None:
        return self.backend.pending_validation_code(account, arn) if self.backend is not None else None

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        if self.config.mock_backend or self.factory is not None:
            out["mock_backend"] = self.config.mock_backend or getattr(self.factory, "__qualname__", repr(self.factory))
        return out


class EndpointTarget(Target):
    kind = "endpoint"

    def __init__(self, config: TargetConfig, trace: Trace):
        super().__init__(config, trace)
        url = config.endpoint_url or os.environ.get(ENDPOINT_ENV)
        if not url:
            raise ConfigError(f"--target endpoint needs --endpoint-url URL (or {ENDPOINT_ENV} in the environment); "
                              f"e.g. start `invoicing-contracts serve` and pass --endpoint-url http://127.0.0.1:8765")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--endpoint-url {url!r} is not an http(s) URL like http://127.0.0.1:8765")
        self.url = url.rstrip("/")

    def start(self) -> "EndpointTarget":
        super().start()
        self.reproduction.endpoint_url = self.url
        self.probe()
        return self

    def _client_kwargs(self) -> dict[str, Any]:
        return {"endpoint_url": self.url}

    def probe(self) -> None:
        client = self.client()
        try:
            client.list_procurement_portals(MaxResults=1)
        except botocore.exceptions.ClientError:
            return  # it answered: reachable
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError) as error:
            raise TargetError(f"cannot reach the endpoint {self.url} ({type(error).__name__}); is the service "
                              f"running? e.g. `invoicing-contracts serve --port {urlsplit(self.url).port or 8765}`")
        except botocore.exceptions.BotoCoreError as error:
            raise TargetError(f"the endpoint {self.url} did not answer like AWS Invoicing: {error}")

    def validation_code(self, account: str, arn: str) -> str | None:
        # The emulator's codes are deterministic (invoicing_mock.models.validation_code); a real service sends
        # them out of band, in which case Verify simply stays refused and only its refusals are checked.
        sends = self.validation_sends.get(arn, 0)
        return validation_code(arn, sends) if sends else None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "endpoint_url": self.url}


class AwsTarget(Target):
    """A real account, inside the guarded run that `run --target aws` started (contracts.guard) and handed over in
    the target config."""

    kind = "aws"
    read_retries = 6  # about 16 s at most for a write to show
    shares_fixtures = True
    # Invoice-unit names drawn per run: all carry the run's prefix, so a sweep finds a create whose answer was lost.
    UNIT_NAMES = 24

    def __init__(self, config: TargetConfig, trace: Trace):
        real = config.real_run
        if real is None:
            raise TargetError(
                "--target aws runs only inside `invoicing-contracts run --target aws`, which clears the account "
                "first (--allow-real-account, INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT=1, an allowlist checked "
                "against STS) and cleans up after itself; pytest alone cannot start it")
        self.real = real
        config.region = real.clearance.region
        config.payer = real.clearance.account
        config.members = ()
        config.credentials = "environment"  # the caller's own; the suite cannot act as another account
        config.other_account = None
        config.endpoint_url = real.clearance.endpoint_url
        config.hints = {**self.hints_for(real), **config.hints}
        super().__init__(config, trace)
        # Hints (and so every account the strategies draw) come from the run's account pool only: the guard
        # refuses any other account, the caller's included.
        self.members = real.pool.accounts
        self._tags: dict[str, bool] = {}  # ARN -> created by someone else (their tags do not change owner)
        self._tag_reader = None

    @classmethod
    def hints_for(cls, real) -> dict[str, list]:
        """Invoice-unit names carry the run's prefix. (ResourceTags need no hint: valid lists are drawn with at
        most a few items (strategies draw min + 4), so the run's own tags always fit the model's 200; a request
        they would not fit is refused by the guard, unsent.)"""
        return {"Name": [real.identity.unit_name(f"u{i:02d}") for i in range(cls.UNIT_NAMES)]}

    def start(self) -> "AwsTarget":
        super().start()
        self.reproduction.endpoint_url = self.config.endpoint_url
        return self

    @property
    def receiver(self) -> str:
        pool = self.real.pool
        return (pool.receivers or pool.accounts or (self.payer,))[0]

    def api(self, *, account: str | None = None, validate: bool = True) -> Api:
        api = super().api(account=account, validate=validate)
        api.raw_guard = self.real.guard.check_raw  # hand-made JSON passes the guard too
        return api

    def client(self, *, account: str | None = None, validate: bool = True):
        if account not in (None, self.payer):
            raise TargetError(f"cannot call as account {account}: a real-account run uses the caller's credentials")
        return self.real.client(config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # throttling is retried by the run's backoff
            parameter_validation=validate,
            connect_timeout=10,
            read_timeout=60,
        ))

    def unit_name(self, name: str) -> str:
        return self.real.identity.unit_name(name)

    def effective_params(self, operation: str, params: dict) -> dict:
        out = dict(params)
        entry = load().operations.get(operation)
        if entry is not None and entry.effect == "create" and out.get("ResourceTags") is None:
            out["ResourceTags"] = []  # omitted and empty are the same request once the run's tags are added
        return out

    def foreign(self, arn: str) -> bool:
        if arn in self.real.guard.created:
            return False
        if arn not in self._tags:
            if self._tag_reader is None:
                self._tag_reader = self.real.client()  # rate-limited like every call of the run
            try:
                tags = self._tag_reader.list_tags_for_resource(ResourceArn=arn).get("ResourceTags", [])
            except botocore.exceptions.ClientError:
                tags = []
            self._tags[arn] = not any(t.get("Key") == TAG_RUN and t.get("Value") == self.real.identity.run_id
                                      for t in tags)
        return self._tags[arn]

    def finish(self) -> dict[str, Any]:
        """Delete what the run made (the ledger's way, as sweep does) before the reports say what is left."""
        self.real.finish(out=self.real.messages)
        return {"real_account": self.real.summary()}

    def describe(self) -> dict[str, Any]:
        return {**self.real.describe(), "payer": self.payer, "members": list(self.members)}


def build(config: TargetConfig, trace: Trace) -> Target:
    """The Target for `config` (not started). ConfigError for bad input, TargetError when it cannot be used."""
    if config.kind not in TARGETS:
        raise ConfigError(f"unknown target {config.kind!r}; choose one of: {', '.join(TARGETS)}")
    if config.kind == "moto":
        raise ConfigError("--target moto runs another service's pack (--service NAME); Invoicing runs against "
                          "mock, endpoint or aws")
    if config.kind == "aws":
        return AwsTarget(config, trace)
    if config.kind == "endpoint":
        return EndpointTarget(config, trace)
    return MockTarget(config, trace)


def secret_pool(size: int = 8) -> list[str]:
    """Secret strings generated per run, never drawn by Hypothesis (so never stored in its example database)."""
    return [f"s3cr3t-{secrets.token_urlsafe(18)}" for _ in range(size)]


# ------------------------------------------------------------------------------ targets of the other services' packs


class ServiceTarget:
    """Where a pack's suite (contracts.suite.test_pack_contracts) sends its requests: `moto` (moto in-process, a
    fresh `mock_aws()` per start, nothing leaves the process) or `endpoint` (any URL: moto's own server,
    `moto_server` or `ThreadedMotoServer`, or another emulator). `fault` ("module:attr", as --mock-backend gives it)
    is a planted fault for moto in-process: a callable taking the service name and returning a context manager that
    changes moto's backend while the target runs (contracts.packs.planted), so the suite's power can be shown."""

    def __init__(self, service: str, kind: str, trace: Trace, *, endpoint_url: str | None = None,
                 region: str = "us-east-1", fault: str | None = None):
        if kind not in ("moto", "endpoint"):
            raise ConfigError(f"the {service} pack runs against --target moto or --target endpoint, not {kind!r}")
        if kind == "endpoint":
            parts = urlsplit(endpoint_url or "")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(f"--target endpoint needs --endpoint-url URL (http://HOST:PORT, e.g. moto_server's "
                                  f"http://127.0.0.1:5000); got {endpoint_url!r}")
        if fault and kind != "moto":
            raise ConfigError("--mock-backend (a planted fault) applies to --target moto only")
        self.service, self.kind, self.trace, self.region = service, kind, trace, region
        self.url = endpoint_url.rstrip("/") if endpoint_url else None
        self.fault_spec = fault
        self._fault = resolve_factory(fault) if fault else None
        self._stack: list[Any] = []
        self._apis: dict[bool, Api] = {}

    def start(self) -> "ServiceTarget":
        if self.kind == "moto":
            from moto import mock_aws  # moto is only needed by this target

            self._enter(mock_aws())
            if self._fault is not None:
                self._enter(self._fault(self.service))
        else:
            self.probe()
        return self

    def _enter(self, manager: Any) -> None:
        manager.__enter__()
        self._stack.append(manager)

    def stop(self) -> None:
        self._apis.clear()
        while self._stack:
            self._stack.pop().__exit__(None, None, None)

    def probe(self) -> None:
        """TargetError when nothing answers HTTP at the endpoint (any answer will do)."""
        import urllib.error
        import urllib.request

        try:
            urllib.request.urlopen(self.url, timeout=5).close()
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError) as error:
            raise TargetError(f"cannot reach the endpoint {self.url} ({error}); is moto's server running? e.g. "
                              f"`moto_server -p {urlsplit(self.url).port or 5000}`") from None

    def client(self, *, validate: bool = True):
        config = Config(retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=validate,
                        connect_timeout=5, read_timeout=30, ignore_configured_endpoint_urls=self.kind == "moto")
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name=self.region)
        extra = {"endpoint_url": self.url} if self.url else {}
        return session.client(self.service, config=config, **extra)

    def api(self, *, validate: bool = True) -> Api:
        if validate not in self._apis:
            self._apis[validate] = Api(self.client(validate=validate), trace=self.trace, validate=validate)
        return self._apis[validate]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.kind, "service": self.service, "region": self.region}
        if self.kind == "moto" or self.url:
            out["moto_version"] = moto_version()
        if self.url:
            out["endpoint_url"] = self.url
        if self.fault_spec:
            out["planted_fault"] = self.fault_spec
        return out


def moto_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moto")
    except PackageNotFoundError:
        return "not installed"
