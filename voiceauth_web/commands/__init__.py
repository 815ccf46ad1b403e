"""Sub-commands of the ``voiceauth`` command line, one module per group."""
