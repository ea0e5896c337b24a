"""``python -m costopt``: the same as the ``costopt`` command."""

from costopt.cli import main

main()
