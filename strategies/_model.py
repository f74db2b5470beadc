"""Loading botocore service models, with errors that list what exists."""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel


class UnknownName(LookupError):
    """An unknown service or operation name; the message lists the names that exist."""


@functools.lru_cache(maxsize=None)
def botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.lru_cache(maxsize=None)
def service_model(service: str = "invoicing") -> ServiceModel:
    session = botocore_session()
    available = session.get_available_services()
    if service not in available:
        raise UnknownName(
            f"unknown service {service!r} in botocore {botocore.__version__}; "
            f"services include: {', '.join(sorted(available)[:12])}, ... ({len(available)} in all)"
        )
    return session.get_service_model(service)


def operation_model(operation: str, service: str = "invoicing") -> OperationModel:
    model = service_model(service)
    if operation not in model.operation_names:
        raise UnknownName(
            f"unknown operation {operation!r} of {service}; it has: {', '.join(model.operation_names)}"
        )
    return model.operation_model(operation)
