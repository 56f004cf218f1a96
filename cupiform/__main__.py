"""``python -m cupiform``: the same as the ``cupiform`` command."""

from cupiform.cli import console

console()
