"""``python -m exptrack``: the same as the ``exptrack`` command."""

from exptrack.cli import main

main()
