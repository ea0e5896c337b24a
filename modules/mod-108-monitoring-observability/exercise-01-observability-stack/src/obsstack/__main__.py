"""``python -m obsstack``: the same as the ``obsstack`` command."""

from obsstack.cli import main

main()
