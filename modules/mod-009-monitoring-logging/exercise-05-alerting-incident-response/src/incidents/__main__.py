"""``python -m incidents``: the same as the ``incidents`` command."""

from incidents.cli import main

main()
