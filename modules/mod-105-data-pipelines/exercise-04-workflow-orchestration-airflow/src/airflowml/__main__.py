"""``python -m airflowml``: the same as the ``airflowml`` command."""

from airflowml.cli import main

main()
