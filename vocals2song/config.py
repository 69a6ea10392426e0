"""The spectral configuration: the one object that says how audio becomes a spectrogram.

The dataset job records it in the manifest, and the trainer and generator read it back
from there, so a model can never be fed data encoded with other parameters.
"""

from __future__ import annotations

import dataclasses
from typing import Any

ACCOMPANIMENT_PARTS = ("drums", "bass", "other")
SOURCES = ("vocals", *ACCOMPANIMENT_PARTS)
"""MUSDB18's four sources: a track's mixture is their sum."""
MUSDB_FILES = ("mixture", *SOURCES)
"""The .wav files in each MUSDB18-HQ track folder."""
MUSDB_SUBSETS = ("train", "test")
"""MUSDB18-HQ's subset folders (the data set's valid split is carved out of train)."""
MUSDB_RATE = 44100
"""MUSDB18-HQ's sample rate, Hz: what the data sets, renders and synthetic tracks are made at."""
SEMITONES = 12
"""Semitones in an octave: pitch classes (transcription, harmony, retuning)."""

STEMS = ("vocals", "mixture", "accompaniment", *ACCOMPANIMENT_PARTS)
"""Stems a record may store. ``accompaniment`` is derived (drums + bass + other)."""

WITHOUT_VOCALS = ("accompaniment", *ACCOMPANIMENT_PARTS)
"""Stems that hold no vocal: a song is its vocal plus any of them that do not overlap."""


def stem_list(text: str) -> tuple[str, ...]:
    """A comma-separated list of stems ("drums, bass,other") as a tuple, blanks dropped."""
    return tuple(stem.strip() for stem in text.split(",") if stem.strip())


class ConfigMismatchError(ValueError):
    """Data was encoded with a spectral configuration other than the reader's."""


@dataclasses.dataclass(frozen=True)
class SpectralConfig:
    """STFT and segmenting parameters.

    Attributes:
      sample_rate: Hz. Audio at another rate is resampled to this one.
      n_fft: STFT window length in samples; ``n_fft // 2 + 1`` frequency bins.
      hop_length: STFT hop in samples.
      window: a window name scipy/librosa understand.
      segment_seconds: length of one training segment in seconds.
    """

    sample_rate: int = MUSDB_RATE
    n_fft: int = 1024
    hop_length: int = 256
    window: str = "hann"
    segment_seconds: float = 15.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_fft <= 0 or self.hop_length <= 0:
            raise ValueError(f"sample_rate, n_fft and hop_length must be positive: {self}")
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length {self.hop_length} exceeds n_fft {self.n_fft}")
        if self.segment_seconds <= 0:
            raise ValueError(f"segment_seconds must be positive, got {self.segment_seconds}")

    @property
    def bins(self) -> int:
        """Frequency bins of one STFT frame (513 for n_fft 1024)."""
        return self.n_fft // 2 + 1

    @property
    def segment_samples(self) -> int:
        """Samples in one segment (661,500 for 15 s at 44.1 kHz)."""
        return int(round(self.segment_seconds * self.sample_rate))

    def frames(self, samples: int) -> int:
        """STFT frames for ``samples`` samples with centred frames (2584 for 15 s)."""
        return 1 + samples // self.hop_length

    @property
    def segment_frames(self) -> int:
        return self.frames(self.segment_samples)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SpectralConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown spectral config keys {sorted(unknown)}")
        return cls(**values)

    def check_matches(self, other: SpectralConfig, what: str) -> None:
        """Raises ConfigMismatchError naming every field in which ``other`` differs."""
        diffs = [
            f"{f.name}: {getattr(other, f.name)!r} (expected {getattr(self, f.name)!r})"
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]
        if diffs:
            raise ConfigMismatchError(f"{what} was encoded with another spectral config: " + "; ".join(diffs))
