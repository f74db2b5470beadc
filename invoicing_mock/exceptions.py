"""Errors the emulator answers with: one class per error shape of the Invoicing model, plus the two
protocol-level errors every AWS JSON service gives before an operation is known.

Status codes are read from the model: an error shape's `error.httpStatusCode` when it has one, otherwise the
Smithy default for its kind (400 for a client error, 500 for a `fault`). The Invoicing model declares no status
codes, so today that means 400 for every client error and 500 for InternalServerException.
Members are checked against the error shape, so a typo in a member name fails loudly in the emulator's tests.
"""

from __future__ import annotations

import functools
from typing import Any

from strategies import service_model

#: The `__type` prefix: awsJson1_0 servers send the error's full shape id (Smithy AWS JSON spec). AWS service
#: shape ids live in `com.amazonaws.<endpointPrefix>`; botocore keeps only the prefix, so the id is built here.
NAMESPACE = f"com.amazonaws.{service_model('invoicing').metadata['endpointPrefix']}"
#: Coral's namespace for protocol errors raised before an operation is resolved (as DynamoDB and others send).
CORAL_NAMESPACE = "com.amazon.coral.service"


@functools.lru_cache(maxsize=None)
def _error_shape(name: str):
    model = service_model("invoicing")
    if name not in {shape.name for shape in model.error_shapes}:
        raise LookupError(
            f"{name} is not an error shape of the installed Invoicing model; it has: "
            f"{', '.join(sorted(s.name for s in model.error_shapes))}"
        )
    return model.shape_for(name)


@functools.lru_cache(maxsize=None)
def status_code_of(name: str) -> int:
    shape = _error_shape(name)
    declared = shape.metadata.get("error", {}).get("httpStatusCode")
    if declared:
        return int(declared)
    # `fault` is not among botocore's resolved metadata attributes; it is on the raw shape.
    return 500 if shape._shape_model.get("fault") else 400


class InvoicingError(Exception):
    """An error response: `code` (the shape name), `message`, the shape's other `members`, and `status`."""

    code: str = ""

    def __init__(self, message: str, **members: Any):
        super().__init__(message)
        self.message = message
        self.members = {name: value for name, value in members.items() if value is not None}
        allowed = set(_error_shape(self.code).members)
        unknown = set(self.members) - allowed
        if unknown:
            raise TypeError(f"{self.code} has no member(s) {sorted(unknown)}; it has {sorted(allowed)}")

    @property
    def status(self) -> int:
        return status_code_of(self.code)

    def body(self) -> dict[str, Any]:
        return {"__type": f"{NAMESPACE}#{self.code}", "message": self.message, **self.members}


class ValidationException(InvoicingError):
    code = "ValidationException"

    def __init__(self, message: str, reason: str, field_list: list[dict] | None = None, resource_name=None):
        super().__init__(message, reason=reason, fieldList=field_list, resourceName=resource_name)

    @property
    def reason(self) -> str:
        return self.members["reason"]


class ConflictException(InvoicingError):
    code = "ConflictException"

    def __init__(self, message: str, resource_id: str | None = None, resource_type: str | None = None):
        super().__init__(message, resourceId=resource_id, resourceType=resource_type)


class ResourceNotFoundException(InvoicingError):
    code = "ResourceNotFoundException"

    def __init__(self, message: str, resource_name: str | None = None):
        super().__init__(message, resourceName=resource_name)


class ServiceQuotaExceededException(InvoicingError):
    code = "ServiceQuotaExceededException"


class AccessDeniedException(InvoicingError):
    code = "AccessDeniedException"

    def __init__(self, message: str, resource_name: str | None = None):
        super().__init__(message, resourceName=resource_name)


class ThrottlingException(InvoicingError):
    code = "ThrottlingException"


class InternalServerException(InvoicingError):
    code = "InternalServerException"

    def __init__(self, message: str, retry_after_seconds: int | None = None):
        super().__init__(message, retryAfterSeconds=retry_after_seconds)


#: Every class above, by shape name; tests assert it matches the model's error shapes exactly.
MODEL_ERRORS: dict[str, type[InvoicingError]] = {
    cls.code: cls
    for cls in (
        ValidationException,
        ConflictException,
        ResourceNotFoundException,
        ServiceQuotaExceededException,
        AccessDeniedException,
        ThrottlingException,
        InternalServerException,
    )
}


class ProtocolError(Exception):
    """An error of the AWS JSON protocol itself (not of the Invoicing model): the request could not be
    resolved to an operation, or its body could not be read. Answered in Coral's namespace."""

    code = ""
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"__type": f"{CORAL_NAMESPACE}#{self.code}", "message": self.message}


class SerializationException(ProtocolError):
    """The body is not a JSON object (AWS JSON services answer 400 SerializationException)."""

    code = "SerializationException"


class UnknownOperationException(ProtocolError):
    """X-Amz-Target names no operation of the service (400)."""

    code = "UnknownOperationException"


class UnsupportedContentType(UnknownOperationException):
    """Not a POST, or a body with a content type other than application/x-amz-json-1.0 or application/json:
    AWS JSON (Coral) services answer 404 UnknownOperationException, since the request matches no protocol."""

    status = 404
