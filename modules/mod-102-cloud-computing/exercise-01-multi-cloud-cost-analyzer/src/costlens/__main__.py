"""``python -m costlens``: the same as the ``costlens`` command."""

from costlens.cli import main

main()
