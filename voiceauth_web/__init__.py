"""The HTTP service and command line: a thin Litestar shell wired by one dependency container."""
