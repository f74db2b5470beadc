"""mutations(): a valid request that differs from the given one in exactly one field, never in the token."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import validate_request
from contracts.model import TOKEN_OPERATIONS
from strategies import Hints, mutations, requests

FAST = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
HINTS = Hints(accounts=("111111111111", "222222222222", "333333333333"),
              arns=("arn:aws:invoicing::111111111111:invoice-unit/u-1",
                    "arn:aws:invoicing::111111111111:procurement-portal-preference/p-1"))


def differing_paths(a, b, path=""):
    """Paths where two requests differ: a member present in one only, a scalar changed, a list reordered
    (reported on the list) or resized (on the list)."""
    join = (lambda k: f"{path}.{k}" if path else k)
    if isinstance(a, dict) and isinstance(b, dict):
        out = set()
        for key in set(a) | set(b):
            if key not in a or key not in b:
                out.add(join(key))
            else:
                out |= differing_paths(a[key], b[key], join(key))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b) or (a != b and sorted(map(repr, a)) == sorted(map(repr, b))):
            return {path}
        return set().union(*[differing_paths(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))])
    return set() if a == b and type(a) is type(b) else {path}


@pytest.mark.parametrize("operation", TOKEN_OPERATIONS)
@FAST
@given(data=st.data())
def test_a_mutation_is_valid_and_differs_in_exactly_its_one_field(operation, data):
    params = data.draw(requests(operation, hints=HINTS))
    params["ClientToken"] = "token-1"
    mutation = data.draw(mutations(operation, params, hints=HINTS))
    assert validate_request(operation, mutation.params) == []
    assert differing_paths(params, mutation.params) == {mutation.path}, mutation.description
    assert mutation.params["ClientToken"] == "token-1"


def test_the_mutation_sites_include_every_kind_of_difference():
    from strategies._mutations import mutation_sites
    from strategies._model import operation_model

    params = {"Name": "unit", "InvoiceReceiver": "111111111111",
              "Rule": {"LinkedAccounts": ["111111111111", "222222222222"]}, "ClientToken": "t"}
    sites = {(s.kind, s.path) for s in mutation_sites(operation_model("CreateInvoiceUnit").input_shape, params, HINTS)}
    assert ("reorder", "Rule.LinkedAccounts") in sites
    assert ("change", "Rule.LinkedAccounts[1]") in sites  # nested
    assert ("explicit", "TaxInheritanceDisabled") in sites  # omitted vs explicit False
    assert ("explicit", "Rule.BillSourceAccounts") in sites  # omitted vs explicit []
    assert ("omit", "Rule.LinkedAccounts") in sites and ("add", "Description") in sites
    assert not any(path == "ClientToken" for _, path in sites)
    assert ("change", "Name") in sites
    assert ("omit", "Rule") not in sites  # required members are never omitted


def test_a_request_with_nothing_to_change_is_an_error():
    with pytest.raises(ValueError, match="no field"):
        # BuyerDomain-like constants cannot change, but GetInvoiceUnit's ARN can: use a shape with no members
        from strategies._mutations import mutation_strategy
        from strategies._compile import Compiler
        from botocore.model import ServiceModel

        empty = ServiceModel({"metadata": {"protocol": "json"}, "operations": {},
                              "shapes": {"E": {"type": "structure", "members": {}}}}).shape_for("E")
        mutation_strategy(empty, {}, Compiler())
