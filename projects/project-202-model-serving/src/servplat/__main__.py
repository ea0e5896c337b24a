"""``python -m servplat``: the same as the ``servplat`` command."""

from servplat.cli import main

main()
