"""The Beam jobs' options, without Beam: the CLI builds its parser from these without paying
for Beam's import (seconds), and each job module imports them from here."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from pipelines import segments
from vocals2song import flags, render
from vocals2song.config import MUSDB_SUBSETS, STEMS, SpectralConfig, stem_list

SHARD_EXTENSIONS = {"none": ".tfrecord", "gzip": ".tfrecord.gz"}  # by --compression


@dataclasses.dataclass(frozen=True)
class DatasetOptions:
    """Everything the job needs besides the Beam options. Defaults are the design's.

    Attributes:
      musdb_root: MUSDB18-HQ root (local or gs://) with train/ and test/.
      output_dir: where the data set is written (local or gs://).
      stems: comma-separated stems to store, from vocals, mixture, accompaniment, drums, bass, other.
      channels: downmix ("mono") or keep "stereo".
      spectral: how audio becomes a spectrogram (every field a flag).
      hop_seconds: segment hop in seconds (default: no overlap).
      min_vocal_db: skip segments whose vocals' RMS is below this dBFS (counted).
      valid_fraction: share of train tracks for valid when the official validation tracks are absent.
      tracks_per_shard: tracks written into one shard.
      compression: shard compression.
      overwrite: replace a data set already in --output_dir.
      dry_run: print the plan and the size estimate, write nothing.
    """

    musdb_root: str
    output_dir: str
    stems: tuple[str, ...] = dataclasses.field(default=("vocals", "mixture"), metadata={"parse": stem_list})
    channels: str = dataclasses.field(default="mono", metadata={"choices": sorted(segments.CHANNELS)})
    spectral: SpectralConfig = SpectralConfig()
    hop_seconds: float | None = None
    min_vocal_db: float | None = None
    valid_fraction: float = 0.14
    tracks_per_shard: int = 1
    compression: str = dataclasses.field(default="none", metadata={"choices": sorted(SHARD_EXTENSIONS)})
    overwrite: bool = False
    dry_run: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.stems) - set(STEMS)
        if unknown or not self.stems:
            raise ValueError(f"--stems must name some of {', '.join(STEMS)}; got {', '.join(self.stems) or 'none'}")
        if self.channels not in segments.CHANNELS:
            raise ValueError(f"--channels must be mono or stereo, got {self.channels!r}")
        if self.compression not in SHARD_EXTENSIONS:
            raise ValueError(f"--compression must be none or gzip, got {self.compression!r}")
        if not 0 <= self.valid_fraction < 1:
            raise ValueError(f"--valid_fraction must be in [0, 1), got {self.valid_fraction}")
        if self.hop_seconds is not None and self.hop_seconds <= 0:
            raise ValueError(f"--hop_seconds must be positive, got {self.hop_seconds}")

    @property
    def segment_options(self) -> segments.SegmentOptions:
        return segments.SegmentOptions(
            config=self.spectral,
            stems=self.stems,
            channels=self.channels,
            hop_seconds=self.hop_seconds,
            min_vocal_db=self.min_vocal_db,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The job's own flags (DatasetOptions' and SpectralConfig's fields); anything else on the
    command line is a Beam option."""
    flags.add_arguments(parser, DatasetOptions)


def make_options(musdb_root: str, output_dir: str, **values: Any) -> DatasetOptions:
    """DatasetOptions from flat flag values (``segment_seconds=2.0, stems=("vocals",)``)."""
    fixed = {"musdb_root": musdb_root, "output_dir": output_dir}
    return flags.build(DatasetOptions, values, skip=tuple(fixed), what="dataset", **fixed)


def options_from_args(args: argparse.Namespace) -> DatasetOptions:
    return make_options(**flags.pick(args, flags.names(DatasetOptions)))


@dataclasses.dataclass(frozen=True)
class RenderJobOptions:
    """Where scores come from and where tracks go; how they sound is ``render``."""

    output_dir: str
    render: render.RenderOptions = render.RenderOptions()
    bach: tuple[int, int] | None = None  # [first, last) of the Bach corpus without its reserved tail
    scores_dir: str | None = None
    melody_track: str | None = None
    split: str = "train"
    every: tuple[int, int] = (1, 0)  # (n, k): only sources whose index % n == k (a dev list) ...
    except_every: tuple[int, int] | None = None  # ... or all but those (its training complement)

    def __post_init__(self) -> None:
        if (self.bach is None) == (self.scores_dir is None):
            raise ValueError("give exactly one source: --bach FIRST:LAST or --scores_dir DIR")
        if self.split not in MUSDB_SUBSETS:
            raise ValueError(f"--split must be one of {', '.join(MUSDB_SUBSETS)}, got {self.split!r}")


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = render.RenderOptions()
    add = parser.add_argument
    add("--output_dir", required=True, help="MUSDB18-HQ-layout root to write (local or gs://)")
    add("--bach", default=None, help="FIRST:LAST entries of music21's Bach corpus (the reserved tail refused)")
    add("--scores_dir", default=None, help="a folder of MIDI or MusicXML files instead (melody -> vocals)")
    add("--melody_track", default=None, help="MIDI track name of the melody (default: the highest track)")
    add("--split", default="train", choices=MUSDB_SUBSETS, help="subset folder the tracks go to")
    add("--every", default="1:0", help="N:K keeps the sources whose index %% N == K (a dev list)")
    add("--except_every", default=None, help="N:K drops the sources whose index %% N == K (the training complement)")
    add("--soundfont", default=defaults.soundfont, help="General MIDI .sf2 (MuseScore General is refused)")
    add("--keys", type=int, default=defaults.keys, help="transpositions per score, distinct, from -5 to +6")
    add("--tempo", default=":".join(f"{t:g}" for t in defaults.tempo_range), help="MIN:MAX quarter notes per minute")
    add("--max_seconds", type=float, default=defaults.max_seconds, help="longer renders are cut")
    add("--seed", type=int, default=defaults.seed, help="decides keys, tempi, programs, velocities")


def render_options_from_args(args: argparse.Namespace) -> RenderJobOptions:
    return RenderJobOptions(
        output_dir=args.output_dir,
        render=render.RenderOptions(
            soundfont=args.soundfont,
            keys=args.keys,
            tempo_range=flags.pair(args.tempo, float),
            max_seconds=args.max_seconds,
            seed=args.seed,
        ),
        bach=flags.pair(args.bach) if args.bach else None,
        scores_dir=args.scores_dir,
        melody_track=args.melody_track,
        split=args.split,
        every=flags.pair(args.every),
        except_every=flags.pair(args.except_every) if args.except_every else None,
    )
