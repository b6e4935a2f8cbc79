"""The subcommands of `cache-conformance`, one module each (a module may hold a family:
`prove` holds prove, explore and scenario). Each defines `COMMANDS`, a tuple of
`cache_conformance.command.Command`; `cache_conformance.cli.MODULES` lists the modules.

A module imports what its subcommand runs inside `run` (and what its options need inside
`arguments`): every module is imported for every command line, to list them in the help.
"""
