from cache_conformance.cli import entrypoint  # the application's command line; nothing imports this module

entrypoint()
