"""``python -m tracking``: the same as the ``tracking`` command."""

from tracking.cli import main

main()
