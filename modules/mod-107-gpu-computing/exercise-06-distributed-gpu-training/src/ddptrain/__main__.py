"""``python -m ddptrain`` is the ``ddptrain`` command."""

from __future__ import annotations

from ddptrain.cli import main

main()
