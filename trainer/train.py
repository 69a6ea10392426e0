"""The pix2pix training loop under a tf.distribute strategy: resumable, observable.

Models and optimizers are built inside ``strategy.scope()`` (the optimizers explicitly, or
Keras 3 fails the first distributed step); losses are averaged over the *global* batch, so
the learning rate means the same on one device and on eight. Checkpoints are numbered by
the step counter; SIGTERM/SIGINT (preemption) writes one before exiting, and rerunning the
same command resumes. ``steps`` is the total to reach, not "more".
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import tempfile
import time
from typing import Any

import numpy as np
import tensorflow as tf

from trainer import distribute, export, inputs, losses, models
from trainer.config import TrainConfig
from vocals2song import inspection, storage
from vocals2song.config import ConfigMismatchError, SpectralConfig
from vocals2song.features import row_frequencies, to_waveform
from vocals2song.manifest import DatasetError, Manifest, read_manifest

CONFIG_FILE = "train_config.json"
LOG_FILE = "train_log.jsonl"
log = logging.getLogger(__name__)


class Preempted(SystemExit):
    """Raised after the checkpoint that a SIGTERM/SIGINT asked for; exit code 128+signal."""


def _fields_that_matter(config: SpectralConfig) -> dict[str, Any]:
    """The spectral fields a model depends on (segment length only decides crops)."""
    values = config.to_dict()
    values.pop("segment_seconds")
    return values


def check_data(manifest: Manifest, model_dir: str, config: TrainConfig) -> None:
    """Refuses data encoded differently from what a model in ``model_dir`` was trained on."""
    path = storage.join(model_dir, CONFIG_FILE)
    if not storage.exists(path):
        return
    saved = json.loads(storage.read_text(path))
    ours = SpectralConfig.from_dict(saved["spectral"])
    if _fields_that_matter(ours) != _fields_that_matter(manifest.config):
        ours.check_matches(dataclasses.replace(manifest.config, segment_seconds=ours.segment_seconds), config.data_dir)
    for key in ("source", "target"):
        if saved["train"]["input"][key] != getattr(config.input, key):
            raise ConfigMismatchError(
                f"{model_dir} was trained with --{key} {saved['train']['input'][key]}, not {getattr(config.input, key)}"
            )


def check_shapes(config: TrainConfig) -> None:
    """Crops and rows must be multiples of what the generator halves them by."""
    rows, multiple = config.input.features.rows, config.model.multiple
    if multiple > rows or rows % multiple or config.input.crop_frames % multiple:
        raise ValueError(
            f"--crop_frames {config.input.crop_frames} and {rows} frequency rows must be multiples "
            f"of {config.model.multiple} (2**depth of the U-Net)"
        )


class Trainer:
    """Builds the models, data and step function for one TrainConfig."""

    def __init__(self, config: TrainConfig, strategy: tf.distribute.Strategy | None = None):
        self.config = config
        self.manifest = read_manifest(config.data_dir)
        inputs.check_stems(self.manifest, config.input, config.data_dir)
        check_data(self.manifest, config.model_dir, config)
        check_shapes(config)
        if config.harmony_warmup and not config.model.harmony:
            raise ValueError("--harmony_warmup trains the harmony head: it needs --harmony")
        if config.mixed_precision:
            import keras

            keras.mixed_precision.set_global_policy("mixed_float16")
        self.strategy = strategy or distribute.make_strategy(config.cpu_replicas)
        replicas = self.strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise ValueError(f"--batch_size {config.batch_size} must divide evenly over {replicas} replicas")
        self.source_codec, self.target_codec = inputs.stem_codecs(self.manifest, config.input)
        # Read once (it reads segments): every dataset() call, each validation pass included, reuses it.
        self.level = None
        if config.input.level_match:
            self.level = inputs.source_level(self.manifest, config.data_dir, config.input)
        self.encode = inputs.feature_encoder(self.manifest, config.input, training=True, level=self.level)
        song = self.source_codec if config.chroma_of == "song" else None
        spectral = self.manifest.config
        self.chroma = losses.ChromaDistance(self.target_codec, spectral, song) if config.chroma_weight else None
        self.compressed = losses.CompressedL2(self.target_codec) if config.reconstruction == "compressed_l2" else None
        self.harmony = losses.HarmonyDistance(self.target_codec, spectral) if config.model.harmony else None
        self.loudness = losses.LoudnessDistance(self.target_codec) if config.loudness_weight else None
        tf.keras.utils.set_random_seed(config.seed)
        channels, bins, targets = config.input.features.channels, config.input.features.rows, self.target_codec.channels
        with self.strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            row_hz = row_frequencies(config.input.features, spectral.sample_rate, spectral.n_fft)
            self.generator = models.generator(config.model, channels, bins, row_hz, targets)
            self.discriminator = models.discriminator(config.model, channels, bins, targets)
            self.harmony_model = models.harmony_model(self.generator) if config.model.harmony else None
            self.forward = models.with_harmony(self.generator) if config.model.harmony else None
            self.h_optimizer = self._optimizer() if config.harmony_warmup else None
            if self.h_optimizer is not None:
                self.h_optimizer.build(self.harmony_model.trainable_variables)
            self.g_optimizer = self._optimizer()
            self.d_optimizer = self._optimizer()
            self.g_optimizer.build(self.generator.trainable_variables)
            self.d_optimizer.build(self.discriminator.trainable_variables)
        self.worker, self.workers = distribute.worker_share(self.strategy)
        self.chief = self.worker == 0
        self._checkpointing()
        self._step_fn = tf.function(self._distributed_step, jit_compile=config.jit or None)

    def _checkpointing(self) -> None:
        """The checkpoint of models, optimizers and step, and its manager. Every machine takes
        part in a save; only the chief's lands in model_dir."""
        self.checkpoint = tf.train.Checkpoint(
            step=self.step,
            generator=self.generator,
            discriminator=self.discriminator,
            g_optimizer=self.g_optimizer,
            d_optimizer=self.d_optimizer,
        )
        self.checkpoint_dir = storage.join(self.config.model_dir, "checkpoints")
        self._scratch = None if self.chief else tempfile.TemporaryDirectory(prefix=f"vocals2song-worker{self.worker}-")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint,
            self.checkpoint_dir if self.chief else self._scratch.name,
            max_to_keep=3,
            step_counter=self.step,
        )

    def _optimizer(self):
        import keras

        optimizer = keras.optimizers.Adam(self.config.learning_rate, beta_1=self.config.beta_1)
        if self.config.mixed_precision:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def restore(self) -> int:
        """Restores the latest checkpoint if there is one; returns the step reached."""
        latest = tf.train.latest_checkpoint(self.checkpoint_dir)  # the chief's, on every machine
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            log.info("resumed from %s at step %d", latest, int(self.step.numpy()))
        return int(self.step.numpy())

    @property
    def encodes_in_step(self) -> bool:
        return self.config.input.encode_on == "step"

    def dataset(self, split: str, training: bool, batch_size: int | None = None) -> tf.data.Dataset:
        """Batches of ``split``: what ``train_step`` takes in training (stored crops when features
        are made in the step), features otherwise. Training input is seeded from the seed *and
        the step*, so a resumed run draws new shard orders and crops instead of replaying the
        first ones."""
        return inputs.make_dataset(
            self.manifest,
            self.config.data_dir,
            split,
            self.config.input,
            batch_size or self.config.batch_size,
            training=training,
            seed=self.config.seed + int(self.step.numpy()) if training else None,
            worker=(self.worker, self.workers) if training else (0, 1),
            encode=not (training and self.encodes_in_step),
            level=self.level,
        )

    def features(self, source, target):
        """A training batch from ``dataset`` as features (a no-op if the input made them)."""
        return self.encode(source, target) if self.encodes_in_step else (source, target)

    def _losses(self, source, target, training: bool = True) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        """Per-replica losses, each already divided by the global batch size."""
        batch = self.config.batch_size
        if self.forward is None:
            fake, head = self.generator(source, training=training), None
        else:
            fake, head = self.forward(source, training=training)
        fake = tf.cast(fake, tf.float32)
        real_logits = tf.cast(self.discriminator([source, target], training=training), tf.float32)
        fake_logits = tf.cast(self.discriminator([source, fake], training=training), tf.float32)

        def bce(labels, logits):
            per_patch = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
            return tf.reduce_mean(per_patch, axis=[1, 2, 3])

        l1 = losses.l1(fake, target)  # logged whichever term trains, so runs compare
        reconstruction = l1 if self.compressed is None else self.compressed(fake, target)
        gan = bce(tf.ones_like(fake_logits), fake_logits)
        g_loss = gan + self.config.l1_weight * reconstruction
        d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
        average = lambda x: tf.nn.compute_average_loss(x, global_batch_size=batch)  # noqa: E731
        terms = {"g_gan": average(gan), "l1": average(l1)}
        if self.compressed is not None:
            terms["compressed_l2"] = average(reconstruction)
        if self.chroma is not None:
            chroma = self.chroma(fake, target, source)
            g_loss += self.config.chroma_weight * chroma
            terms["chroma"] = average(chroma)
        if self.loudness is not None:
            loudness = self.loudness(fake, target)
            g_loss += self.config.loudness_weight * loudness
            terms["loudness"] = average(loudness)
        if self.harmony is not None:
            harmony = self.harmony(head, target)
            g_loss += harmony  # only the head learns from it (its prediction enters without a gradient)
            terms["harmony"] = average(harmony)
        return {"g_loss": average(g_loss), "d_loss": average(d_loss), **terms}, fake

    def _replica_step(self, source, target):
        source, target = self.features(source, target)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            values, _ = self._losses(source, target)
            g_scaled, d_scaled = values["g_loss"], values["d_loss"]
            if self.config.mixed_precision:
                g_scaled, d_scaled = self.g_optimizer.scale_loss(g_scaled), self.d_optimizer.scale_loss(d_scaled)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars, strict=True))
        return values

    def _harmony_replica_step(self, source, target):
        """One update of the harmony head alone, on its own loss and optimizer."""
        source, target = self.features(source, target)
        weights = self.harmony_model.trainable_variables
        with tf.GradientTape() as tape:
            loss = self.harmony(self.harmony_model(source, training=True), target)
            loss = tf.nn.compute_average_loss(loss, global_batch_size=self.config.batch_size)
        self.h_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        return loss

    def warm_up_harmony(self, batches) -> None:
        """``harmony_warmup`` head-only steps on batches of the training input (see TrainConfig)."""
        step = tf.function(lambda batch: self.strategy.run(self._harmony_replica_step, args=batch))
        total = self.config.harmony_warmup
        for index in range(1, total + 1):
            per_replica = step(_next_batch(batches, self))
            loss = float(self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))
            if index % self.config.log_every == 0 or index == total:
                log.info("harmony warm-up %d/%d: harmony %.4f", index, total, loss)

    def _distributed_step(self, batch):
        per_replica = self.strategy.run(self._replica_step, args=batch)
        self.step.assign_add(1)
        return {
            name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in per_replica.items()
        }

    def train_step(self, distributed_batch) -> dict[str, float]:
        """One generator + discriminator update on a batch from a distributed dataset."""
        return {name: float(value) for name, value in self._step_fn(distributed_batch).items()}

    def validation_l1(self) -> float | None:
        """Mean L1 of the generator (inference mode) on up to eval_batches x batch_size
        valid crops (one from the start of each segment); None without a valid split."""
        if self.manifest.segments("valid") == 0:
            return None
        crops = self.config.eval_batches * self.config.batch_size
        errors = [
            float(tf.reduce_mean(tf.abs(target - tf.cast(self.generator(source, training=False), tf.float32))))
            for source, target in self.dataset("valid", training=False, batch_size=1).take(crops)
        ]
        return sum(errors) / len(errors)

    def save_config(self) -> None:
        if not self.chief:
            return
        path = storage.join(self.config.model_dir, CONFIG_FILE)
        payload = {"spectral": self.manifest.config.to_dict(), "train": self.config.to_dict()}
        storage.write_text(path, json.dumps(payload, indent=1, sort_keys=True))

    def export(self, valid_l1: float | None = None) -> str | None:
        """Exports the generator, with its validation L1 when it was measured at this step (the
        chief only; None on other machines)."""
        if not self.chief:
            return None
        metadata = export.ExportMetadata(
            spectral=self.manifest.config,
            features=self.config.input.features,
            model=self.config.model,
            source=self.config.input.source,
            target=self.config.input.target,
            source_stats=export.StemStatistics.of(self.source_codec),
            target_stats=export.StemStatistics.of_stems(self.target_codec),
            step=int(self.step.numpy()),
            window_frames=self.config.input.crop_frames,
            data_dir=self.config.data_dir,
            source_level=inputs.source_level(self.manifest, self.config.data_dir, self.config.input),
            valid_l1=valid_l1,
        )
        return export.export(self.config.model_dir, self.generator, metadata)


class _Summaries:
    """TensorBoard scalars, spectrogram images and audio under model_dir/summaries."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer
        root = storage.join(trainer.config.model_dir, "summaries")
        self.train = tf.summary.create_file_writer(storage.join(root, "train"))
        self.valid = tf.summary.create_file_writer(storage.join(root, "valid"))

    def scalars(self, writer, values: dict[str, float], step: int) -> None:
        with writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(name, value, step=step)

    def media(self, source, target, step: int) -> None:
        trainer = self.trainer
        fake = tf.cast(trainer.generator(source[:1], training=False), tf.float32)

        def picture(features):  # low frequencies at the bottom, ~[-3, 3] std -> [0, 1]
            return tf.clip_by_value((tf.reverse(features[..., :1], axis=[1]) + 3.0) / 6.0, 0.0, 1.0)

        spectral = trainer.manifest.config
        frames = int(source.shape[2])
        length = (frames - 1) * spectral.hop_length
        phase = "predicted" if trainer.config.input.features.kind == "logmag_phase" else "griffinlim"
        with self.train.as_default():
            for name, features, codec in _shown(trainer, source[:1], target[:1], fake):
                tf.summary.image(f"spectrogram/{name}", picture(features), step=step)
                waveform = to_waveform(codec, np.asarray(features[0]), spectral, length, phase)
                peak = max(float(np.abs(waveform).max()), 1e-6)
                tf.summary.audio(f"audio/{name}", (waveform / peak).T[np.newaxis], spectral.sample_rate, step=step)


def _shown(trainer: Trainer, source, target, fake) -> list[tuple[str, Any, Any]]:
    """(name, features, codec) of what the summaries show: the source, then each target stem
    true and generated (named "target_drums"... when there are several)."""
    stems = trainer.target_codec
    name = lambda kind, stem: kind if len(stems.stems) == 1 else f"{kind}_{stem}"  # noqa: E731
    shown = [("source", source, trainer.source_codec)]
    for kind, features in (("target", target), ("generated", fake)):
        parts = zip(stems.stems, stems.split(features), stems.codecs, strict=True)
        shown += [(name(kind, stem), part, codec) for stem, part, codec in parts]
    return shown


def _eta(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _agreed_stop(trainer: Trainer, stop_signal: list[int]) -> int:
    """The signal that asked this run to stop (0: none). With several machines every one must
    stop after the same step, or those not signalled block in the next all-reduce while the
    signalled one exits: the flags are summed across machines each step (two floats), so all
    of them save one checkpoint at that step and exit with the same code."""
    local = float(stop_signal[0]) if stop_signal else 0.0
    if trainer.workers == 1:
        return int(local)
    replica_flags = trainer.strategy.run(lambda: tf.constant([local, 1.0 if local else 0.0]))
    signals, signalled = trainer.strategy.reduce(tf.distribute.ReduceOp.SUM, replica_flags, axis=None).numpy()
    return int(round(signals / signalled)) if signalled else 0


def _next_batch(batches, trainer: Trainer):
    """The next training batch; a damaged shard becomes a DatasetError naming it (tf.data's
    own error names only a byte offset)."""
    try:
        return next(batches)
    except tf.errors.DataLossError as error:
        data_dir = trainer.config.data_dir
        log.warning("a training shard is damaged (%s); finding which", str(error).splitlines()[0])
        bad = inspection.unreadable_shards(trainer.manifest, data_dir, "train")
        named = "; ".join(f"{path}: {reason}" for path, reason in bad) or "(none found on a second read)"
        raise DatasetError(
            f"unreadable training shard(s) in {data_dir}: {named}. Rebuild the data set "
            "(`vocals2song dataset --overwrite`) or restore the file(s)"
        ) from error


class _Loop:
    """What happens around each train step, one named method per concern: checkpoint, log
    (with validation), summarise, stop, export. The progress window, the summary batch and the
    validation record live here."""

    def __init__(self, trainer: Trainer, log_file, start: int):
        self.trainer, self.config, self.log_file = trainer, trainer.config, log_file
        self.summaries = _Summaries(trainer) if trainer.chief else None  # the chief writes; others train
        self.summary_batch = None  # drawn once, shown at every summary: the same crop over time
        self.window_start, self.window_step = time.monotonic(), start
        self.last_valid: tuple[int, float] | None = None  # (step, validation L1) of the latest measurement
        # The export to beat with --export_step best_valid: a resumed run's earlier best counts,
        # an export left from a run whose checkpoints are gone does not.
        exported = export.exported_validation(self.config.model_dir) if trainer.chief else None
        self.best = exported if exported and 0 < exported[0] <= start else None

    def _due(self, step: int, every: int) -> bool:
        return step % every == 0 or step == self.config.steps

    def maybe_checkpoint(self, step: int) -> None:
        if self._due(step, self.config.checkpoint_every):
            self.trainer.manager.save(checkpoint_number=step)

    def maybe_log(self, step: int, values: dict[str, float]) -> None:
        """A progress line, a row in train_log.jsonl and scalars, with validation when due."""
        config = self.config
        if not self._due(step, config.log_every):
            return
        now = time.monotonic()
        rate = (step - self.window_step) / max(now - self.window_start, 1e-9)
        self.window_start, self.window_step = now, step
        row = {"step": step, **values, "steps_per_s": rate, "examples_per_s": rate * config.batch_size}
        if self.summaries and self._due(step, config.eval_every):
            row["valid_l1"] = self.trainer.validation_l1()
            if row["valid_l1"] is not None:
                self.summaries.scalars(self.summaries.valid, {"l1": row["valid_l1"]}, step)
                self.validated(step, row["valid_l1"])
        if self.summaries:
            self.summaries.scalars(self.summaries.train, {**values, "steps_per_s": rate}, step)
        self.log_file.write(json.dumps(row) + "\n")
        self.log_file.flush()
        valid = f" valid_l1 {row['valid_l1']:.4f}" if row.get("valid_l1") is not None else ""
        log.info(
            f"step {step}/{config.steps} d_loss {values['d_loss']:.4f} g_loss {values['g_loss']:.4f} "
            f"l1 {values['l1']:.4f}{valid} | {rate:.2f} steps/s {rate * config.batch_size:.1f} examples/s "
            f"| ETA {_eta((config.steps - step) / max(rate, 1e-9))}"
        )

    def validated(self, step: int, valid_l1: float) -> None:
        """Records a measurement; with ``--export_step best_valid`` a new lowest one is exported now."""
        self.last_valid = (step, valid_l1)
        if self.config.export_step == "best_valid" and (self.best is None or valid_l1 < self.best[1]):
            self.best = (step, valid_l1)
            self.trainer.export(valid_l1)

    def final_export(self, step: int) -> str | None:
        """The export the run ends with: the best validated step's, already written, with
        ``--export_step best_valid`` (the last step's without a measurement); else the last step's."""
        if self.config.export_step == "best_valid" and self.best is not None:
            best_step, valid_l1 = self.best
            log.info("exported step %d of %d: the lowest validation L1 (%.4f)", best_step, step, valid_l1)
            return storage.join(self.config.model_dir, export.EXPORT_DIR)
        if self.config.export_step == "best_valid" and self.trainer.chief:
            log.warning("--export_step best_valid: no validation L1 was measured; exporting the last step")
        measured = self.last_valid is not None and self.last_valid[0] == step
        return self.trainer.export(self.last_valid[1] if measured else None)

    def maybe_summarise(self, step: int) -> None:
        if self.summaries and self._due(step, self.config.summary_every):
            if self.summary_batch is None:
                self.summary_batch = self.trainer.features(*next(iter(self.trainer.dataset("train", training=True))))
            self.summaries.media(*self.summary_batch, step)

    def maybe_stop(self, step: int, stop_signal: list[int]) -> None:
        """After the step every machine agreed to stop at: one checkpoint, then Preempted."""
        stop = _agreed_stop(self.trainer, stop_signal)
        if stop:
            self.trainer.manager.save(checkpoint_number=step)
            log.warning("signal %d: checkpoint saved at step %d; rerun to resume", stop, step)
            raise Preempted(128 + stop)


def _catch_signals(stop_signal: list[int]) -> dict:
    """SIGTERM/SIGINT append to ``stop_signal`` instead of killing; returns the old handlers."""
    return {
        sig: signal.signal(sig, lambda signum, _frame: stop_signal.append(signum))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }


def _export_trained(trainer: Trainer, start: int) -> str | None:
    """A rerun of a finished model_dir: exports its last step again, or with ``--export_step
    best_valid`` keeps the best export it already has."""
    config = trainer.config
    if config.export_step == "best_valid" and export.exported_validation(config.model_dir):
        log.info("model_dir already at step %d >= --steps %d; its best export stays", start, config.steps)
        return storage.join(config.model_dir, export.EXPORT_DIR) if trainer.chief else None
    log.info("model_dir already at step %d >= --steps %d; exporting", start, config.steps)
    return trainer.export()


def train(config: TrainConfig, strategy: tf.distribute.Strategy | None = None) -> dict[str, Any]:
    """Trains to ``config.steps`` (resuming if model_dir has a checkpoint) and exports.

    Returns the last logged losses and the export path. Raises DatasetError for unusable
    data and Preempted after saving on SIGTERM/SIGINT.
    """
    trainer = Trainer(config, strategy)
    start = trainer.restore()
    trainer.save_config()
    if start >= config.steps:
        return {"step": start, "export": _export_trained(trainer, start)}
    batches = iter(trainer.strategy.experimental_distribute_dataset(trainer.dataset("train", training=True)))
    if start == 0 and config.harmony_warmup:
        trainer.warm_up_harmony(batches)
    stop_signal: list[int] = []
    previous = _catch_signals(stop_signal)
    # tf.io.gfile appends on GCS too (it rewrites the object); gcsfs would silently overwrite,
    # losing the rows of earlier runs when training resumes.
    log_path = storage.join(config.model_dir, LOG_FILE)
    started, values, step = time.monotonic(), {}, start
    try:
        with tf.io.gfile.GFile(log_path, "a") if trainer.chief else open(os.devnull, "w") as log_file:
            loop = _Loop(trainer, log_file, start)
            while step < config.steps:
                values = trainer.train_step(_next_batch(batches, trainer))
                step = int(trainer.step.numpy())
                if not all(np.isfinite(value) for value in values.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {values}")
                loop.maybe_checkpoint(step)
                loop.maybe_log(step, values)
                loop.maybe_summarise(step)
                loop.maybe_stop(step, stop_signal)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    path = loop.final_export(step)
    elapsed = time.monotonic() - started
    where = f"generator exported to {path}" if path else f"machine {trainer.worker}: the chief exports"
    log.info("trained to step %d in %.0f s; %s", step, elapsed, where)
    return {"step": step, "losses": values, "export": path, "seconds": elapsed}
