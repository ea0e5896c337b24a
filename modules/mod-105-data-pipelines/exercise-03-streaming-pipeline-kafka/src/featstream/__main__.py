"""``python -m featstream``: the same as the ``featstream`` command."""

from featstream.cli import main

main()
