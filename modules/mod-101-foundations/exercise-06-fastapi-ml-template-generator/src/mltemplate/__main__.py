"""``python -m mltemplate``: the same as the ``mltemplate`` command."""

from mltemplate.cli import main

main()
