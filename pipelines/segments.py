"""One track -> its stems as waveforms -> 15 s segments of float16 STFTs.

Every check that can reject a track (missing stem, unreadable, truncated, empty, unequal
rates or lengths, non-finite samples) runs before the first segment is written, so a bad
track never leaves half its segments in a shard.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np

from vocals2song import audio, codec, storage
from vocals2song.config import ACCOMPANIMENT_PARTS, SpectralConfig
from vocals2song.schema import Segment

CHANNELS = {"mono": 1, "stereo": 2}


class TrackError(ValueError):
    """A track cannot be used; ``file`` is the offending file (or the folder)."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class SegmentOptions:
    """How tracks become segments.

    Attributes:
      config: spectral config (sample rate, STFT, segment length).
      stems: stems stored per segment.
      channels: "mono" (downmix) or "stereo".
      hop_seconds: distance between segment starts; None means one segment length.
      min_vocal_db: segments whose vocals' RMS is below this (dBFS) are skipped; None keeps all.
    """

    config: SpectralConfig
    stems: tuple[str, ...]
    channels: str = "mono"
    hop_seconds: float | None = None
    min_vocal_db: float | None = None

    @property
    def hop_samples(self) -> int:
        if self.hop_seconds is None:
            return self.config.segment_samples
        return int(round(self.hop_seconds * self.config.sample_rate))

    @property
    def files(self) -> tuple[str, ...]:
        """The stem files a track must have: the stored stems' sources, and vocals when
        the silence filter needs them."""
        needed = []
        for stem in self.stems + (("vocals",) if self.min_vocal_db is not None else ()):
            for name in ACCOMPANIMENT_PARTS if stem == "accompaniment" else (stem,):
                if name not in needed:
                    needed.append(name)
        return tuple(needed)


def segment_starts(length: int, segment: int, hop: int) -> list[int]:
    """Start samples covering ``length`` samples: the last segment is the first that
    reaches the end (it is zero-padded)."""
    count = 1 + max(0, math.ceil((length - segment) / hop))
    return [index * hop for index in range(count)]


def check_headers(folder: str, options: SegmentOptions) -> audio.AudioInfo:
    """Checks the headers of a track's stem files against the mixture's (or the first
    file's) and returns that reference header; the odd file out is the one named."""
    infos = []
    for name in sorted(options.files, key=lambda name: name != "mixture"):
        path = storage.join(folder, f"{name}.wav")
        if not storage.exists(path):
            raise TrackError(path, f"missing stem: {name}.wav is not in the track folder")
        try:
            header = audio.info(path)
            audio.AudioLimits().check(header)
            infos.append(header)
        except audio.AudioError as error:
            raise TrackError(path, str(error).removeprefix(f"{path}: ")) from error
    first = infos[0]
    for other in infos[1:]:
        if other.sample_rate != first.sample_rate:
            raise TrackError(
                other.path, f"sample rate {other.sample_rate} Hz differs from {first.path} ({first.sample_rate} Hz)"
            )
        if other.frames != first.frames:
            raise TrackError(
                other.path,
                f"{other.frames:,} frames, {first.path} has {first.frames:,}: stems must have equal length",
            )
    return first


def load_stems(folder: str, options: SegmentOptions) -> dict[str, np.ndarray]:
    """Reads, downmixes and resamples a track's stems: name -> float32 (channels, samples)."""
    check_headers(folder, options)
    loaded = {}
    for name in options.files:
        path = storage.join(folder, f"{name}.wav")
        try:
            waveform, rate = audio.read(path)
        except audio.AudioError as error:
            raise TrackError(path, str(error).removeprefix(f"{path}: ")) from error
        waveform = audio.to_channels(waveform, CHANNELS[options.channels])
        loaded[name] = audio.resample(waveform, rate, options.config.sample_rate)
    if "accompaniment" in options.stems:
        loaded["accompaniment"] = sum(loaded[name] for name in ACCOMPANIMENT_PARTS)
    return loaded


@dataclasses.dataclass
class CutSegment:
    index: int
    start_sample: int
    valid_samples: int
    stems: dict[str, np.ndarray]  # stem -> float16 (channels, bins, frames, 2)

    def record(self, track: str, split: str, config: SpectralConfig) -> Segment:
        """The stored record of this segment of ``track``, encoded with ``config``."""
        return Segment(
            track=track,
            split=split,
            index=self.index,
            start_sample=self.start_sample,
            valid_samples=self.valid_samples,
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            stems=self.stems,
        )


def pieces(waveforms: dict[str, np.ndarray], options: SegmentOptions) -> Iterator[tuple[int, int, int, dict] | None]:
    """Yields ``(index, start_sample, valid_samples, {stem: float32 (channels, segment_samples)})``
    for each segment, zero-padded past the track's end, or None for a segment skipped as
    near-silent vocals. One segment at a time, whatever the track's length."""
    size = options.config.segment_samples
    length = next(iter(waveforms.values())).shape[1]
    for index, start in enumerate(segment_starts(length, size, options.hop_samples)):
        valid = min(size, length - start)
        if (
            options.min_vocal_db is not None
            and audio.rms_db(waveforms["vocals"][:, start : start + valid]) < options.min_vocal_db
        ):
            yield None
            continue
        stems = {}
        for stem in options.stems:
            stems[stem] = np.zeros((waveforms[stem].shape[0], size), dtype=np.float32)
            stems[stem][:, :valid] = waveforms[stem][:, start : start + valid]
        yield index, start, valid, stems


def cut(waveforms: dict[str, np.ndarray], options: SegmentOptions) -> Iterator[CutSegment | None]:
    """Yields each segment encoded, or None for a segment skipped as near-silent vocals.

    Encodes one segment at a time, so memory holds the track's waveforms and one
    segment's STFTs, whatever the track's length.
    """
    for piece in pieces(waveforms, options):
        if piece is None:
            yield None
            continue
        index, start, valid, stems = piece
        yield CutSegment(index, start, valid, {stem: codec.encode(w, options.config) for stem, w in stems.items()})
