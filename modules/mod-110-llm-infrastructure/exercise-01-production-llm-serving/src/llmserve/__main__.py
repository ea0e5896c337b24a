"""``python -m llmserve``: the same as the ``llmserve`` command."""

from llmserve.cli import main

main()
