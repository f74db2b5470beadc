"""The catalogue of planted faults (`invoicing-contracts mutants`): each variant's name -> `Variant`. The variants
register themselves with `@planted(fault, expected)`; `invoicing_mock.mutants` imports every module that defines
some (itself, `planted`, `rare_paths`), so importing it fills the catalogue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    cls: type
    fault: str  # what it gets wrong, in one line
    expected: str  # the suite property expected to catch it (contracts.checks.PROPERTIES id)

    @property
    def spec(self) -> str:
        """The `--mock-backend` value that runs the suite against this variant."""
        return f"{self.cls.__module__}:{self.name}"


CATALOGUE: dict[str, Variant] = {}


def planted(fault: str, expected: str):
    """Class decorator: put the variant into the catalogue (names are unique)."""

    def register(cls: type) -> type:
        add(cls, fault, expected)
        return cls

    return register


def add(cls: type, fault: str, expected: str) -> None:
    if cls.__name__ in CATALOGUE:
        raise ValueError(f"a variant named {cls.__name__} is already in the catalogue")
    CATALOGUE[cls.__name__] = Variant(cls.__name__, cls, fault, expected)
