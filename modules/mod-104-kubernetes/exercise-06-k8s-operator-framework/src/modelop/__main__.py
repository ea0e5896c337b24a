"""``python -m modelop``: the same as the ``modelop`` command."""

from modelop.cli import main

main()
