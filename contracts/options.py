"""The options of a run, declared once.

`RunOptions` is the one typed object a run is configured by. The `run` command's argparse parser and the pytest
plugin both build it from the same table (`OPTIONS`), so a flag means the same thing, with the same default, in
`invoicing-contracts run` and in `pytest --pyargs contracts.suite`. Domain code receives a `RunOptions`, never an
`argparse.Namespace`: a misspelt option is an AttributeError, not a silent default.

The profiles (how hard a run looks, against the emulator and against a real account) live here too, because an
option names them and both front ends register them with Hypothesis the same way.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import engine

from contracts.exit_codes import UsageError
from strategies import service_model

TARGETS = ("mock", "endpoint", "aws", "moto")  # moto: the other services' packs only (--service)
DEFAULT_SERVICE = "invoicing"
FAULT_MODES = ("auto", "on", "off")
DEFAULT_REPORT_DIR = "reports"
DEFAULT_DATABASE = ".hypothesis/invoicing-contracts"
# Real-account defaults (the guard enforces them; docs/real-account.md explains them).
DEFAULT_MAX_RATE = 2.0  # requests per second, retries included
DEFAULT_LEDGER_DIR = str(Path(DEFAULT_REPORT_DIR) / "ledgers")
DEFAULT_NAME_PREFIX = "ict"


# ------------------------------------------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class Sizing:
    """How many examples: per stateless test, state-machine runs, and steps per run."""

    max_examples: int
    stateful_examples: int
    stateful_steps: int


@dataclass(frozen=True)
class Profile:
    """How hard to look. A real account gets fewer examples (each is real requests at --max-rate) and a budget
    of resources the run may create (every distinct create token counts, also one the service refuses)."""

    sizing: Sizing
    shrink_seconds: int  # how long Hypothesis may spend minimising one failure
    description: str
    real_account: Sizing
    max_resources: int  # the default --max-resources of a real-account run

    # The emulator sizing, flat, as most callers read it.
    max_examples = property(lambda self: self.sizing.max_examples)
    stateful_examples = property(lambda self: self.sizing.stateful_examples)
    stateful_steps = property(lambda self: self.sizing.stateful_steps)


# The real-account budgets leave room above what the suite claimed against the emulator standing in for an
# account (seeds 1-3: dev 14, ci 39-47, thorough 161 with seed 1, of which 77 became resources); a create over the
# budget is not sent and its checks are skipped.
PROFILES = {
    "dev": Profile(Sizing(10, 10, 25), 20, "a quick look while editing (seconds)", Sizing(2, 1, 4), 25),
    "ci": Profile(Sizing(40, 30, 25), 60, "the regression gate (under a minute against the emulator)",
                  Sizing(5, 3, 6), 60),
    "thorough": Profile(Sizing(300, 200, 50), 300, "before a release (many minutes)", Sizing(15, 10, 10), 250),
}
DEFAULT_PROFILE = "ci"


def hypothesis_profile_name(profile: str, target: str) -> str:
    return f"invoicing-aws-{profile}" if target == "aws" else f"invoicing-{profile}"


def register_profiles() -> None:
    """Hypothesis settings profiles `invoicing-<profile>` and `invoicing-aws-<profile>`; the example database is
    chosen by the caller."""
    for name, profile in PROFILES.items():
        for target, sizing in (("mock", profile.sizing), ("aws", profile.real_account)):
            settings.register_profile(
                hypothesis_profile_name(name, target),
                max_examples=sizing.max_examples,
                stateful_step_count=sizing.stateful_steps,
                deadline=None,  # the target's latency is not the property under test
                # Per-test fixtures (the cleanup ledger) deliberately outlive examples; strategies draw whole
                # requests.
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much],
                print_blob=False,
                # One failure per test, minimised once: a second, distinct bug is found on the next run.
                report_multiple_bugs=False,
            )


def limit_shrinking(seconds: int | None) -> int | None:
    """Bound the time Hypothesis spends minimising one failure (default 300 s), so a failing CI run still ends
    in time. Hypothesis has no setting for it; this adjusts its engine's constant when it exists. Returns the
    previous bound (to restore it)."""
    previous = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if previous is not None and seconds is not None:
        engine.MAX_SHRINKING_SECONDS = seconds
    return previous


# ------------------------------------------------------------------------------------------------------ options


@dataclass(frozen=True)
class RunOptions:
    """One run of the contract suite. Defaults are the `run` command's; `validated()` checks every value."""

    target: str = "mock"
    service: str = DEFAULT_SERVICE  # which contract pack (contracts.packs.pack): Invoicing, or another service
    endpoint_url: str | None = None
    profile: str = DEFAULT_PROFILE
    seed: int | None = None
    operations: tuple[str, ...] = ()  # empty: every operation of the model
    report_dir: str | None = DEFAULT_REPORT_DIR
    accounts: str | None = None
    target_config: str | None = None
    faults: str = "auto"
    mock_backend: str | None = None
    example_db: str = DEFAULT_DATABASE
    quiet: bool = False
    record_baseline: str | None = None  # write what the target did (contracts.reporting.baseline)
    baseline: str | None = None  # compare what the target did with this baseline: any change fails the run
    strict: bool = False  # assumed expectations bind on every target, payloads compared byte for byte
    # --target aws (the real-account guard: contracts.guard)
    allow_real_account: bool = False
    allowed_account: tuple[str, ...] = ()
    aws_profile: str | None = None
    aws_region: str | None = None
    max_rate: float = DEFAULT_MAX_RATE
    ledger_dir: str = DEFAULT_LEDGER_DIR
    plan: bool = False
    read_only: bool = False
    max_resources: int | None = None
    accounts_file: str | None = None
    organization_accounts: str | None = None
    name_prefix: str = DEFAULT_NAME_PREFIX
    # Parallel runs (docs/parallel.md)
    workers: int = 1  # processes on this machine (pytest-xdist); `run` passes `-n N`
    shard: str | None = None  # "i/n": this machine runs part i of n; `merge` joins the parts

    @property
    def selected_operations(self) -> tuple[str, ...]:
        return self.operations or tuple(service_model(self.service).operation_names)

    @property
    def sizing(self) -> Sizing:
        profile = PROFILES[self.profile]
        return profile.real_account if self.target == "aws" else profile.sizing

    @property
    def resource_budget(self) -> int:
        """--max-resources, else the budget of the run's profile."""
        return self.max_resources if self.max_resources is not None else PROFILES[self.profile].max_resources

    def replace(self, **changes: Any) -> "RunOptions":
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> "RunOptions":
        """This object, or UsageError naming the option and what it may be."""
        _choose("target", self.target, TARGETS)
        _choose("profile", self.profile, PROFILES)
        _choose("--faults", self.faults, FAULT_MODES)
        known = service_model(self.service).operation_names  # UnknownName when botocore has no such service
        unknown = [name for name in self.operations if name not in known]
        if unknown:
            raise UsageError(f"unknown operation{'s' * (len(unknown) > 1)} {', '.join(unknown)}; "
                             f"the installed model has: {', '.join(known)}")
        if self.target != "aws":
            given = [f"--{name.replace('_', '-')}" for name in ("plan", "read_only", "allow_real_account")
                     if getattr(self, name)]
            if given:
                raise UsageError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to --target aws")
        if self.service == DEFAULT_SERVICE and self.target == "moto":
            raise UsageError("--target moto runs another service's pack (--service NAME); Invoicing runs against "
                             "mock, endpoint or aws")
        if self.service != DEFAULT_SERVICE and self.target not in ("moto", "endpoint"):
            raise UsageError(f"the {self.service} pack runs against --target moto or --target endpoint, "
                             f"not {self.target}")
        if self.mock_backend and self.target not in ("mock", "moto"):
            raise UsageError("--mock-backend only applies to --target mock (or moto, for a pack's planted fault)")
        if self.max_rate <= 0:
            raise UsageError(f"--max-rate must be > 0 requests per second, got {self.max_rate:g}")
        if self.max_resources is not None and self.max_resources < 0:
            raise UsageError(f"--max-resources must be >= 0, got {self.max_resources}")
        return self

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "RunOptions":
        """From parsed command-line values (argparse's or pytest's), keyed by field name; missing keys take the
        defaults, other keys are ignored (they belong to the parser's other options)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        given = {}
        for option in OPTIONS:
            if option.name in fields and option.name in values and values[option.name] is not None:
                given[option.name] = option.parse(values[option.name])
        return cls(**given).validated()

    def command_line(self) -> list[str]:
        """The flags that give these options (only those that differ from the defaults), in table order."""
        default = RunOptions()
        out: list[str] = []
        for option in OPTIONS:
            value = getattr(self, option.name)
            if value != getattr(default, option.name):
                out += option.render(value)
        return out


def _choose(what: str, value: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


def _names(value: Any) -> tuple[str, ...]:
    """`A B`, `A,B` or a list of either: the names, in order, each once."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return tuple(dict.fromkeys(n.strip() for v in items for n in str(v).split(",") if n.strip()))


def _number(kind: Callable[[str], Any], flag: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise UsageError(f"{flag} takes a number, got {value!r}") from None

    return parse


def _workers(value: Any) -> int:
    workers = _number(int, "--workers")(value)
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    return workers


def parse_shard(value: Any) -> tuple[int, int]:
    """`i/n` -> (i, n) with 1 <= i <= n; UsageError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard takes i/n with 1 <= i <= n (e.g. 1/2), got {value!r}")
    return int(match[1]), int(match[2])


def _shard(value: Any) -> str:
    index, count = parse_shard(value)
    return f"{index}/{count}"


@dataclass(frozen=True)
class Option:
    """One command-line option of a run: its RunOptions field, its help, and how it is parsed and written."""

    name: str
    help: str
    metavar: str | None = None
    kind: str = "value"  # value | flag (on/off) | names (one or more, space- or comma-separated)
    parse: Callable[[Any], Any] = str
    group: str = "run"  # run | advanced | real account (--target aws)
    pytest: bool = True  # also a pytest option (the real-account ones only work under `run`)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def render(self, value: Any) -> list[str]:
        if self.kind == "flag":
            return [self.flag] if value else []
        if self.kind == "names":
            return [self.flag, ",".join(value)]
        return [self.flag, str(value)]


def _profiles_help() -> str:
    return f"how hard to look (default {DEFAULT_PROFILE}): " + "; ".join(
        f"{name}: {profile.description}" for name, profile in PROFILES.items())


REAL = "real account (--target aws)"
OPTIONS: tuple[Option, ...] = (
    Option("target", "mock: the in-process emulator (default); endpoint: any URL; aws: a real account (guarded: "
                      "see the real-account options and docs/real-account.md); moto: moto in-process, for "
                      "another service's pack (--service)", "|".join(TARGETS)),
    Option("service", f"which contract pack (default {DEFAULT_SERVICE}); another service's pack runs against "
                      f"--target moto or endpoint (`invoicing-contracts packs` lists them)", "NAME"),
    Option("endpoint_url", "the endpoint for --target endpoint (default: $AWS_ENDPOINT_URL_INVOICING)", "URL"),
    Option("profile", _profiles_help(), "|".join(PROFILES)),
    Option("seed", "Hypothesis seed, to repeat a run exactly (a seeded run bypasses the example database)", "N",
           parse=_number(int, "--seed")),
    Option("operations", "only these operations (names as in the model, e.g. CreateInvoiceUnit)", "OP",
           kind="names", parse=_names),
    Option("report_dir", f"where the reports go (default {DEFAULT_REPORT_DIR}/)", "DIR"),
    Option("accounts", "the organisation's accounts, payer first (default: the emulator's documented default "
                       "organisation)", "PAYER,MEMBER,..."),
    Option("target_config", "JSON: payer, members, other_account, credentials, region, hints", "FILE"),
    Option("faults", "the fault properties 7-10 (lost responses, concurrent duplicates, throttling, expiry): auto "
                     "(default) runs them where the target can inject faults and skips them with the reason "
                     "elsewhere; on: a target that cannot is an error; off: skip them", "|".join(FAULT_MODES)),
    Option("strict", "assumed expectations (docs/bases.md) fail the run on every target, not only on the embedded "
                     "emulator; elsewhere they are recorded as divergences", kind="flag",
           pytest=False),  # pytest owns --strict (its --strict-markers)
    Option("mock_backend", "an emulator backend factory for --target mock (e.g. a planted-fault variant)",
           "MODULE:ATTR", group="advanced"),
    Option("example_db", f"Hypothesis example database, kept between runs (default {DEFAULT_DATABASE}); 'none' "
                         f"for no database; redis://HOST:PORT/DB for one database many machines share (needs the "
                         f"`redis` extra)", "DIR|URL", group="advanced"),
    Option("workers", "run the suite in N processes on this machine (pytest-xdist; each has its own emulator, or its "
                      "share of a real account's budget and rate); the reports are merged into one (default 1)", "N",
           parse=_workers, pytest=False),
    Option("shard", "run only part i of n of the suite, split stably by test and operation (one part per CI "
                    "machine; join the parts' report directories with `invoicing-contracts merge`)", "i/n",
           parse=_shard),
    Option("quiet", "no progress lines, only the summary", kind="flag", group="advanced", pytest=False),
    Option("record_baseline", "write what the target did, per operation and property, to this behaviour baseline "
                              "(stable, sorted JSON; docs/baselines.md)", "FILE", pytest=False),
    Option("baseline", "compare what the target did with this behaviour baseline: any change fails the run (exit "
                       "1) and is printed", "FILE", pytest=False),
    Option("allow_real_account", "opt in to writes in a real AWS account (also needs "
                                 "INVOICING_CONTRACTS_ALLOW_REAL_ACCOUNT=1 and the account allowlisted)",
           kind="flag", group=REAL, pytest=False),
    Option("allowed_account", "accounts the run may write to (comma-separated, or the option repeated; else "
                              "INVOICING_CONTRACTS_ALLOWED_ACCOUNTS)", "ACCOUNT_ID", kind="names", parse=_names,
           group=REAL, pytest=False),
    Option("aws_profile", "AWS shared-config profile for credentials and region", "NAME", group=REAL, pytest=False),
    Option("aws_region", "AWS region (default: the profile's or AWS_DEFAULT_REGION)", "REGION", group=REAL,
           pytest=False),
    Option("max_rate", f"request-rate limit, retries included (default {DEFAULT_MAX_RATE:g})", "PER_SECOND",
           parse=_number(float, "--max-rate"), group=REAL, pytest=False),
    Option("ledger_dir", f"where ledgers of created resources are kept (default {DEFAULT_LEDGER_DIR})", "DIR",
           group=REAL, pytest=False),
    Option("plan", "print what the run would create, update and delete, and stop", kind="flag", group=REAL,
           pytest=False),
    Option("read_only", "only requests that cannot have an effect", kind="flag", group=REAL, pytest=False),
    Option("max_resources", "most resources the run may create (default: the profile's, " + ", ".join(
        f"{name} {p.max_resources}" for name, p in PROFILES.items()) + ")", "N",
           parse=_number(int, "--max-resources"), group=REAL, pytest=False),
    Option("accounts_file", 'accounts for invoice-unit rules: {"receivers": [...], "linked_accounts": [...]}',
           "JSON", group=REAL, pytest=False),
    Option("organization_accounts", "take rule accounts from Organizations ListAccounts: ACTIVE accounts whose "
                                    "name matches", "NAME_GLOB", group=REAL, pytest=False),
    Option("name_prefix", f"prefix of the invoice-unit names the run creates (default {DEFAULT_NAME_PREFIX})",
           "PREFIX", group=REAL, pytest=False),
)


def add_argparse_options(parser, *, names: Iterable[str] | None = None) -> None:
    """The options (all, or those named) on an argparse parser, grouped as in the table. Values stay raw
    (strings); `RunOptions.from_values` parses and checks them, so both front ends report bad input alike."""
    wanted = set(names) if names is not None else None
    groups: dict[str, Any] = {}
    for option in OPTIONS:
        if wanted is not None and option.name not in wanted:
            continue
        target = parser if option.group == "run" else groups.setdefault(
            option.group, parser.add_argument_group(option.group))
        if option.kind == "flag":
            target.add_argument(option.flag, action="store_true", default=None, help=option.help)
        elif option.kind == "names":
            target.add_argument(option.flag, nargs="+", action="extend", metavar=option.metavar, help=option.help)
        else:
            target.add_argument(option.flag, metavar=option.metavar, help=option.help)


def add_pytest_options(parser) -> None:
    """The options a pytest session takes (pytest's Parser): the same flags, defaults and help as `run`."""
    group = parser.getgroup("invoicing-contracts", "Invoicing contract suite (same as `invoicing-contracts run`)")
    for option in OPTIONS:
        if not option.pytest:
            continue
        if option.kind == "flag":
            group.addoption(option.flag, action="store_true", default=None, help=option.help)
        else:
            group.addoption(option.flag, default=None, metavar=option.metavar, help=option.help)


__all__ = [
    "RunOptions", "Option", "OPTIONS", "DEFAULT_SERVICE", "Profile", "Sizing", "PROFILES", "DEFAULT_PROFILE", "TARGETS", "FAULT_MODES",
    "DEFAULT_REPORT_DIR", "DEFAULT_DATABASE", "DEFAULT_MAX_RATE", "DEFAULT_LEDGER_DIR", "DEFAULT_NAME_PREFIX",
    "parse_shard", "register_profiles", "limit_shrinking", "hypothesis_profile_name", "add_argparse_options", "add_pytest_options",
]
