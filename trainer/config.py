"""Every option of the trainer's commands in one TensorFlow-free place: the dataclasses that hold
the defaults of ``vocals2song train``, ``generate`` and ``evaluate``, the flags derived from them,
and the keyword options of the Python API.

Kept apart from the trainer so that building the command line (and ``vocals2song --help``)
does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from vocals2song import flags
from vocals2song.config import stem_list
from vocals2song.features import FeatureConfig
from vocals2song.manifest import SPLITS

GENERATORS = ("unet", "temporal")
RECONSTRUCTIONS = ("l1", "compressed_l2")
CHROMA_OF = ("target", "song")
EXPORT_STEPS = ("last", "best_valid")
PHASES = ("auto", "predicted", "griffinlim", "source")
HARMONY_CHOICES = ("auto", "notes", "head")
HARMONISER_FILE = "harmoniser.keras"
"""The note-level harmoniser in an export folder, beside the generator (``trainer/harmoniser.py``)."""
PLAYED_CHORDS = ("add", "only")
"""What a model that plays chords plays them with, per song (``export.playing``, the page's
Accompaniment): beside the generator's accompaniment or instead of it; "only" with ``--changes bar``
is what measured best on songs (docs/model-notes.md, "Songs")."""
CHORDS_CHOICES = ("auto", "none", *PLAYED_CHORDS)
CHORDS_WITH_A_HARMONISER = "add"
"""What ``--chords auto`` plays when the export ships a harmoniser and FluidSynth is here:
measured on the dev chorales (docs/model-notes.md, "Chords as notes")."""
CHORD_LEVEL_DB = -4.5
"""Played chords' RMS against the vocal's: the training chorales' accompaniment sits 4.5 dB above
its vocal (median of 34 renders); added to the generator's, chords 9 dB under that scored as well
on the dev set as 6 dB under (song chroma 0.543 against 0.544) at 0.9 dB less LSD: a hedged
harmony is better quiet."""
VOICINGS = ("led", "chordal", "consonant", "hedged")
"""How a note's predicted pitch classes become a chord (``trainer/chords.py``); the first is the
default: "consonant" plays at most three of the likely classes and none a semitone from another
or from the sung note, "chordal" the same but only classes that make one chord of stacked thirds
with those taken (``chord_names.tertian``), right under the melody, "led" the chordal classes each
placed near the chord before's notes (``chords.LED_SPAN``), "hedged" every class above the mean.
On the dev chorales all four score 0.553-0.555 song chroma (led 0.553 / LSD 16.21, chordal 0.554
/ 16.34, consonant 0.554 / 16.35); the hedged chords held a semitone clash in 55% of notes, the
consonant ones mixed two chords (Db-F-A, C-F-G) in 8%, the chordal ones' upper voices leapt more
than four semitones in 6.0% of their moves and followed the melody's in 67% (led 2.8% and 45%;
docs/model-notes.md, "Chords a listener can stand", "One chord at a time", "Voices that hold")."""
RHYTHMS = ("held", "beat", "arpeggio")
"""When a chord is struck (``trainer/chords.py``); the first is the default: "held" once with each
sung note and held through it, "beat" struck again on every beat of the sung tempo while it lasts
(``vocals2song/beat.py``), so a long note gets a pulse under it, "arpeggio" broken: the bass
held through the chord, the upper notes one at a time on the half beats, low to high and back,
each ringing until picked again (a pianist's hands; docs/model-notes.md, "Broken chords")."""
PLAYED_CHANGES = ("beat", "note", "half", "bar")
"""How often the played chords change (``trainer/chords.py``, the harmonic rhythm): "beat" a chord
under each sung note, but a run of notes shorter than a beat shares one chord a beat (the
chorales' song chroma of "note", a tenth fewer chords on songs and half as many under a reel's
eighths; docs/model-notes.md, "Songs"), "note" a chord under every sung note (as the chorales are
set), "half" one a half bar where a bar's beats halve (one a bar in 3/4), "bar" one a bar: each
the triad that best fits its sung notes and their predictions (``chords.triad``), root in the
bass, for a song that wants fewer changes and a lead sheet a guitarist can play
(docs/model-notes.md, "How often the chords change")."""
CHANGES = ("auto", *PLAYED_CHANGES)
"""``--changes``; the first is the default: "auto" reads each take (``trainer/style.py``): a melody
that reads as a song gets ``SONG_CHANGES``, its chords alone, any other "beat", the chorales' harmonic rhythm."""
SONG_CHANGES = "bar"
"""What ``--changes auto`` plays under a take that reads as a song: a triad a bar, played alone
(the generator's accompaniment, learnt from chorales, left out, as ``--chords only`` does): on
21 songs the one setting above the vocal alone (song chroma +0.011), where the chorales' setting
fell below it (-0.013; docs/model-notes.md, "Songs", "Hymn or song"). A named ``--changes``
keeps ``--chords`` for every take."""
SONG_STEP_SHARE = 0.66
"""A take whose melody moves by step (one or two semitones; repeated notes not counted) in fewer
than this share of its moves reads as a song: a chorale's soprano moves by step in 83% of its
moves (median of 170 training renders), a folk song's in 58% (275 Essen songs and Aird's airs
sung with the training soundfont); 0.66 is the training chorales' 5th percentile, so 1 in 20 is
misread (``make hymn-or-song``; docs/model-notes.md, "Hymn or song")."""
MIN_MOVES = 8
"""A melody with fewer moves than this is too short to read, and plays as a chorale."""
INSTRUMENTS = {
    "strings": {"bass": 42, "other": 48},
    "organ": {"bass": 19, "other": 19},
    "piano": {"bass": 0, "other": 0},
    "guitar": {"bass": 32, "other": 24},
    "choir": {"bass": 52, "other": 52},
}
"""General MIDI programs of the played chords' bass and upper notes, by the name a listener picks
(``--instrument``); the first is the default: cello and string ensemble, church organ, acoustic
grand piano, acoustic bass and nylon guitar, choir aahs (docs/model-notes.md, "Instruments")."""
INSTRUMENT_CHOICES = tuple(INSTRUMENTS)
DRUM_STYLES = ("none", "backbeat")
"""Drums on the sung beats (``trainer/drums.py``); the first is the default: the chorales have
none, and drums they never had cost the dev set's scores (docs/model-notes.md, "Drums")."""
DRUMS_LEVEL_DB = -12.0
"""Played drums' RMS against the vocal's: under the voice and the chords (``CHORD_LEVEL_DB``); at
-6 dB they cost the dev set four times the chroma (docs/model-notes.md, "Drums")."""
CHORDS_STEM, DRUMS_STEM = "chords", "drums"
"""The played parts' stems in a generated song, beside the generator's (``generate.stem_names``):
a listener balances or mutes each on the page or in ``--stems``."""
MELODY_PROGRAM = 53
"""Voice oohs: the transcribed melody's program in a written MIDI file (``generate`` writes one
beside the song)."""
ENCODE_PLACES = ("input", "step")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which networks, and their sizes.

    Attributes:
      generator: "unet" (pix2pix's image-to-image U-Net) or "temporal" (each frame's spectrum
        as one vector, dilated 1-D convolutions over time: a few seconds of context on either
        side at a small fraction of the U-Net's cost per step).
      filters: filters of the first encoder block; doubled per block up to 8x.
      depth: encoder blocks (8 in pix2pix: 512 bins -> 2); input sides must divide by 2**depth.
      dropout: rate in the first three decoder blocks (0.5 in pix2pix; 0 makes steps
        deterministic, which the replica-equivalence test needs).
      disc_filters: filters of the first discriminator block (64 in pix2pix, 70x70 patches).
      temporal_channels: width of the temporal generator.
      temporal_layers: residual blocks of the temporal generator; block i is dilated 2**(i % 8), so 8 blocks see
        255 frames (1.5 s at hop 256) on either side.
      pitch_context: the generator's input gains twelve channels per row: the source frame's
        pitch-class profile read at that row's pitch class plus 0..11 semitones (harmony in the
        first layer; see trainer/layers.py).
      harmony: a harmony head: a small dilated 1-D network over the source's pitch-class profile
        predicts the target's pitch classes per frame (trained on its own loss: correlation with
        the target's chroma), and the generator's input gains twelve channels per row, that
        prediction read at the row's pitch class plus 0..11 semitones.
      harmony_channels: width of the harmony head.
      harmony_layers: residual blocks of the harmony head; block i is dilated 2**i.
      harmony_transposable: the head treats the pitch classes as a circle, one weight per
        interval, so transposing the voice by k semitones transposes its prediction by k (every
        key learns from every chorale).
    """

    generator: str = dataclasses.field(default="unet", metadata={"choices": GENERATORS})
    filters: int = 64
    depth: int = 8
    dropout: float = 0.5
    disc_filters: int = 64
    temporal_channels: int = 256
    temporal_layers: int = 8
    pitch_context: bool = False
    harmony: bool = False
    harmony_channels: int = 64
    harmony_layers: int = 8
    harmony_transposable: bool = False

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this: the U-Net halves them depth times."""
        return 2**self.depth if self.generator == "unet" else 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class InputConfig:
    """How examples are drawn.

    Attributes:
      source: source stem.
      target: target stem, or comma-separated stems ("drums,bass,other"): one generator writes
        each as its own group of feature channels; "accompaniment" is mixture - vocals when not
        stored. With source "mixture" and target "vocals" the model is a separator.
      crop_frames: STFT frames per training crop (512 frames = 3 s at 44.1 kHz, hop 256).
      crops_per_segment: random crops drawn from each segment per pass.
      shuffle_buffer: crops held for shuffling (each 2 x 512 x crop_frames x C float32).
      timbre_jitter: in training, each source crop's normalised log-magnitude gets a random
        smooth curve over frequency with this standard deviation (a random equaliser), so the
        model keys on pitch, not on one soundfont's or one singer's timbre (0: off).
      noise_snr_db: in training, each source crop gets white noise at a signal-to-noise ratio drawn
        uniformly between this and ``NOISE_SNR_CEILING_DB`` (the crop's mean power over its
        noise's), as a take recorded in a room arrives; the target stays clean, so the model
        learns to play under a noisy take what it plays under a clean one (0: off).
      level_match: every crop's source and target are scaled by the one gain that brings the
        source to the training sources' typical level (``source_level``), the level generation
        brings every take to before the generator and undoes after. Without it the model learns
        at natural levels and, not being level-equivariant, puts its stems at a level that
        generation's gain then shifts (docs/model-notes.md, "Stems", runs D3C-D3M).
      features: what the model sees.
      encode_on: where stored STFT crops become features in training: "input" (per crop in
        tf.data, on the host's CPU cores) or "step" (inside the train step, batched, on the
        accelerator; the input pipeline only parses and slices: 2.8x the examples/s here). Both give
        the same losses step for step on the same crops (tested); "input" is the default: on a
        CPU "step" is no faster, and two of five demo runs with it ended on a validation spike,
        none with "input" (docs/model-notes.md, "The demo's spread").
    """

    source: str = "vocals"
    target: str = "mixture"
    crop_frames: int = 512
    crops_per_segment: int = 4
    shuffle_buffer: int = 64
    timbre_jitter: float = 0.0
    noise_snr_db: float = 0.0
    level_match: bool = False
    features: FeatureConfig = FeatureConfig()
    encode_on: str = dataclasses.field(default="input", metadata={"choices": ENCODE_PLACES})

    @property
    def targets(self) -> tuple[str, ...]:
        """The target's stems, in channel order."""
        return stem_list(self.target)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of one training run (defaults are pix2pix's).

    Attributes:
      data_dir: data set made by `vocals2song dataset` (local or gs://).
      model_dir: checkpoints, summaries, logs and the export (local or gs://).
      steps: total steps to reach (a rerun resumes).
      batch_size: global batch, split across replicas.
      learning_rate: Adam learning rate.
      beta_1: Adam's first-moment decay (pix2pix: 0.5).
      reconstruction: the generator's reconstruction term: "l1" (pix2pix's, on normalised
        log-magnitude: per bin the median of the possible harmonies) or "compressed_l2" (squared
        error of magnitude ** 0.3: their mean, so every likely chord keeps its notes).
      l1_weight: weight of the reconstruction term in the generator loss.
      chroma_weight: weight of the chroma term (1 - per-frame pitch-class correlation with the target).
      loudness_weight: weight of the loudness term (mean |generated - true| frame level, in units
        of 10 dB): holds the accompaniment at the level it has under the voice.
      chroma_of: what the chroma term compares: "target" (generated vs true target) or "song"
        (source + generated vs source + true target: what the accompaniment adds to the voice).
      harmony_warmup: steps that train the harmony head alone (``--harmony``) before the first
        adversarial step of a fresh run, so the image generator reads a useful prediction from its
        first step (a head step costs a small fraction of a full step).
      checkpoint_every: steps between checkpoints.
      summary_every: steps between TensorBoard images and audio.
      log_every: steps between progress lines and scalars.
      eval_every: steps between validation L1 measurements.
      eval_batches: validation batches per measurement.
      export_step: which generator the export holds: "last" (the final step's) or "best_valid" (the
        step with the lowest validation L1 among the eval_every measurements): a short GAN run can
        end on a spike (the demo's validation L1 has jumped from 0.7 to 1.4-2.2 on its last
        measurement, and its song with it), and "best_valid" exports the step before it instead.
      cpu_replicas: split the CPU into N logical replicas (testing without GPUs).
      mixed_precision: float16 compute with loss scaling (GPUs).
      jit: compile the train step with XLA.
      seed: seed of weights, crops and shuffling.
    """

    data_dir: str
    model_dir: str
    steps: int = 10000
    batch_size: int = 4
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    reconstruction: str = dataclasses.field(default="l1", metadata={"choices": RECONSTRUCTIONS})
    l1_weight: float = 100.0
    chroma_weight: float = 0.0
    chroma_of: str = dataclasses.field(default="target", metadata={"choices": CHROMA_OF})
    loudness_weight: float = 0.0
    harmony_warmup: int = 0
    checkpoint_every: int = 500
    summary_every: int = 500
    log_every: int = 50
    eval_every: int = 1000
    eval_batches: int = 8
    export_step: str = dataclasses.field(default="last", metadata={"choices": EXPORT_STEPS})
    cpu_replicas: int = 0
    mixed_precision: bool = False
    jit: bool = False
    seed: int = 0
    input: InputConfig = InputConfig()
    model: ModelConfig = ModelConfig()

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["input"]["features"] = self.input.features.to_dict()
        return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``vocals2song train`` flags, derived from TrainConfig and the configs it holds."""
    flags.add_arguments(parser, TrainConfig)


def option_names() -> set[str]:
    """Every keyword ``config_from_options`` accepts ("features" names the feature kind)."""
    return flags.names(TrainConfig, skip=("data_dir", "model_dir"))


def config_from_options(data_dir: str, model_dir: str, **options: Any) -> TrainConfig:
    """A TrainConfig from flat keyword options (``steps=500, crop_frames=256, depth=6``):
    each goes to the dataclass that owns it; unset ones keep that dataclass's default."""
    fixed = {"data_dir": data_dir, "model_dir": model_dir}
    return flags.build(TrainConfig, options, skip=tuple(fixed), what="training", **fixed)


@dataclasses.dataclass(frozen=True)
class Accompanist:
    """Where an accompaniment's harmony comes from and how it is played: the flags that
    ``vocals2song generate``, ``evaluate`` and ``serve`` share (one definition, one default).

    Attributes:
      harmony: who picks the accompaniment's pitch classes: "notes" (the export's note-level
        harmoniser, from the transcribed melody), "head" (the generator's own harmony head);
        "auto": notes when the export ships a harmoniser.
      chords: the harmoniser's chords played as notes by FluidSynth (``trainer/chords.py``): "add"
        beside the generator's accompaniment, "only" instead of it, "none"; "auto": "add" when the
        export ships a harmoniser, makes one accompaniment and FluidSynth is installed.
      voicing: how the played chords are voiced: "chordal" (at most three likely pitch classes
        right under the melody, none a semitone from another or from the sung note, together one
        chord of stacked thirds), "led" (the same classes, each placed near the chord before's
        notes: fewer leaps), "consonant" (chordal without the stacked thirds) or "hedged" (every
        class above the mean, louder the likelier: clusters).
      rhythm: when the played chords are struck: "held" (with each sung note, held through it),
        "beat" (struck again on every beat of the sung tempo while it lasts) or "arpeggio" (broken:
        the bass held, the upper notes one at a time on the half beats).
      changes: how often the chords change: "beat" (under each sung note, one a beat under a run
        of shorter notes), "note" (under every sung note), "half" (each half bar) or "bar" (each
        bar of the sung meter: what a song's lead sheet writes); "auto" reads the take: "bar", the
        chords played alone, for a melody that reads as a song (it moves by leap more than a
        chorale's does), "beat" for any other.
      instrument: what plays the chords: "strings" (cello and string ensemble), "organ", "piano",
        "guitar" (acoustic bass and nylon guitar) or "choir"; piano and guitar fade under a long
        note, "--rhythm beat" strikes them again.
      drums: "backbeat" adds a drum kit on the sung beats and bars (kick, snare, hi-hat), with the
        chords; "none" plays no drums.
    """

    harmony: str = dataclasses.field(default="auto", metadata={"choices": HARMONY_CHOICES})
    chords: str = dataclasses.field(default="auto", metadata={"choices": CHORDS_CHOICES})
    voicing: str = dataclasses.field(default=VOICINGS[0], metadata={"choices": VOICINGS})
    rhythm: str = dataclasses.field(default=RHYTHMS[0], metadata={"choices": RHYTHMS})
    changes: str = dataclasses.field(default=CHANGES[0], metadata={"choices": CHANGES})
    instrument: str = dataclasses.field(default=INSTRUMENT_CHOICES[0], metadata={"choices": INSTRUMENT_CHOICES})
    drums: str = dataclasses.field(default=DRUM_STYLES[0], metadata={"choices": DRUM_STYLES})


@dataclasses.dataclass(frozen=True)
class GenerateOptions:
    """What ``vocals2song generate`` takes.

    Attributes:
      vocals: a vocal recording (WAV/FLAC/OGG/MP3) or a folder of them.
      output: song .wav (a .png is written beside it, and a .mid of the melody and the chords when
        chords are played), or a folder.
      model: model_dir of `vocals2song train` or its export/ (default: the released model).
      phase: how phase is made: "predicted" (the model's own), "griffinlim" (rebuilt from the
        magnitude), "source" (the input's own: what a separator's stems share with the mixture);
        "auto": the model's own if it predicts phase, else the source's for a separator, else Griffin-Lim.
      no_vocals: write the accompaniment alone.
      stems: a folder for each generated stem's .wav (``drums.wav``...) and ``song.wav``: time-aligned,
        at the input's rate and length, not normalised apart (they sum to the accompaniment);
        with a folder of vocals, one subfolder per file.
      chart: a chord chart to play instead of the predicted chords: a lead sheet as ``generate``
        writes it beside a song (.txt), edited or written by hand ("| C | F G7 | C |"; a meter,
        "3/4", and a pickup, "pickup of 1 beat", in its head line replace the sung ones); see
        ``trainer/chart.py``.
      accompanist: where the harmony comes from and how it is played (``Accompanist``).
    """

    vocals: str
    output: str
    model: str | None = None
    phase: str = dataclasses.field(default="auto", metadata={"choices": PHASES})
    no_vocals: bool = dataclasses.field(default=False, metadata={"flag": "no-vocals"})
    stems: str | None = None
    chart: str | None = None
    accompanist: Accompanist = Accompanist()


@dataclasses.dataclass(frozen=True)
class EvaluateOptions:
    """What ``vocals2song evaluate`` takes.

    Attributes:
      model: model_dir of `vocals2song train` (or its export/).
      data_dir: data set made by `vocals2song dataset`.
      split: split to evaluate.
      output_dir: where metrics.json/.md go (default MODEL/eval).
      segments_per_track: score only each track's first N segments (default: all).
      accompanist: as ``vocals2song generate``'s (``Accompanist``).
    """

    model: str
    data_dir: str
    split: str = dataclasses.field(default="test", metadata={"choices": SPLITS})
    output_dir: str | None = None
    segments_per_track: int | None = None
    accompanist: Accompanist = Accompanist()


@dataclasses.dataclass(frozen=True)
class ListeningTestOptions:
    """What ``vocals2song listening-test`` takes (``trainer/listening.py``).

    Attributes:
      output_dir: where the test goes: listen/ (the folder listeners open: index.html, the stimuli)
        and key.json (which stimulus is which: keep it from the listeners).
      data_dir: data set made by `vocals2song dataset` whose test vocals are played.
      model: model_dir of `vocals2song train` or its export/ (default: the released model).
      tracks: how many test tracks (the first segment of each).
      seed: decides the stimuli's names and their order.
      compare: another system's songs rated beside the model's, NAME=DIR, DIR holding <track>.wav for
        test tracks (e.g. `python -m benchmarks.ceiling --songs_dir DIR`: Bach's other settings); only
        the tracks it holds are played.
      accompanist: as ``vocals2song generate``'s (``Accompanist``).
    """

    output_dir: str
    data_dir: str
    model: str | None = None
    tracks: int = 12
    seed: int = 0
    compare: str | None = None
    accompanist: Accompanist = Accompanist()
