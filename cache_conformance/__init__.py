"""The application above the harness and the proofs: the `cache-conformance` command line,
the report, the seeds' claims register and the write-policy benchmark.

    from cache_conformance.cli import main
    main(["check", "mypkg.cache:factory", "--policy", "write-through"])

Layers (imports point downwards only): this package -> `conformance`, `proofs`,
`implementations` -> `model`. Nothing below imports this package.
"""
