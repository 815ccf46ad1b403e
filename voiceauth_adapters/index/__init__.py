"""The voiceprint index of identification (a numpy matrix) and its cross-replica events (Redis)."""

from voiceauth_adapters.index.matrix import MatrixVoiceprintIndex

__all__ = ["MatrixVoiceprintIndex"]
