from conformance.cli import entrypoint

entrypoint()
