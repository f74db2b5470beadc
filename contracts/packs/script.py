"""Reproductions of a pack's findings: a Python script a moto maintainer runs as is. It makes the calls of the
failing example (sensitive members masked, equal secrets masked alike, so a replay still replays), then asserts
what AWS documents, quoting it: the script exits non-zero while the target departs from the documentation."""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore import xform_name

from contracts.model.redaction import REDACTOR


@dataclass
class Script:
    service: str
    kind: str  # moto | endpoint
    region: str = "us-east-1"
    endpoint_url: str | None = None
    moto_version: str = ""
    fault: str | None = None  # a planted fault ("module:attr"), in force around the calls
    steps: list[tuple[str, str, dict]] = field(default_factory=list)  # (variable, operation, params)
    asserts: list[tuple[str, str]] = field(default_factory=list)  # (Python condition, message)
    _masks: dict[str, str] = field(default_factory=dict)

    def call(self, variable: str, operation: str, params: dict) -> str:
        self.steps.append((variable, operation, REDACTOR.mask(params, self._masks)))
        return variable

    def render(self) -> str:
        pin = f"moto=={self.moto_version} " if self.moto_version and self.kind == "moto" else ""
        head = [f"# Target: {self.kind}" + (f" {self.endpoint_url}" if self.endpoint_url else "")
                + (f", moto {self.moto_version}" if self.moto_version else ""),
                f"# Needs: pip install {pin}boto3. Exits with AssertionError while the target departs from AWS's "
                "documentation (quoted) or its model.", "import json", "", "import boto3", "import botocore.exceptions"]
        if self.kind == "moto":
            head.append("from moto import mock_aws")
        managers = ["mock_aws()"] if self.kind == "moto" else []
        if self.fault:
            module, _, attr = self.fault.partition(":")
            head.append(f"from {module} import {attr}  # the planted fault this run was given")
            managers.append(f"{attr}({self.service!r})")
        endpoint = f", endpoint_url={self.endpoint_url!r}" if self.endpoint_url else ""
        body = [f"client = boto3.client({self.service!r}, region_name={self.region!r}, aws_access_key_id='testing', "
                f"aws_secret_access_key='testing'{endpoint})",
                "client.meta.events.register('after-call', lambda http_response, **_: BODIES.append(http_response.content))"]
        for variable, operation, params in self.steps:
            body.append(f"{variable} = call(client.{xform_name(operation)}, **{dict(sorted(params.items()))!r})")
            body.append(f"print({variable!r}, {{k: v for k, v in {variable}.items() if k != 'ResponseMetadata'}})")
            if variable == "answer":
                body.append("answer_wire = json.loads(BODIES[-1] or b'null')  # the body as received")
        body += [f"assert {condition}, {message!r}" for condition, message in self.asserts]
        body.append("print('the target answers as documented')")
        if managers:
            body = [f"with {', '.join(managers)}:"] + ["    " + line for line in body]
        return REDACTOR.scrub("\n".join(head) + "\n" + PRELUDE + "\n".join(body) + "\n")


PRELUDE = """

BODIES = []  # every answer's body as received (botocore's parsing drops members the model lacks)


def call(method, **params):
    try:
        return method(**params)
    except botocore.exceptions.ClientError as error:
        return error.response


def without(value, names):  # leave out what may change between reads
    if isinstance(value, dict):
        return {k: without(v, names) for k, v in value.items() if k not in names + ('ResponseMetadata',)}
    if isinstance(value, list):
        return [without(v, names) for v in value]
    return value


"""
