"""``python -m envmgr``: the same as the ``envmgr`` command."""

from envmgr.cli import main

main()
