"""The compiler on a synthetic model with every botocore type, a tagged union, a document and recursion."""

import pytest
from botocore.exceptions import ParamValidationError
from botocore.model import ServiceModel
from botocore.validate import validate_parameters
from hypothesis import HealthCheck, given, settings

from contracts.validation.schemas import shape_schema
from contracts.validation.validate import validate_value
from strategies._compile import BOTOCORE_TYPES, Compiler, Contradiction, shape_kind
from strategies._violations import invalid_for_site, sites_of

FAST = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SHAPES = {
    "Req": {"type": "structure", "required": ["Str", "Node"], "members": {
        "Str": {"shape": "Str"}, "Int": {"shape": "Int"}, "Lng": {"shape": "Lng"}, "Flt": {"shape": "Flt"},
        "Dbl": {"shape": "Dbl"}, "Bool": {"shape": "Bool"}, "Ts": {"shape": "Ts"}, "Blb": {"shape": "Blb"},
        "Lst": {"shape": "Lst"}, "Mp": {"shape": "Mp"}, "Un": {"shape": "Un"}, "Doc": {"shape": "Doc"},
        "Enm": {"shape": "Enm"}, "Node": {"shape": "Node"}, "Secret": {"shape": "Secret"},
    }},
    "Str": {"type": "string", "min": 2, "max": 8, "pattern": "[a-z]+\\d?"},
    "Int": {"type": "integer", "min": -5, "max": 5},
    "Lng": {"type": "long", "min": 0},
    "Flt": {"type": "float", "min": 0.5, "max": 2.5},
    "Dbl": {"type": "double"},
    "Bool": {"type": "boolean"},
    "Ts": {"type": "timestamp"},
    "Blb": {"type": "blob", "min": 1, "max": 4},
    "Lst": {"type": "list", "member": {"shape": "Int"}, "min": 1, "max": 3},
    "Mp": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Int"}, "min": 1, "max": 2},
    "Key": {"type": "string", "pattern": "k[0-9]"},
    "Un": {"type": "structure", "union": True, "members": {"A": {"shape": "Str"}, "B": {"shape": "Int"}}},
    "Doc": {"type": "structure", "document": True, "members": {}},
    "Enm": {"type": "string", "enum": ["RED", "GREEN"]},
    "Secret": {"type": "string", "sensitive": True, "pattern": "s+"},
    # recursion through an optional member and through a list
    "Node": {"type": "structure", "required": ["Name"], "members": {
        "Name": {"shape": "Str"}, "Next": {"shape": "Node"}, "Children": {"shape": "Nodes"}}},
    "Nodes": {"type": "list", "member": {"shape": "Node"}},
    # a cycle of required members cannot be built at all
    "Loop": {"type": "structure", "required": ["Again"], "members": {"Again": {"shape": "Loop"}}},
    "LoopReq": {"type": "structure", "required": ["Loop"], "members": {"Loop": {"shape": "Loop"}}},
    "Impossible": {"type": "structure", "members": {"Bad": {"shape": "BadEnum"}, "Ok": {"shape": "Bool"}}},
    "BadEnum": {"type": "string", "enum": ["TOO-LONG"], "max": 3},
}
MODEL = ServiceModel({
    "metadata": {"protocol": "json", "jsonVersion": "1.0", "apiVersion": "2020-01-01", "serviceId": "Synthetic",
                 "endpointPrefix": "synthetic", "targetPrefix": "Synthetic", "signatureVersion": "v4"},
    "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "Req"}}},
    "shapes": SHAPES,
}, "synthetic")
REQ = MODEL.shape_for("Req")


def test_the_synthetic_model_exercises_every_botocore_type():
    kinds = {shape_kind(MODEL.shape_for(name)) for name in SHAPES}
    assert BOTOCORE_TYPES <= kinds and {"union", "document"} <= kinds


def depth(node):
    below = [depth(node["Next"])] if "Next" in node else []
    return 1 + max([0] + below + [depth(child) for child in node.get("Children", [])])


@FAST
@given(params=Compiler().valid(REQ))
def test_valid_values_of_every_type_pass_botocore_and_the_local_validator(params):
    validate_parameters(params, REQ)
    assert validate_value(params, REQ) == []
    assert depth(params["Node"]) <= 5  # recursion is bounded
    if "Un" in params:
        assert len(params["Un"]) == 1


@pytest.mark.parametrize("site", sites_of(REQ), ids=lambda s: f"{s.member_template}-{s.constraint}")
def test_every_site_of_every_type_breaks_exactly_its_label(site):
    @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(bad=invalid_for_site("Op", REQ, site, Compiler()))
    def check(bad):
        v = bad.violation
        expected = {(v.path, v.constraint)} | {(v.path, c) for c in v.implied}
        assert {(p.path, p.constraint) for p in validate_value(bad.params, REQ)} == expected
        try:
            validate_parameters(bad.params, REQ)
            refused = False
        except ParamValidationError:
            refused = True
        assert refused == (v.layer == "client"), v.description

    check()


def test_layers_follow_what_botocore_checks():
    layer = {(s.template, s.constraint): s.layer for s in sites_of(REQ)}
    assert layer[("Blb", "min")] == "server"  # botocore range-checks no blob
    assert layer[("Mp", "min")] == "server"  # nor any map
    assert layer[("Lst", "min")] == "client" and layer[("Int", "min")] == "client"
    assert layer[("Flt", "min")] == "client" and layer[("Str", "min")] == "client"
    assert {layer[(t, "max")] for t in ("Str", "Int", "Flt", "Blb", "Lst", "Mp")} == {"server"}


def test_sensitive_values_never_appear_in_labels():
    site = next(s for s in sites_of(REQ) if (s.template, s.constraint) == ("Secret", "pattern"))

    @settings(max_examples=10, deadline=None, database=None)
    @given(bad=invalid_for_site("Op", REQ, site, Compiler()))
    def check(bad):
        value = bad.params["Secret"]
        assert repr(value) not in bad.violation.description and "sensitive" in bad.violation.description
        assert all(repr(value) not in p.message for p in validate_value(bad.params, REQ))

    check()


def test_a_required_cycle_is_a_contradiction_naming_the_path():
    with pytest.raises(Contradiction, match="Loop"):
        Compiler().valid(MODEL.shape_for("LoopReq"))


@FAST
@given(params=Compiler().valid(MODEL.shape_for("Impossible")))
def test_an_optional_member_that_cannot_be_built_is_left_out(params):
    assert "Bad" not in params


def test_schema_of_a_recursive_shape_terminates_and_accepts_wire_values():
    import jsonschema

    schema = shape_schema(REQ)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["definitions"]["Node"]["properties"]["Next"] == {"$ref": "#/definitions/Node"}
    wire = {"Str": "ab1", "Node": {"Name": "xy", "Children": [{"Name": "zz"}]}, "Ts": 1700000000.5,
            "Blb": "AAE=", "Un": {"A": "ab"}, "Doc": {"any": [1, None]}, "Mp": {"k1": 3}, "Flt": "NaN"}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(wire)) == []
    assert validate_value(wire, REQ, wire=True) == []
    assert not jsonschema.Draft7Validator(schema).is_valid({**wire, "Un": {"A": "ab", "B": 1}})
