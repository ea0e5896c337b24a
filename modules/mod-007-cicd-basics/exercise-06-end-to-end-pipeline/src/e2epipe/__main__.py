"""``python -m e2epipe``: the same as the ``e2epipe`` command."""

from e2epipe.cli import main

main()
