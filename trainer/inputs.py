"""The tf.data input pipeline: shards -> (source, target) feature crops, streamed.

Shards are interleaved in parallel and parsed with the shared schema; each segment gives
``crops_per_segment`` random time crops, and only crops enter the shuffle buffer (a 15 s
segment is 5.3 MB per stem as float16; a buffer of segments would hold the data set's
worth of RAM the seed ran out of). Memory is therefore set by the buffer, not by the
number of segments.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from trainer.config import InputConfig
from vocals2song import codec, inspection
from vocals2song.features import FeatureCodec, StemsCodec, active_level, active_level_of_power
from vocals2song.manifest import DatasetError, Manifest

log = logging.getLogger(__name__)


def stem_codecs(manifest: Manifest, config: InputConfig) -> tuple[FeatureCodec, StemsCodec]:
    """Feature codecs of the source and of the target's stems, with the manifest's statistics.

    A derived accompaniment has no statistics of its own; it is normalised with the
    mixture's, which only shifts and scales it (the inverse uses the same numbers).
    """
    check_stems(manifest, config)
    return codec_of(manifest, config, config.source), StemsCodec(
        config.targets, tuple(codec_of(manifest, config, stem) for stem in config.targets)
    )


def codec_of(manifest: Manifest, config: InputConfig, stem: str) -> FeatureCodec:
    """One stem's codec; a stem without statistics of its own (a derived accompaniment) uses the mixture's."""
    stats = stem if stem in manifest.stats else "mixture"
    if stats != stem:
        log.info("stem %s has no statistics in the data set; normalising it with the mixture's", stem)
    return FeatureCodec(config.features, *manifest.stat_arrays(stats), manifest.config)


LEVEL_SAMPLE = 32  # tracks whose first segment measures the source's typical level


def source_level(manifest: Manifest, data_dir: str, config: InputConfig) -> float:
    """The median active level (``features.active_level``) of the source stem over the first
    segment of up to LEVEL_SAMPLE training tracks: what generation matches a recording's level
    to. The statistics' mean cannot say it: it counts the rests, and vocals rest often."""
    levels = [
        active_level(codec.stored_to_complex(segment.stems[config.source]).mean(axis=0)[: config.features.bins])
        for segment in inspection.first_segments(manifest, data_dir, "train", LEVEL_SAMPLE)
    ]
    if not levels:
        raise DatasetError(f"the train split of {data_dir} holds no segments to measure the source's level")
    return float(np.median(levels))


def check_stems(manifest: Manifest, config: InputConfig, data_dir: str = "the data set") -> None:
    """The source must be stored, and every target stem stored or derivable (the accompaniment)."""
    if len(set(config.targets)) != len(config.targets) or not config.targets:
        raise ValueError(f"--target must name each stem once, got {config.target!r}")
    manifest.require_stems(data_dir, (config.source,), "as the source", derive=False)
    manifest.require_stems(data_dir, config.targets, "as the target")


def _target(parsed: dict, stem: str):
    if stem in parsed:
        return parsed[stem]
    return tf.cast(parsed["mixture"], tf.float32) - tf.cast(parsed["vocals"], tf.float32)


JITTER_COSINES = 4  # the random equaliser's shape: up to 4 half-periods over the frequency axis
NOISE_SNR_CEILING_DB = 50.0  # --noise_snr_db draws each crop's ratio up to this (nearly clean)


def random_equaliser(rows: int, deviation: float, seed: int | None = None, batch=()) -> tf.Tensor:
    """Smooth random curves ``(*batch, rows, 1, 1)`` with standard deviation ``deviation``: sums
    of low-frequency cosines over the rows with random amplitudes and phases, one per example."""
    position = tf.range(rows, dtype=tf.float32)[:, None] / rows  # (rows, 1)
    k = tf.range(1, JITTER_COSINES + 1, dtype=tf.float32)  # (K,)
    shape = tf.concat([tf.cast(batch, tf.int32), [1, JITTER_COSINES]], axis=0)
    amplitude = tf.random.normal(shape, stddev=deviation * (2.0 / JITTER_COSINES) ** 0.5, seed=seed)
    phase = tf.random.uniform(shape, 0.0, 2.0 * math.pi, seed=None if seed is None else seed + 1)
    curve = tf.reduce_sum(amplitude * tf.cos(math.pi * k * position + phase), axis=-1)
    return curve[..., None, None]


def with_noise(stored, lowest_snr_db: float, seed: int | None = None):
    """A stored source STFT ``(..., channels, bins_all, frames, 2)`` with white noise added, each
    crop at its own signal-to-noise ratio, uniform in ``[lowest_snr_db, NOISE_SNR_CEILING_DB]``
    dB: every bin's noise power is the crop's mean power (its rests included) over the ratio. One
    noise for all channels, so the ratio holds for the mono mix the features are made from."""
    stft = tf.cast(stored, tf.float32)
    shape = tf.shape(stft)
    power = tf.reduce_mean(tf.reduce_sum(tf.square(stft), axis=-1), axis=[-3, -2, -1])  # (...)
    snr_db = tf.random.uniform(shape[:-4], lowest_snr_db, NOISE_SNR_CEILING_DB, seed=seed)
    deviation = tf.sqrt(power * 10.0 ** (-snr_db / 10.0) / 2.0)  # per real and imaginary part
    one_channel = tf.concat([shape[:-4], [1], shape[-3:]], axis=0)
    noise = tf.random.normal(one_channel, seed=None if seed is None else seed + 2)
    return stft + noise * deviation[..., None, None, None, None]


def level_gain_tf(stored, bins: int, reference: float):
    """Amplitude factor per crop ``(...)`` that brings a stored source STFT ``(..., channels,
    bins_all, frames, 2)`` to ``reference``: ``FeatureCodec.level_gain`` on a batch, with the same
    estimator, so training sees sources at the level generation brings every take to."""
    stft = tf.reduce_mean(tf.cast(stored, tf.float32), axis=-4)[..., :bins, :, :]
    level = active_level_of_power(tf.reduce_sum(tf.square(stft), axis=-1), tnp)  # power (..., bins, frames)
    return tf.sqrt(reference / tf.maximum(level, 1e-30))


def feature_encoder(
    manifest: Manifest, config: InputConfig, training: bool, seed: int | None = None, level: float | None = None
):
    """(stored source, stored target stems) -> (source, target) features, for one crop or a batch:
    the normalised log-magnitudes (and phase) the model sees, with the noise and the timbre
    jitter on training sources. With ``level`` (``source_level``; ``--level_match``) every crop's
    source and target are first scaled by the one gain that brings the source to it. The input pipeline
    applies it per crop (``encode_on`` "input") or the train step per batch, on the accelerator
    ("step")."""
    source_codec, target_codec = stem_codecs(manifest, config)

    def encode(source, target):
        if training and config.noise_snr_db:
            source = with_noise(source, config.noise_snr_db, seed)
        if level is not None:
            gain = level_gain_tf(source, config.features.bins, level)[..., None, None, None, None]
            source, target = tf.cast(source, tf.float32) * gain, tuple(tf.cast(t, tf.float32) * gain for t in target)
        features = source_codec.encode_tf(source)
        if training and config.timbre_jitter:
            equaliser = random_equaliser(config.features.rows, config.timbre_jitter, seed, tf.shape(features)[:-3])
            features = tf.concat([features[..., :1] + equaliser, features[..., 1:]], axis=-1)
        return features, target_codec.encode_tf(target)

    return encode


def make_dataset(
    manifest: Manifest,
    data_dir: str,
    split: str,
    config: InputConfig,
    batch_size: int,
    training: bool,
    seed: int | None = None,
    worker: tuple[int, int] = (0, 1),
    encode: bool = True,
    level: float | None = None,
) -> tf.data.Dataset:
    """(source, target) float32 feature batches ``(batch, rows, crop_frames, C)`` (the target's
    ``C`` times its stems); with ``encode=False`` the stored crops instead: the source's and a
    tuple of the target stems', each ``(batch, channels, bins_all, crop_frames, 2)`` (float16, a
    derived accompaniment float32), for ``feature_encoder`` to turn into features later.

    Training: shuffled shards and crops, random crop positions, repeated forever.
    Evaluation: shards in order, one crop from the start of each segment, one pass.
    Batches are always full (drop_remainder) so every replica gets the same share.
    ``worker`` = (index, count): with several machines each reads every count-th shard that
    holds segments from its index (tf.distribute's own auto-sharding is switched off, so the
    split is ours; empty shards of dead-lettered tracks never make a machine's share empty).
    ``level``: ``config.level_match``'s ``source_level`` if the caller has read it, else read here.
    """
    paths = _shard_paths(manifest, data_dir, split, worker)
    frames = manifest.config.segment_frames
    if config.crop_frames > frames:
        raise DatasetError(f"--crop_frames {config.crop_frames} exceeds the segments' {frames} frames")
    if config.level_match and encode and level is None:
        level = source_level(manifest, data_dir, config)
    crops = _crops(manifest, config, training, seed, encode, level)
    files = tf.data.Dataset.from_tensor_slices(paths)
    if training:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
    dataset = files.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=manifest.tf_compression),
        cycle_length=min(len(paths), 4),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not training,
    )
    if training:
        dataset = dataset.interleave(crops, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        dataset = dataset.shuffle(config.shuffle_buffer, seed=seed)
    else:
        dataset = dataset.flat_map(crops)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE).with_options(options)


def _shard_paths(manifest: Manifest, data_dir: str, split: str, worker: tuple[int, int]) -> list[str]:
    """The shards of ``split`` holding segments that machine ``worker[0]`` of ``worker[1]`` reads."""
    shards = [shard for shard in manifest.shards if shard.split == split and shard.segments > 0]
    if not shards:
        raise DatasetError(f"split {split!r} of {data_dir} holds no segments")
    index, workers = worker
    if workers > 1:
        if len(shards) < workers:
            raise DatasetError(
                f"split {split!r} of {data_dir} has {len(shards)} shard(s) holding segments for {workers} machines, "
                "which read a share each: rebuild it with more shards (--tracks_per_shard 1) or use fewer machines"
            )
        shards = shards[index::workers]
    paths = [manifest.shard_path(data_dir, shard) for shard in shards]
    if workers > 1:
        log.info("machine %d of %d reads %d %s shards: %s", index, workers, len(paths), split, ", ".join(paths))
    return paths


def _crops(
    manifest: Manifest, config: InputConfig, training: bool, seed: int | None, encode: bool, level: float | None
):
    """serialized record -> dataset of its (source, target) crops, as features or as stored:
    random positions in training, one crop from the start in evaluation."""
    frames, hop, spec = manifest.config.segment_frames, manifest.config.hop_length, manifest.record_spec
    features = feature_encoder(manifest, config, training, seed, level)

    def crops(serialized):
        parsed = spec.parse_tf(serialized)
        valid_frames = tf.cast(parsed["valid_samples"] // hop + 1, tf.int32)
        last_start = tf.maximum(tf.minimum(valid_frames, frames) - config.crop_frames, 0)
        if training:
            starts = tf.random.uniform([config.crops_per_segment], 0, last_start + 1, dtype=tf.int32, seed=seed)
        else:
            starts = tf.zeros([1], tf.int32)
        source, target = parsed[config.source], tuple(_target(parsed, stem) for stem in config.targets)

        def crop(start):
            end = start + config.crop_frames
            pair = source[:, :, start:end], tuple(stem[:, :, start:end] for stem in target)
            return features(*pair) if encode else pair

        if encode:
            rows, channels = config.features.rows, config.features.channels
            signature = tuple(
                tf.TensorSpec((rows, config.crop_frames, channels * stems), tf.float32) for stems in (1, len(target))
            )
        else:
            stored = lambda x: tf.TensorSpec([*x.shape[:2], config.crop_frames, 2], x.dtype)  # noqa: E731
            signature = (stored(source), tuple(stored(stem) for stem in target))
        return tf.data.Dataset.from_tensor_slices(tf.map_fn(crop, starts, fn_output_signature=signature))

    return crops
