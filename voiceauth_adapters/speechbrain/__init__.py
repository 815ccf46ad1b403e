"""SpeechBrain's ECAPA-TDNN: verified provisioning of the official files and the embedding model."""

from voiceauth_adapters.speechbrain.model import SpeechBrainEcapa
from voiceauth_adapters.speechbrain.provisioning import (
    MODEL_ID,
    OFFICIAL_SHA256,
    ModelIntegrityError,
    ModelUnavailableError,
    ResolvedModel,
    cached_model_dir,
    resolve_model,
    verify_model_dir,
)

__all__ = [
    "MODEL_ID",
    "OFFICIAL_SHA256",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "ResolvedModel",
    "SpeechBrainEcapa",
    "cached_model_dir",
    "resolve_model",
    "verify_model_dir",
]
