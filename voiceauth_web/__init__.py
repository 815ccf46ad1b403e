"""The HTTP service and command line: a thin Litestar shell wired by a dependency-injector container."""
