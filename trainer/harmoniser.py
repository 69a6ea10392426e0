"""The note-level harmoniser: a melody's notes -> the accompaniment's pitch classes under each.

Why a second harmony model: the generator's own head (``models.transposable_head``) learns
from the audio chroma of 15 s crops and stalls at what a segment's pitch-class distribution
knows (0.38 on the dev set, train and dev alike, whatever its width or context). The same
chorales read as scores, one step per melody note, teach a small recurrent network the chords
that move under the melody (0.704 against Bach's alto, tenor and bass pitch classes on the dev
chorales, where the piece's own pitch-class distribution scores 0.497 and Bach's other
harmonisation of the same melody 0.679). The U-Net reads pitch classes through
``layers.HarmonyContext``, standardised per frame, so at generation the harmoniser's
prediction replaces the head's without retraining (``--harmony``): through the released U-Net
that moves the song by nothing measurable (docs/model-notes.md, "How far the melody alone
goes"). Played as notes (``trainer/chords.py``, ``--chords``) the same prediction lifts it: the
released model ships a harmoniser for that.

Features per note: the pitch class (one-hot; every training melody is seen in a random key)
and the log2 duration against the melody's median note, so a take's tempo does not matter.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from trainer.config import HARMONISER_FILE
from vocals2song import scores, storage
from vocals2song.config import SEMITONES
from vocals2song.flags import pair
from vocals2song.scores import Score

FEATURES = SEMITONES + 1
SUMMARY_FILE = "harmoniser.json"
MIN_QUARTERS = 0.125
"""Grace notes have no duration in the scores; they count as a 32nd."""
MIN_EXCERPT_NOTES = 8
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class HarmoniserConfig:
    """The harmoniser's size and training; defaults measured (docs/model-notes.md, "How far the
    melody alone goes").

    Attributes:
      units: GRU units per direction.
      layers: bidirectional GRU layers.
      steps: training steps of ``batch`` melodies each.
      batch: melodies per step.
      learning_rate: Adam's.
      excerpts: share of training melodies cut to a random excerpt of at least
        ``MIN_EXCERPT_NOTES`` notes. A take is rarely a whole chorale, and a network that only
        ever saw whole ones reads a take's last note as a final cadence, which tells it the key.
      seed: initialisation, batches, keys and excerpts.
    """

    units: int = 64
    layers: int = 2
    steps: int = 6000
    batch: int = 16
    learning_rate: float = 1e-3
    excerpts: float = 0.5
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class HarmoniserOptions:
    """What ``vocals2song harmoniser`` takes.

    Attributes:
      output_dir: where ``harmoniser.keras`` and ``harmoniser.json`` go; a model_dir (or its
        ``export`` folder) to ship them with its generator.
      bach: FIRST:LAST entries of music21's Bach corpus (the reserved tail refused).
      scores_dir: a folder of MusicXML or MIDI files instead (melody -> vocals).
      melody_track: MIDI track name of the melody (default: the highest track).
      every: N:K keeps the scores whose index % N == K.
      except_every: N:K drops the scores whose index % N == K (the dev list's complement).
    """

    output_dir: str
    bach: tuple[int, int] | None = dataclasses.field(default=None, metadata={"parse": pair})
    scores_dir: str | None = None
    melody_track: str | None = None
    every: tuple[int, int] | None = dataclasses.field(default=None, metadata={"parse": pair})
    except_every: tuple[int, int] | None = dataclasses.field(default=None, metadata={"parse": pair})
    config: HarmoniserConfig = HarmoniserConfig()


def note_features(pitches: Sequence[int], durations: Sequence[float]) -> np.ndarray:
    """Melody notes -> ``(notes, FEATURES)``: pitch class one-hot, log2 duration / median."""
    features = np.zeros((len(pitches), FEATURES), np.float32)
    features[np.arange(len(pitches)), np.asarray(pitches, int) % SEMITONES] = 1.0
    lengths = np.maximum(np.asarray(durations, np.float32), 1e-6)
    features[:, SEMITONES] = np.log2(lengths / np.median(lengths))
    return features


def score_example(score: Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A score -> (features, target, weights) per melody note: the target is the other parts'
    pitch classes weighted by how long each sounds under the note; weights are durations."""
    melody = sorted(score.parts["vocals"], key=lambda note: note.start)
    others = [note for stem in ("bass", "other") for note in score.parts.get(stem, ())]
    starts = np.array([note.start for note in others], np.float64)
    ends = starts + np.array([note.duration for note in others], np.float64)
    classes = np.zeros((len(others), SEMITONES), np.float32)
    classes[np.arange(len(others)), [note.pitch % SEMITONES for note in others]] = 1.0
    target = np.zeros((len(melody), SEMITONES), np.float32)
    for index, note in enumerate(melody):
        overlap = np.minimum(ends, note.start + note.duration) - np.maximum(starts, note.start)
        target[index] = np.maximum(overlap, 0.0) @ classes
    durations = np.array([max(note.duration, MIN_QUARTERS) for note in melody], np.float32)
    return note_features([note.pitch for note in melody], durations), target, durations


def build(config: HarmoniserConfig):
    """A bidirectional GRU over the melody's notes -> 12 pitch-class scores per note."""
    import keras
    from keras import layers

    notes = keras.Input((None, FEATURES), name="notes")
    x = layers.Masking(0.0)(notes)  # a batch's padding (a real note always has a pitch class)
    x = layers.Dense(config.units, activation="gelu")(x)
    for _ in range(config.layers):
        x = layers.Bidirectional(layers.GRU(config.units, return_sequences=True))(x)
    return keras.Model(notes, layers.Dense(SEMITONES, name="pitch_classes")(x), name="harmoniser")


def weighted_distance(predicted, target, weights):
    """1 - Pearson correlation per note, weighted by duration over notes with an accompaniment."""
    import tensorflow as tf

    from trainer.losses import correlation

    weights = weights * tf.cast(tf.reduce_sum(target, axis=-1) > 0, tf.float32)
    return tf.reduce_sum((1.0 - correlation(predicted, target)) * weights) / tf.maximum(tf.reduce_sum(weights), 1e-6)


def excerpt(example, rng: np.random.Generator):
    """A random stretch of at least ``MIN_EXCERPT_NOTES`` notes of an example, its durations
    measured against the excerpt's own median note (as a take's are)."""
    features, target, weights = example
    if len(features) <= MIN_EXCERPT_NOTES:
        return example
    length = int(rng.integers(MIN_EXCERPT_NOTES, len(features) + 1))
    first = int(rng.integers(0, len(features) - length + 1))
    part = slice(first, first + length)
    return note_features(features[part, :SEMITONES].argmax(axis=-1), weights[part]), target[part], weights[part]


def _batch(examples, rng: np.random.Generator, size: int, excerpts: float) -> list[np.ndarray]:
    """``size`` random melodies, a share ``excerpts`` of them cut to an excerpt, each in a random
    key (pitch classes and target rolled alike)."""
    chosen = []
    for index in rng.integers(0, len(examples), size):
        example = examples[index]
        features, target, weights = excerpt(example, rng) if rng.random() < excerpts else example
        shift = int(rng.integers(SEMITONES))
        rolled = features.copy()
        rolled[:, :SEMITONES] = np.roll(features[:, :SEMITONES], shift, axis=-1)
        chosen.append((rolled, np.roll(target, shift, axis=-1), weights))
    return _padded(chosen)


def _padded(examples) -> list[np.ndarray]:
    """Examples zero-padded to the longest and stacked; padding has weight 0."""
    longest = max(len(item[0]) for item in examples)

    def padded(array: np.ndarray) -> np.ndarray:
        return np.pad(array, [(0, longest - len(array))] + [(0, 0)] * (array.ndim - 1))

    return [np.stack([padded(item[part]) for item in examples]) for part in range(3)]


def train(
    examples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    config: HarmoniserConfig,
    progress: Callable[[int, float], None] | None = None,
):
    """Trains a harmoniser on ``score_example``s; ``progress(step, loss)`` every 100 steps."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    model = build(config)
    optimizer = keras.optimizers.Adam(config.learning_rate)

    @tf.function(reduce_retracing=True)
    def step(features, target, weights):
        with tf.GradientTape() as tape:
            loss = weighted_distance(model(features, training=True), target, weights)
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    rng = np.random.default_rng(config.seed)
    for number in range(1, config.steps + 1):
        loss = step(*_batch(examples, rng, config.batch, config.excerpts))
        if progress and (number % 100 == 0 or number == config.steps):
            progress(number, float(loss))
    return model


def predict(model, features: np.ndarray) -> np.ndarray:
    """Melodies ``(melodies, notes, FEATURES)``, zero-padded, -> ``(melodies, notes, 12)``
    pitch-class scores, averaged over each melody heard in all twelve keys (each prediction
    rolled back to the melody's key).

    Why: training sees every melody in a random key, but nothing makes the network exactly
    transposition-equivariant; the twelve readings disagree a little, and their mean agrees
    with Bach better than any one (dev chorales 0.712 against 0.682; docs/model-notes.md,
    "A better harmoniser"). Twelve readings in one batch cost next to nothing at generation."""
    keys = np.concatenate([features] * SEMITONES)
    for shift in range(SEMITONES):
        rows = slice(shift * len(features), (shift + 1) * len(features))
        keys[rows, :, :SEMITONES] = np.roll(features[..., :SEMITONES], shift, axis=-1)
    predicted = np.asarray(_forward(model)(keys.astype(np.float32)))
    predicted = predicted.reshape((SEMITONES,) + features.shape[:2] + (SEMITONES,))
    return np.mean([np.roll(predicted[shift], -shift, axis=-1) for shift in range(SEMITONES)], axis=0)


@functools.lru_cache(maxsize=8)
def _forward(model):
    """``model``'s forward pass compiled once for melodies of any number and length: the GRUs run
    eagerly step by step in Python otherwise, ~1.5 s for a minute's take against ~0.02 s compiled
    (after a ~0.6 s trace). The compiled pass reads the weights as they are when it runs."""
    import tensorflow as tf

    return tf.function(
        lambda melodies: model(melodies, training=False),
        input_signature=[tf.TensorSpec([None, None, FEATURES], tf.float32)],
    )


def score(model, examples, batch: int = 16) -> float:
    """Mean over melodies of the duration-weighted correlation of ``predict`` with the true
    pitch classes."""
    correlations = []
    for first in range(0, len(examples), batch):
        features, target, weights = _padded(examples[first : first + batch])
        predicted = predict(model, features)
        correlations += [
            1.0 - float(weighted_distance(predicted[i : i + 1], target[i : i + 1], weights[i : i + 1]))
            for i in range(len(features))
        ]
    return float(np.mean(correlations))


def note_predictions(model, notes) -> np.ndarray:
    """Transcribed notes (``melody.MelodyNote``, at least one) -> ``(notes, 12)`` pitch-class scores."""
    return predict(model, note_features([n.pitch for n in notes], [n.frames for n in notes])[None])[0]


def frame_harmony(predicted: np.ndarray, notes, frames: int) -> np.ndarray:
    """Transcribed notes (``melody.MelodyNote``) and their ``note_predictions`` -> the prediction
    per STFT frame ``(frames, 12)``: each note's under it; between notes, the nearest note's."""
    harmony = np.zeros((frames, SEMITONES), np.float32)
    if not notes:
        return harmony
    centres = np.array([(n.first + n.end) / 2.0 for n in notes])
    harmony[:] = predicted[np.abs(np.arange(frames)[:, None] - centres[None]).argmin(axis=1)]
    for index, note in enumerate(notes):
        harmony[note.first : note.end] = predicted[index]
    return harmony


def read_examples(options: HarmoniserOptions) -> tuple[list, list[str]]:
    """The training melodies of ``options``' scores, and one line per score that failed
    (named, with its reason; the others still train)."""
    paths = scores.score_paths(options.bach, options.scores_dir, options.every or (1, 0), options.except_every)
    examples, failures = [], []
    for path in paths:
        try:
            score_of = scores.read_score(path, options.melody_track)
            if not score_of.parts.get("vocals") or not any(score_of.parts.get(s) for s in ("bass", "other")):
                raise scores.ScoreError(f"{path}: needs a melody and another pitched part")
            examples.append(score_example(score_of))
        except scores.ScoreError as error:
            failures.append(str(error))
            log.warning("skipped: %s", error)
    if not examples:
        raise ValueError(f"no score could be read out of {len(paths)}: {failures[:3]}")
    return examples, failures


def run(options: HarmoniserOptions) -> dict:
    """Reads the scores, trains, writes ``harmoniser.keras`` and ``harmoniser.json`` (what it
    was trained on and how well it fits it) to ``output_dir``; returns the summary."""
    started = time.time()
    examples, failures = read_examples(options)
    log.info("training the harmoniser on %d melodies (%d skipped)", len(examples), len(failures))

    def progress(step: int, loss: float) -> None:
        log.info("step %d/%d: loss %.3f (%.0f s)", step, options.config.steps, loss, time.time() - started)

    model = train(examples, options.config, progress)
    summary = {
        "melodies": len(examples),
        "failures": failures,
        "config": dataclasses.asdict(options.config),
        "sources": {
            "bach": options.bach,
            "scores_dir": options.scores_dir,
            "every": options.every,
            "except_every": options.except_every,
        },
        "train_correlation": score(model, examples),
        "seconds": round(time.time() - started, 1),
    }
    _save(model, summary, options.output_dir)
    return summary


def _save(model, summary: dict, output_dir: str) -> None:
    """Writes into ``output_dir``, or into its ``export`` folder when it is a model_dir (where
    ``load_model`` looks: a harmoniser beside the checkpoints would be silently unused)."""
    from trainer.export import EXPORT_DIR, METADATA_FILE, save_keras

    if storage.exists(storage.join(output_dir, EXPORT_DIR, METADATA_FILE)):
        output_dir = storage.join(output_dir, EXPORT_DIR)
    save_keras(model, output_dir, HARMONISER_FILE)
    storage.write_text(storage.join(output_dir, SUMMARY_FILE), json.dumps(summary, indent=1))
    log.info("wrote %s", storage.join(output_dir, HARMONISER_FILE))
