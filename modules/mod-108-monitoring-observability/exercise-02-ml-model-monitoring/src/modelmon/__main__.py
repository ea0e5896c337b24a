"""``python -m modelmon``."""

from modelmon.cli import main

main()
