"""The public entry points, resolved by operation name; compiled strategies are cached per arguments."""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from strategies._compile import Compiler
from strategies._coverage import edge_request, edge_sites as _edge_sites
from strategies._model import operation_model
from strategies._mutations import mutation_strategy
from strategies._patterns import Contradiction
from strategies._violations import (
    Site, ambiguous_for_site, ambiguous_sites, invalid_for_site, sites_of,
)
from strategies.hints import Hints


def _input_shape(operation: str, service: str):
    shape = operation_model(operation, service).input_shape
    if shape is None:
        raise ValueError(f"{service} {operation} takes no input: there is nothing to generate")
    return shape


def _unbuildable(reason: str) -> st.SearchStrategy:
    """Fail at draw time with the reason, never at import or collection time."""

    def fail(_):
        raise Contradiction(reason)

    return st.just(None).map(fail)


@functools.lru_cache(maxsize=None)
def requests(operation: str, *, valid: bool = True, service: str = "invoicing", hints: Hints | None = None):
    """Valid request dicts (Python form, as boto3 takes them), or InvalidRequest values when valid=False.

    An invalid draw picks one violation site of the operation uniformly, then breaks only that.
    """
    shape = _input_shape(operation, service)
    compiler = Compiler(hints)
    try:
        if valid:
            return compiler.valid(shape)
        sites = sites_of(shape)
        return st.sampled_from(sites).flatmap(lambda site: _site_strategy(operation, service, hints, site))
    except Contradiction as error:
        return _unbuildable(f"{service} {operation}: {error}")


@functools.lru_cache(maxsize=None)
def _site_strategy(operation, service, hints, site):
    return invalid_for_site(operation, _input_shape(operation, service), site, Compiler(hints))


@functools.lru_cache(maxsize=None)
def violation_sites(operation: str, *, service: str = "invoicing") -> tuple[Site, ...]:
    """Every (member, constraint) an invalid request of `operation` can break, in model order."""
    return tuple(sites_of(_input_shape(operation, service)))


def invalid_requests(operation: str, site: Site, *, service: str = "invoicing", hints: Hints | None = None):
    """InvalidRequest values breaking exactly `site` (one of `violation_sites(operation)`): for sweeps."""
    return _site_strategy(operation, service, hints, site)


@functools.lru_cache(maxsize=None)
def ambiguous_requests(operation: str, *, service: str = "invoicing", hints: Hints | None = None):
    """AmbiguousRequest values: a member matches its pattern somewhere but not as a whole value.

    Targets may read patterns either way, so these document a target's reading; they never fail it.
    An operation without such members gives an empty strategy (`st.nothing()`).
    """
    shape = _input_shape(operation, service)
    compiler = Compiler(hints)
    sites = ambiguous_sites(shape)
    if not sites:
        return st.nothing()
    return st.one_of([ambiguous_for_site(operation, shape, site, compiler) for site in sites])


def mutations(operation: str, params: dict, *, service: str = "invoicing", hints: Hints | None = None):
    """Mutation values: valid requests differing from `params` in exactly one field (tokens excluded)."""
    return mutation_strategy(_input_shape(operation, service), params, Compiler(hints))


@functools.lru_cache(maxsize=None)
def edge_sites(operation: str, *, service: str = "invoicing") -> tuple[Site, ...]:
    """Every edge of `operation`'s input: each bounded node at min and at max, each enum value (layer "valid")."""
    return tuple(_edge_sites(_input_shape(operation, service)))


def edge_requests(operation: str, site: Site, *, service: str = "invoicing", hints: Hints | None = None):
    """Valid request dicts with the node of `site` (one of `edge_sites(operation)`) at that edge."""
    return _edge_strategy(operation, service, hints, site)


@functools.lru_cache(maxsize=None)
def _edge_strategy(operation, service, hints, site):
    return edge_request(_input_shape(operation, service), site, Compiler(hints))


def fixed_example(strategy: st.SearchStrategy, *, at: int = 0):
    """One value of `strategy` that depends only on the strategy and `at`, never on the run's seed: what a
    coverage phase sends whatever seed explores afterwards. Hypothesis draws it (so filters and composites work)
    under a fixed seed, generating only: no database, no shrinking, no health checks. `at=0` is Hypothesis's
    simplest value; another `at` a random one drawn under seed `at` (so drafts that must differ can)."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    out: list = []

    @seed(at)
    @settings(max_examples=1 if at == 0 else 2, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(value) -> None:
        out.append(value)

    draw()
    return out[-1]
