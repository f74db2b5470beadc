"""The contract suite: the stateless contracts, the idempotency state machines, the read contracts and the fault
properties, as pytest modules that ship in the package.

`invoicing-contracts run` collects them with `pytest --pyargs contracts.suite`; so can a team's own pytest
session, with the options the `invoicing_contracts` plugin (contracts.plugin) registers.
"""
