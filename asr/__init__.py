"""asr: a CTC speech recognizer: log-mel front end, strided-conv subsampling, Conformer encoder.

import asr
model = asr.load_model("exp/model")      # or asr.load_model() for the bundled default
print(model.transcribe("audio.wav").text)
"""

from .adapt import Adaptation, SpeakerAdaptation
from .audio import SAMPLE_RATE, load_audio
from .errors import ASRError, AudioError, ConfigError, ManifestError, ModelError, TokenizerError
from .model import CTCModel, ModelConfig
from .loading import available_models, load_model
from .transcribe import ASRModel, Segment, Transcript, Word

__version__ = "0.1.0"

__all__ = [
    "SAMPLE_RATE",
    "load_audio",
    "load_model",
    "available_models",
    "ASRModel",
    "Transcript",
    "Segment",
    "Word",
    "CTCModel",
    "ModelConfig",
    "Adaptation",
    "SpeakerAdaptation",
    "ASRError",
    "AudioError",
    "ConfigError",
    "ManifestError",
    "ModelError",
    "TokenizerError",
]
