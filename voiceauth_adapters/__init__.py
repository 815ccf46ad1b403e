"""Adapters: the ports of ``voiceauth_core`` over real technologies, one package each."""
