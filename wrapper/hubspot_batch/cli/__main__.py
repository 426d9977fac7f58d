"""``python -m hubspot_batch.cli``: the same as the ``hubspot-batch`` command."""

import sys

from . import main

sys.exit(main())
