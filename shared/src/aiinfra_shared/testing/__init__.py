"""The pytest plugin of aiinfra-solutions (registered through the ``pytest11`` entry point)."""
