"""``python -m mlflows``: the same as the ``mlflows`` command."""

from mlflows.cli import main

main()
