"""``python -m cupiform``: the same as the ``cupiform`` command."""

import sys

from cupiform.cli import main

sys.exit(main())
