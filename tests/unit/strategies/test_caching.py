"""Work that depends only on a pattern or a shape is done once, not at every draw (what made generation slow)."""

import re

import hypothesis.strategies
import pytest
from botocore.model import ServiceModel
from hypothesis import HealthCheck, given, settings

import strategies._patterns as patterns
from strategies import Hints, ambiguous_requests, mutations, requests
from strategies._compile import Compiler, Contradiction
from strategies._model import operation_model
from strategies._patterns import PatternStrings

FAST = settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def draw_many(strategy, times=FAST):
    drawn = []

    @times
    @given(strategy)
    def collect(value):
        drawn.append(value)

    collect()
    return drawn


def test_character_classes_are_compiled_once_per_pattern_not_per_draw(monkeypatch):
    calls = []
    real = patterns._class_ranges
    monkeypatch.setattr(patterns, "_class_ranges", lambda items: calls.append(1) or real(items))
    strings = PatternStrings(r"[a-z]+-[0-9]{2,4}(\.[A-Z]+)?", "Case")
    draw_many(strings.valid(1, 40), settings(FAST, max_examples=5))
    compiled = len(calls)
    assert compiled > 0  # the wrapper does see the compilation
    draw_many(strings.valid(1, 40), settings(FAST, max_examples=50))
    assert len(calls) == compiled


def test_strategies_for_the_same_bounds_are_built_once():
    strings = PatternStrings(r"[a-z]+\d?", "Case")
    assert strings.valid(2, 8) is strings.valid(2, 8)
    assert strings.violating(2, 8) is strings.violating(2, 8)
    assert strings.ambiguous(2, 8) is strings.ambiguous(2, 8)
    assert strings.valid(2, 8) is not strings.valid(2, 9)


def test_compiled_shapes_are_shared_by_compilers_with_equal_hints():
    shape = operation_model("CreateInvoiceUnit").input_shape
    accounts = Hints(accounts=["123456789012"])
    assert Compiler(accounts).valid(shape) is Compiler(Hints(accounts=["123456789012"])).valid(shape)
    assert Compiler(accounts).valid(shape) is not Compiler(None).valid(shape)


MODEL = ServiceModel({
    "metadata": {"protocol": "json", "jsonVersion": "1.0", "apiVersion": "2020-01-01", "serviceId": "Synthetic",
                 "endpointPrefix": "synthetic", "targetPrefix": "Synthetic", "signatureVersion": "v4"},
    "operations": {},
    "shapes": {
        "Req": {"type": "structure", "required": ["Code"], "members": {"Code": {"shape": "Code"}}},
        "Code": {"type": "string", "min": 5, "pattern": "[a-z]{3}"},  # matches have 3 characters: none fits
    },
}, "synthetic")


def test_a_contradiction_names_the_path_it_was_asked_for_every_time():
    # Built strategies are cached without their path; contradictions are not cached, so each names its own path.
    code = MODEL.shape_for("Req").members["Code"]
    for path in ("Req.Code", "Other[0].Code", "Req.Code"):
        with pytest.raises(Contradiction, match=f"^{re.escape(path)}: "):
            Compiler().valid(code, "Code", (), path)


def test_drawing_defines_no_composite_strategy(monkeypatch):
    # Hypothesis reads a composite's source each time one is defined (milliseconds): define them at import only.
    defined = []
    real = hypothesis.strategies.composite
    def counting(f):
        if f.__module__.startswith("strategies."):  # Hypothesis's own (from_regex) are not ours to judge
            defined.append(f"{f.__module__}.{f.__qualname__}")
        return real(f)

    monkeypatch.setattr(hypothesis.strategies, "composite", counting)
    operation = "CreateInvoiceUnit"
    draw_many(requests(operation, valid=False))
    draw_many(ambiguous_requests(operation))
    params = draw_many(requests(operation), settings(FAST, max_examples=1))[0]
    draw_many(mutations(operation, params))
    draw_many(PatternStrings(r"\S+@\S+", "Case").valid(3, 30))
    assert defined == []


def test_a_shared_strategy_still_draws_different_values():
    values = draw_many(requests("CreateInvoiceUnit"), settings(FAST, max_examples=10))
    assert len({repr(v) for v in values}) > 1
