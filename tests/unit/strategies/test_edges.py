"""The coverage phase's strategies: every edge of the model, and draws that do not depend on the run's seed."""

from __future__ import annotations

from hypothesis import core

import strategies
from contracts import validate_request


def test_fixed_example_does_not_depend_on_the_runs_seed():
    site = strategies.violation_sites("CreateInvoiceUnit")[5]
    saved = core.global_force_seed
    try:
        drawn = []
        for forced in (1, 2, None):
            core.global_force_seed = forced
            drawn.append(strategies.fixed_example(strategies.invalid_requests("CreateInvoiceUnit", site)).params)
    finally:
        core.global_force_seed = saved
    assert drawn[0] == drawn[1] == drawn[2]


def test_every_enum_value_and_both_ends_of_every_bound_are_edges():
    edges = {(s.template, s.constraint, s.bound) for s in strategies.edge_sites("CreateProcurementPortalPreference")}
    for value in ("SAP_BUSINESS_NETWORK", "COUPA"):
        assert ("ProcurementPortalName", "enum", value) in edges
    unit = {(s.template, s.constraint, s.bound) for s in strategies.edge_sites("CreateInvoiceUnit")}
    name = strategies.operation_model("CreateInvoiceUnit").input_shape.members["Name"].metadata
    assert ("Name", "max", name["max"]) in unit and ("Name", "min", name["min"]) in unit
    assert ("Rule.LinkedAccounts", "max", 1000) in unit


def test_edge_requests_are_valid_and_put_their_node_at_the_edge():
    for operation in ("CreateInvoiceUnit", "CreateProcurementPortalPreference", "ListInvoiceSummaries"):
        for site in strategies.edge_sites(operation):
            params = strategies.fixed_example(strategies.edge_requests(operation, site))
            assert not validate_request(operation, params), (operation, site.template, site.constraint)
            nodes = [params]  # every node the path can lead to (the edge is at one of the list items)
            for step in site.steps:
                nodes = [n[step[1]] for n in nodes if step[1] in n] if step[0] == "member" else \
                    [item for n in nodes for item in (n if step[0] == "item" else n.values())]
            if site.constraint == "enum" or site.shape.type_name not in ("string", "list", "map", "blob"):
                assert site.bound in nodes, (operation, site.template)
            else:
                assert site.bound in [len(n) for n in nodes], (operation, site.template, site.constraint)


def test_fixed_examples_at_different_points_differ():
    strategy = strategies.requests("CreateProcurementPortalPreference")
    drawn = [strategies.fixed_example(strategy, at=at) for at in range(4)]
    assert drawn == [strategies.fixed_example(strategy, at=at) for at in range(4)]  # fixed
    assert len({repr(d) for d in drawn}) == 4  # and distinct


def test_a_tag_list_at_its_maximum_holds_that_many_distinct_keys():
    """A count edge of a key-value list (tags) is that many keys: 200 copies of one tag are one tag."""
    for operation in ("TagResource", "CreateInvoiceUnit"):
        [site] = [s for s in strategies.edge_sites(operation) if (s.template, s.constraint) == ("ResourceTags", "max")]
        for at in (0, 3):
            params = strategies.fixed_example(strategies.edge_requests(operation, site), at=at)
            keys = [tag["Key"] for tag in params["ResourceTags"]]
            assert len(keys) == site.bound == len(set(keys)), (operation, at)
            assert not validate_request(operation, params)
