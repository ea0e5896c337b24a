"""``python -m trainop``: the same as the ``trainop`` command."""

from trainop.cli import main

main()
