"""`python -m contracts.cli`: the same as the `invoicing-contracts` command."""

import sys

from contracts.cli import main

sys.exit(main())
