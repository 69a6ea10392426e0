"""Per-frequency-bin mean and std of log-magnitude, accumulated per shard and combined.

Each shard writer accumulates its own sums (a few KB) and a CombineFn adds them up, so
the statistics of the whole train split cost no pass over the data and no grouping of
the segment tensors.
"""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import numpy as np

from vocals2song import codec, features


@dataclasses.dataclass
class BinMoments:
    """Frame count and per-bin sums of x and x^2, in float64."""

    count: int
    total: np.ndarray
    squares: np.ndarray

    @classmethod
    def zeros(cls, bins: int) -> BinMoments:
        return cls(0, np.zeros(bins), np.zeros(bins))

    def add_frames(self, log_magnitude: np.ndarray) -> None:
        """Adds ``(..., bins, frames)`` log-magnitudes; every leading index and frame counts once."""
        frames = np.moveaxis(log_magnitude, -2, -1).reshape(-1, log_magnitude.shape[-2]).astype(np.float64)
        self.count += frames.shape[0]
        self.total += frames.sum(axis=0)
        self.squares += np.square(frames).sum(axis=0)

    def merge(self, other: BinMoments) -> None:
        self.count += other.count
        self.total += other.total
        self.squares += other.squares

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.total / max(self.count, 1)
        variance = np.maximum(self.squares / max(self.count, 1) - np.square(mean), 0.0)
        return mean, np.sqrt(variance)


def add_segment(moments: dict[str, BinMoments], stems: dict[str, np.ndarray], valid_frames: int) -> None:
    """Adds a segment's valid (unpadded) frames of each stored stem to ``moments``, and of the
    accompaniment (mixture - vocals) when it is not stored, so a model of the derived target
    and the average-accompaniment baseline get the accompaniment's own statistics.

    Stereo is averaged first: the features see the mid channel's log-magnitude, not the
    left and the right ones.
    """
    spectra = {stem: codec.stored_to_complex(array[:, :, :valid_frames]).mean(axis=0) for stem, array in stems.items()}
    if "accompaniment" not in spectra and {"mixture", "vocals"} <= spectra.keys():
        spectra["accompaniment"] = spectra["mixture"] - spectra["vocals"]
    for stem, spectrum in spectra.items():
        moments.setdefault(stem, BinMoments.zeros(spectrum.shape[0])).add_frames(features.log_magnitude(spectrum))


class CombineStats(beam.CombineFn):
    """Sums per-shard ``{stem: BinMoments}`` -> ``{stem: {"mean": [...], "std": [...], "frames": n}}``."""

    def create_accumulator(self) -> dict[str, BinMoments]:
        return {}

    def add_input(self, accumulator: dict[str, BinMoments], moments: dict[str, BinMoments]) -> dict[str, BinMoments]:
        for stem, part in moments.items():
            if stem in accumulator:
                accumulator[stem].merge(part)
            else:
                accumulator[stem] = BinMoments(part.count, part.total.copy(), part.squares.copy())
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            self.add_input(merged, accumulator)
        return merged

    def extract_output(self, accumulator: dict[str, BinMoments]) -> dict[str, dict]:
        output = {}
        for stem, moments in sorted(accumulator.items()):
            mean, std = moments.mean_std()
            output[stem] = {"mean": mean.tolist(), "std": std.tolist(), "frames": moments.count}
        return output
