"""The AWS JSON 1.0 wire protocol, both directions; no behaviour lives here.

Request: POST, `Content-Type: application/x-amz-json-1.0` (`application/json` is accepted too, parameters such as
`; charset=utf-8` are ignored), `X-Amz-Target: Invoicing.<Operation>`, a JSON object body (empty means `{}`).
Refusals, as AWS JSON (Coral) services give them, checked in this order:
  not POST, or a body with another content type   -> 404 UnknownOperationException
  a body that is not a JSON object                 -> 400 SerializationException
  a target that names no operation of the model    -> 400 UnknownOperationException
Response: `Content-Type: application/x-amz-json-1.0`, an `x-amzn-RequestId` header, a JSON body; errors carry
`__type` (the error's shape id), `message`, the error shape's other members, and an `x-amzn-ErrorType` header.
An unexpected failure of the emulator is a 500 InternalServerException naming the request id, never a trace.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Mapping

from invoicing_mock.exceptions import (
    InternalServerException,
    InvoicingError,
    ProtocolError,
    SerializationException,
    UnknownOperationException,
    UnsupportedContentType,
)
from invoicing_mock.faults import DropResponse
from invoicing_mock.call import Call
from invoicing_mock.models import InvoicingBackend
from invoicing_mock.organization import caller_account
from strategies import service_model

logger = logging.getLogger("invoicing_mock")

CONTENT_TYPE = "application/x-amz-json-1.0"
ACCEPTED_CONTENT_TYPES = frozenset({CONTENT_TYPE, "application/json"})
_MODEL = service_model("invoicing")
TARGET_PREFIX = _MODEL.metadata["targetPrefix"]
_OPERATIONS = {f"{TARGET_PREFIX}.{name}": name for name in _MODEL.operation_names}


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _without_nulls(value: Any) -> Any:
    """AWS JSON treats a member set to null as absent; drop them so the operations never see None."""
    if isinstance(value, dict):
        return {name: _without_nulls(item) for name, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


class InvoicingResponse:
    def __init__(self, backend: InvoicingBackend):
        self.backend = backend

    def dispatch(self, method: str, headers: Mapping[str, Any], body: bytes | None) -> tuple[int, dict, bytes]:
        """Answer one HTTP request: (status, headers, body). Raises only DropResponse (a planted fault)."""
        request_id = str(uuid.uuid4())
        lowered = {_text(name).lower(): _text(value) for name, value in headers.items()}
        try:
            operation = self._operation(method, lowered, body)
            params = self._params(body)
            if operation is None:
                raise UnknownOperationException(
                    f"X-Amz-Target {lowered.get('x-amz-target', '')!r} names no operation of the Invoicing "
                    f"service; expected {TARGET_PREFIX}.<Operation>, e.g. {TARGET_PREFIX}.ListInvoiceUnits"
                )
            account = caller_account(lowered, self.backend.access_keys)
            result = self.backend.handle(Call(account, operation, params, request_id))
        except (InvoicingError, ProtocolError) as error:
            logger.debug("%s %s -> %s", request_id, lowered.get("x-amz-target"), error.code)
            return self._answer(error.status, request_id, error.body(), error.code)
        except DropResponse:
            raise
        except Exception:
            # Operators get the trace in the log; clients get no internals.
            logger.exception("request %s (%s) failed inside the emulator", request_id, lowered.get("x-amz-target"))
            error = InternalServerException(f"The emulator failed on request {request_id}; see its log")
            return self._answer(error.status, request_id, error.body(), error.code)
        return self._answer(200, request_id, result)

    @staticmethod
    def _operation(method: str, headers: dict[str, str], body: bytes | None) -> str | None:
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if method != "POST" or (body and content_type not in ACCEPTED_CONTENT_TYPES):
            raise UnsupportedContentType(
                f"Expected a POST with Content-Type {CONTENT_TYPE}; got a {method} with "
                f"Content-Type {content_type or '(none)'!r}"
            )
        return _OPERATIONS.get(headers.get("x-amz-target", ""))

    @staticmethod
    def _params(body: bytes | None) -> dict[str, Any]:
        if not body:
            return {}
        try:
            params = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise SerializationException(f"The request body is not valid JSON: {error}")
        if not isinstance(params, dict):
            raise SerializationException(
                f"The request body must be a JSON object; got a JSON {type(params).__name__}"
            )
        return _without_nulls(params)

    @staticmethod
    def _answer(status: int, request_id: str, payload: dict, error_code: str | None = None):
        body = json.dumps(payload).encode()
        headers = {
            "x-amzn-RequestId": request_id,
            "Content-Type": CONTENT_TYPE,
            "Content-Length": str(len(body)),
        }
        if error_code:
            headers["x-amzn-ErrorType"] = error_code
        return status, headers, body
