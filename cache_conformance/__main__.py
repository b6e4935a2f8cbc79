from cache_conformance.cli import entrypoint

entrypoint()
