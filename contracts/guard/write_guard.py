"""The write guard of a real-account run: what may be written, and what is kept back unsent.

`WriteGuard.install(client)` puts botocore event handlers on the run's clients; a write the guard refuses raises
`GuardRefused` (a contracts.calls.NotSent) locally and nothing is sent:
  - `--read-only`: no write at all. Only read operations (contracts.guard.plan.is_read: Get/List/BatchGet/
    Describe) go out. A write the local validator calls invalid is kept back too: a service may ignore an
    unknown member or enforce less than its model says, and then an "invalid" write has its effect;
  - a write may name (in any member whose model shape is an ARN) only resources this run created, or strings
    that do not mention the caller's account (an ARN of another account cannot address the caller's resources);
  - a write may name (in any member whose model shape is a 12-digit account ID) only accounts of the run's
    account pool (contracts.guard.plan.AccountPool);
  - the run's own tags cannot be changed or removed;
  - creates get the run's tags and a ClientToken (when the caller left it out, as botocore would), claim the
    resource budget, and are written to the ledger before they are sent; the ARN is written when it comes back.
Reads are never restricted. Which operations read is decided by name; every other operation, including ones a
future model adds, is a write and guarded.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from contracts.calls import NotSent
from contracts.guard.budget import THROTTLING_CODES, ResourceBudget
from contracts.guard.ledger import TAG_RUN, TAG_TOKEN, Ledger, RunIdentity
from contracts.guard.plan import ACCOUNT_ID, AccountPool, is_read
from contracts.model.redaction import sensitive_member_names
from contracts.packs.contract import load as load_contract
from strategies import service_model
from strategies.hints import is_account_id, is_arn


class GuardRefused(NotSent):
    """The guard would not send this write (nothing was sent). The suite treats it as 'not tried', not a
    violation."""


def _string_leaves(shape, value, path: str = ""):
    """(path, shape, string) for every string in `value`, with the model shape it sits in where the value
    agrees with the model, else the nearest shape known (a type-confused invalid request is still checked)."""
    kind = getattr(shape, "type_name", None)
    if isinstance(value, str):
        yield path, (shape.member if kind == "list" else shape), value
    elif isinstance(value, dict):
        for key, item in value.items():
            if kind == "structure":
                inner = shape.members.get(key)
            elif kind == "map":
                inner = shape.value
            else:
                inner = None
            yield from _string_leaves(inner, item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        inner = shape.member if kind == "list" else shape
        for i, item in enumerate(value):
            yield from _string_leaves(inner, item, f"{path}[{i}]")


class WriteGuard:
    """The event handlers of one real-account run (shared by all its clients; thread-safe)."""

    def __init__(self, *, account: str, identity: RunIdentity, ledger: Ledger | None, pool: AccountPool,
                 resources: ResourceBudget, read_only: bool):
        self.account = account
        self.identity = identity
        self.ledger = ledger
        self.pool = pool
        self.resources = resources
        self.read_only = read_only
        self.contract = load_contract()
        self.model = service_model("invoicing")
        self._lock = threading.Lock()
        self.created: dict[str, str] = {}  # arn -> resource type, in creation order
        self.deleted: set[str] = set()
        self.refused = 0
        self._tag_max = self.model.shape_for("ResourceTagList").metadata.get("max")

    # -- what an operation is --------------------------------------------------------------------------------
    def _entry(self, operation: str):
        return self.contract.operations.get(operation)

    def _is_create(self, operation: str) -> bool:
        entry = self._entry(operation)
        return entry is not None and entry.effect == "create"

    # -- handlers --------------------------------------------------------------------------------------------
    def before_parameter_build(self, params: dict, model, context: dict, **_kwargs) -> None:
        if not self._is_create(model.name):
            return
        entry = self._entry(model.name)
        token = params.get(entry.token_member)
        if token is None:
            token = params[entry.token_member] = str(uuid.uuid4())  # what botocore would fill in
        if not isinstance(token, str):
            self._refuse(f"{model.name}: {entry.token_member} is not a string, so it cannot tag the resource; a "
                         f"real-account run creates only what it can find again")
        if "ResourceTags" not in model.input_shape.members:
            self._refuse(f"{model.name} cannot carry the run's tags; a real-account run creates only what it can "
                         f"find again")
        tags = params.get("ResourceTags")
        if tags is None:
            tags = []
        if not isinstance(tags, list):
            self._refuse(f"{model.name}: ResourceTags is not a list, so the run's tags cannot be added")
        own = self.identity.tags(token)
        if self._tag_max is not None and len(tags) <= self._tag_max < len(tags) + len(own):
            self._refuse(f"{model.name} has {len(tags)} ResourceTags; with the run's {len(own)} it would exceed the "
                         f"model's {self._tag_max}. In a real-account run, draw at most {self._tag_max - len(own)}")
        keys = {t.get("Key") for t in tags if isinstance(t, dict)}
        params["ResourceTags"] = [*tags, *(t for t in own if t["Key"] not in keys)]
        context["real_account_create"] = {"token": token, "name": params.get("Name")}

    def before_call(self, model, params=None, context=None, **_kwargs) -> None:
        operation = model.name
        if is_read(operation):
            return None
        api_params = (context or {}).get("real_account_params")
        self.check_write(operation, api_params if api_params is not None else {})
        if self._is_create(operation):
            self._before_create(operation, api_params or {}, context)
        return None

    def provide_params(self, params: dict, model, context: dict, **_kwargs) -> None:
        # The first handler of a call: a read-only run stops a write here, before botocore validates or
        # serialises it, so every write of such a run ends the same way (GuardRefused), whatever its params.
        if self.read_only and not is_read(model.name):
            self._refuse_read_only(model.name)
        # Keep the boto3-form parameters for before-call, which only sees the serialised request.
        context["real_account_params"] = params
        return None

    def after_call(self, http_response, parsed: dict, model, context: dict, **_kwargs) -> None:
        operation = model.name
        entry = self._entry(operation)
        ok = http_response.status_code < 300
        create = context.get("real_account_create")
        if create and ok:
            arn = parsed.get(entry.response_identifier)
            if isinstance(arn, str):
                if "seq" in create and self.ledger is not None:
                    self.ledger.created(create["seq"], arn)
                with self._lock:
                    self.created[arn] = entry.resource.kind
        elif create:
            code = parsed.get("Error", {}).get("Code")
            # Only a client error other than throttling says "no effect"; after a 5xx (or a throttling answer
            # from a faulty service) the claim stays, and the ledger entry stays pending for sweep to look for.
            if 400 <= http_response.status_code < 500 and code not in THROTTLING_CODES:
                if "seq" in create and self.ledger is not None:
                    self.ledger.refused(create["seq"], str(code or http_response.status_code))
                if create.get("claimed"):
                    self.resources.release(create["token"], operation)
        if ok and entry is not None and entry.effect == "delete":
            arn = (context.get("real_account_params") or {}).get(entry.resource.identifier)
            if isinstance(arn, str):
                if self.ledger is not None:
                    self.ledger.deleted(arn, by="run")
                with self._lock:
                    self.deleted.add(arn)

    # -- checks ----------------------------------------------------------------------------------------------
    def check_write(self, operation: str, params: dict) -> None:
        """GuardRefused unless this write may be sent (see the module docstring)."""
        if self.read_only:
            self._refuse_read_only(operation)
        shape = self.model.operation_model(operation).input_shape
        with self._lock:
            ours = set(self.created)
        secret_names = sensitive_member_names()
        for path, leaf_shape, value in _string_leaves(shape, params):
            if leaf_shape is None:
                continue
            # Never echo a member the model marks sensitive (none is an ARN or an account today).
            shown = "<redacted>" if secret_names & set(re.split(r"[.\[]", path)) else value
            if is_arn(leaf_shape) and value not in ours and self.account in value:
                self._refuse(f"{operation} names {shown} at {path}, a resource of account {self.account} that this "
                             f"run did not create")
            if is_account_id(leaf_shape) and ACCOUNT_ID.fullmatch(value) and value not in self.pool:
                self._refuse(f"{operation} names account {shown} at {path}, which is not in the run's accounts "
                             f"({self.pool.source})")
        if not self._is_create(operation):
            tags, tag_keys = params.get("ResourceTags"), params.get("ResourceTagKeys")
            keys = [t.get("Key") for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []
            keys += list(tag_keys) if isinstance(tag_keys, list) else [tag_keys]
            if TAG_RUN in keys or TAG_TOKEN in keys:
                self._refuse(f"{operation} would change the run's own tags ({TAG_RUN}, {TAG_TOKEN}), by which "
                             f"sweep recognises what the run created")

    def check_raw(self, operation: str, params: dict) -> None:
        """A request sent as hand-made JSON (an invalid one botocore cannot serialise) bypasses the handlers
        above: check it here. A create cannot carry the run's tags or be ledgered that way, so it is refused."""
        if is_read(operation):
            return
        if self._is_create(operation):
            self._refuse(f"{operation} as hand-made JSON cannot carry the run's tags nor be written to the ledger")
        self.check_write(operation, params if isinstance(params, dict) else {})

    def _before_create(self, operation: str, params: dict, context: dict) -> None:
        create = context.get("real_account_create")
        if create is None:
            return
        # Valid or not (a service may accept what the local validator refuses): BudgetExceeded, nothing sent.
        create["claimed"] = self.resources.claim(create["token"], operation)
        if self.ledger is not None:
            entry = self._entry(operation)
            name = create.get("name") if isinstance(create.get("name"), str) else None
            create["seq"] = self.ledger.intend(operation, create["token"], resource_type=entry.resource.kind,
                                               name=name)

    def _refuse_read_only(self, operation: str) -> None:
        # Valid or not: the local validator's verdict says nothing about what a service that ignores unknown
        # members, or enforces less than its model, would do with the request.
        self._refuse(f"{operation} is a write and this is a --read-only run, which sends reads only")

    def _refuse(self, message: str) -> None:
        with self._lock:
            self.refused += 1
        raise GuardRefused(f"real-account guard: {message}; nothing was sent")

    # -- installation ----------------------------------------------------------------------------------------
    def install(self, client) -> Any:
        events = client.meta.events
        service_id = client.meta.service_model.service_id.hyphenize()
        for operation in client.meta.service_model.operation_names:
            suffix = f"{service_id}.{operation}"
            events.register_first(f"before-parameter-build.{suffix}", self.provide_params)
            events.register_last(f"before-parameter-build.{suffix}", self.before_parameter_build)
            events.register_first(f"before-call.{suffix}", self.before_call)
            events.register_first(f"after-call.{suffix}", self.after_call)
        return client
