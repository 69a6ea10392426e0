"""gs:// end to end against a real GCS API on loopback (tests/gcs_emulator.py): the dataset
job from gs:// to gs://, the trainer reading shards from and checkpointing to gs://
(TensorFlow's own GCS file system), and generation from a model in gs://."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import SEGMENT_SECONDS, shard_bytes, sung, vocal_in_song

from vocals2song import storage

pytestmark = pytest.mark.gcs

BUCKET = "vocals2song-test"
pytest.importorskip("gcp_storage_emulator", reason="gcp-storage-emulator is in the [dev] extra")


@pytest.fixture(scope="module")
def gcs(tmp_path_factory):
    import gcsfs
    from gcs_emulator import gcs_emulator

    with gcs_emulator(str(tmp_path_factory.mktemp("gcs")), BUCKET) as environment:
        gcsfs.GCSFileSystem.clear_instance_cache()
        yield environment
    gcsfs.GCSFileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def gs_dataset(gcs, musdb_root) -> str:
    """The generated MUSDB18-HQ root uploaded to gs://, and the dataset job run gs:// -> gs://."""
    from pipelines import dataset
    from pipelines.options import make_options

    fs, _ = storage.filesystem(f"gs://{BUCKET}/")
    fs.put(musdb_root.rstrip("/") + "/", f"{BUCKET}/musdb", recursive=True)
    out = f"gs://{BUCKET}/datasets/test"
    options = make_options(f"gs://{BUCKET}/musdb", out, segment_seconds=SEGMENT_SECONDS)
    dataset.run(options, ["--runner=DirectRunner"], ["test"])
    return out


def test_the_dataset_job_runs_from_gs_to_gs_and_writes_what_it_writes_locally(gs_dataset, dataset_dir, tmp_path):
    from vocals2song import inspection
    from vocals2song.manifest import read_manifest

    fs, root = storage.filesystem(gs_dataset)
    fs.invalidate_cache()
    fs.get(root + "/", str(tmp_path / "copy") + "/", recursive=True)
    assert shard_bytes(str(tmp_path / "copy")) == shard_bytes(dataset_dir)  # byte for byte
    remote, local = read_manifest(gs_dataset), read_manifest(dataset_dir)
    assert (remote.shards, remote.tracks, remote.failures) == (local.shards, local.tracks, local.failures)
    _, checks = inspection.check_shards(gs_dataset)  # every record parses, through TensorFlow's GCS reader
    assert checks and all(check.ok for check in checks)


def test_training_reads_and_checkpoints_on_gs_and_generation_loads_from_gs(gs_dataset):
    import tensorflow as tf

    from trainer import export, generate, inputs, models, train

    model_dir = f"gs://{BUCKET}/models/test"
    config = train.TrainConfig(
        gs_dataset,
        model_dir,
        steps=2,
        batch_size=2,
        log_every=1,
        summary_every=2,
        eval_every=2,
        checkpoint_every=1,
        input=inputs.InputConfig(target="accompaniment", crop_frames=64, shuffle_buffer=4),
        model=models.ModelConfig(filters=4, depth=4, dropout=0.0, disc_filters=4),
    )
    result = train.train(config)
    assert result["step"] == 2
    assert tf.train.latest_checkpoint(f"{model_dir}/checkpoints").endswith("ckpt-2")
    assert export.load_model(model_dir).step == 2
    assert tf.io.gfile.glob(f"{model_dir}/summaries/train/events.out.tfevents.*")
    rows = [json.loads(line) for line in storage.read_text(f"{model_dir}/train_log.jsonl").splitlines()]
    assert [row["step"] for row in rows] == [1, 2]

    # A rerun to step 3 resumes from the checkpoint in gs:// and appends to the log.
    assert train.train(dataclasses.replace(config, steps=3))["step"] == 3
    rows = [json.loads(line) for line in storage.read_text(f"{model_dir}/train_log.jsonl").splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3]

    model = export.load_model(model_dir)
    assert model.step == 3
    vocal = sung(2.0, 22050, 1)
    song = generate.generate(model, vocal, 22050, phase="predicted")
    gain, rest = vocal_in_song(song, vocal)
    assert song.shape == (1, 44100) and 0.4 < gain < 1.02 and rest > 0.05, (gain, rest)
