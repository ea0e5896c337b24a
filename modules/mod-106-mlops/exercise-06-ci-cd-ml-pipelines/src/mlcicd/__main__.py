"""``python -m mlcicd``: the same as the ``mlcicd`` command."""

from mlcicd.cli import main

main()
