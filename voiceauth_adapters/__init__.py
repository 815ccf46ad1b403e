"""Adapters: the ports of ``voiceauth_core`` implemented over real technologies, one package each."""
