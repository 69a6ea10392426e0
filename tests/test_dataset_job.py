"""The Beam job end to end on generated MUSDB18-HQ-layout data, on the DirectRunner."""

import glob
import hashlib
import json
import math
import os

import numpy as np
import pytest
import soundfile
from conftest import SEGMENT_SECONDS, shard_bytes

from pipelines import dataset
from pipelines.options import DatasetOptions, make_options
from vocals2song import audio, codec, features, inspection
from vocals2song.cli import main
from vocals2song.manifest import SPLITS, read_manifest


def run_job(root: str, out: str, *beam_args: str, **options) -> dict:
    job = make_options(root, out, segment_seconds=SEGMENT_SECONDS, **options)
    return dataset.run(job, ["--runner=DirectRunner", *beam_args], ["test"])


@pytest.fixture
def job(dataset_dir) -> str:
    return dataset_dir


def expected_segments(root: str, split_of: dict[str, str]) -> dict[str, int]:
    """Segments per split implied by the audio lengths: ceil(length / segment)."""
    counts = dict.fromkeys(SPLITS, 0)
    for path in glob.glob(os.path.join(root, "*", "*", "mixture.wav")):
        frames = soundfile.info(path).frames
        counts[split_of[os.path.basename(os.path.dirname(path))]] += math.ceil(frames / (SEGMENT_SECONDS * 44100))
    return counts


def test_counts_per_split_follow_from_the_audio_lengths(job, musdb_root):
    manifest = read_manifest(job)
    split_of = {name: split for split, names in manifest.tracks.items() for name in names}
    assert len(split_of) == 6 and {len(manifest.tracks[s]) for s in SPLITS} <= {1, 2, 3}
    assert {split: manifest.segments(split) for split in SPLITS} == expected_segments(musdb_root, split_of)


def test_no_track_is_in_two_splits(job):
    manifest = read_manifest(job)
    seen = {}
    for split in SPLITS:
        for segment in inspection.read_segments(manifest, job, split):
            assert seen.setdefault(segment.track, split) == split
            assert segment.split == split
    assert set(seen) == {name for names in manifest.tracks.values() for name in names}


def test_every_shard_parses_and_matches_the_manifest(job):
    _, checks = inspection.check_shards(job)
    assert checks and all(check.ok for check in checks), checks


def test_stored_segments_decode_to_the_original_audio(job, musdb_root):
    manifest = read_manifest(job)
    config = manifest.config
    segment = next(s for s in inspection.read_segments(manifest, job, "test") if s.index == 2)
    (folder,) = glob.glob(os.path.join(musdb_root, "test", segment.track))
    vocals, _ = audio.read(os.path.join(folder, "vocals.wav"))
    original = vocals.mean(axis=0, keepdims=True)[
        :, segment.start_sample : segment.start_sample + segment.valid_samples
    ]
    decoded = codec.decode(segment.stems["vocals"], config, config.segment_samples)
    assert segment.valid_samples == 1 * 44100  # 5 s track, third 2 s segment holds 1 s
    assert codec.snr_db(original, decoded[:, : segment.valid_samples]) > 70
    assert np.abs(decoded[:, segment.valid_samples + config.n_fft :]).max() < 1e-3  # zero padding


def test_manifest_records_config_statistics_and_command(job):
    manifest = read_manifest(job)
    assert manifest.config.segment_seconds == SEGMENT_SECONDS and manifest.stems == ("vocals", "mixture")
    assert manifest.command == ["test"] and manifest.version
    for stem in ("vocals", "mixture"):
        mean, std = manifest.stat_arrays(stem)
        assert mean.shape == std.shape == (513,)
        assert np.all(np.isfinite(mean)) and np.all(std > 0)
        assert manifest.stats[stem]["frames"] > 0


def test_statistics_are_the_train_splits_as_the_features_see_it(job):
    """Direct numpy mean/std over the train split's valid frames of the mid channel, with the
    accompaniment derived; valid and test frames excluded (the frame counts say so)."""
    manifest = read_manifest(job)
    frames: dict[str, list[np.ndarray]] = {"vocals": [], "mixture": [], "accompaniment": []}
    for segment in inspection.read_segments(manifest, job, "train"):
        valid = min(manifest.config.frames(segment.valid_samples), manifest.config.segment_frames)
        mid = {stem: codec.stored_to_complex(segment.stems[stem]).mean(axis=0)[:, :valid] for stem in manifest.stems}
        mid["accompaniment"] = mid["mixture"] - mid["vocals"]
        for stem, spectrum in mid.items():
            frames[stem].append(features.log_magnitude(spectrum))
    assert sorted(manifest.stats) == sorted(frames)
    for stem, parts in frames.items():
        values = np.concatenate(parts, axis=1)
        mean, std = manifest.stat_arrays(stem)
        assert manifest.stats[stem]["frames"] == values.shape[1]
        np.testing.assert_allclose(mean, values.mean(axis=1), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(std, values.std(axis=1), rtol=1e-3, atol=1e-3)


def test_two_runs_write_identical_shards(job, musdb_root, tmp_path):
    again = str(tmp_path / "again")
    run_job(musdb_root, again)
    assert shard_bytes(again) == shard_bytes(job)


@pytest.mark.slow
def test_multi_processing_runner_writes_the_same_shards(job, musdb_root, tmp_path):
    out = str(tmp_path / "multi")
    run_job(musdb_root, out, "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert shard_bytes(out) == shard_bytes(job)
    for stem in ("vocals", "mixture"):  # sums merged in another order: equal up to rounding
        for ours, theirs in zip(
            read_manifest(out).stat_arrays(stem), read_manifest(job).stat_arrays(stem), strict=True
        ):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_an_existing_data_set_is_not_replaced_without_overwrite(job, musdb_root, capsys):
    before = shard_bytes(job)
    args = ["dataset", "--musdb_root", musdb_root, "--output_dir", job, "--segment_seconds", str(SEGMENT_SECONDS)]
    assert main(args) == 2
    assert "already holds a data set" in capsys.readouterr().err
    assert shard_bytes(job) == before


def test_dry_run_prints_the_plan_and_writes_nothing(musdb_root, tmp_path, capsys):
    out = tmp_path / "dry"
    assert main(["dataset", "--musdb_root", musdb_root, "--output_dir", str(out), "--dry_run"]) == 0
    printed = capsys.readouterr().err  # the plan is logged
    assert "train:" in printed and "estimated output" in printed
    assert not out.exists()


def test_empty_root_is_an_error_before_any_work(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["dataset", "--musdb_root", str(tmp_path / "empty"), "--output_dir", str(tmp_path / "out")]) == 2
    assert "no track folders" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_stereo_gzip_and_accompaniment_options(musdb_root, tmp_path):
    out = str(tmp_path / "stereo")
    run_job(musdb_root, out, channels="stereo", compression="gzip", stems=("vocals", "accompaniment"))
    manifest = read_manifest(out)
    assert manifest.record_spec.stem_shape[0] == 2 and manifest.compression == "gzip"
    assert all(path.endswith(".tfrecord.gz") for path in shard_bytes(out))
    segment = next(inspection.read_segments(manifest, out, "train"))
    (folder,) = glob.glob(os.path.join(musdb_root, "*", segment.track))
    parts = sum(audio.read(os.path.join(folder, f"{name}.wav"))[0] for name in ("drums", "bass", "other"))
    decoded = codec.decode(segment.stems["accompaniment"], manifest.config, manifest.config.segment_samples)
    assert codec.snr_db(parts[:, : decoded.shape[1]], decoded) > 70


def test_silent_vocal_segments_are_skipped_and_counted(musdb_root, tmp_path):
    out = str(tmp_path / "loud")
    summary = run_job(musdb_root, out, min_vocal_db=0.0)  # nothing is that loud
    manifest = read_manifest(out)
    assert sum(manifest.segments(split) for split in SPLITS) == 0
    assert sum(manifest.skipped_segments.values()) == summary["counters"]["segments_skipped_silent"] == 18
    assert json.loads(open(os.path.join(out, "dataset.json")).read())["options"]["min_vocal_db"] == 0.0


def test_preflight_refuses_a_destination_without_space_and_writes_nothing(musdb_root, tmp_path, monkeypatch, capsys):
    from vocals2song import storage

    monkeypatch.setattr(storage, "free_bytes", lambda path: 1000)
    out = tmp_path / "full"
    assert main(["dataset", "--musdb_root", musdb_root, "--output_dir", str(out)]) == 2
    assert "has 0.00 GB free, the data set needs about" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_gzip_and_uncompressed_shards_read_back_identically(job, musdb_root, tmp_path):
    out = str(tmp_path / "gzip")
    run_job(musdb_root, out, compression="gzip")
    plain, packed = read_manifest(job), read_manifest(out)
    for split in SPLITS:
        ours = list(inspection.read_segments(plain, job, split))
        theirs = list(inspection.read_segments(packed, out, split))
        assert len(ours) == len(theirs) > 0
        for a, b in zip(ours, theirs, strict=True):
            assert (a.track, a.index) == (b.track, b.index)
            for stem in a.stems:
                np.testing.assert_array_equal(a.stems[stem], b.stems[stem])
    assert sum(os.path.getsize(p) for p in glob.glob(os.path.join(out, "*", "*.gz"))) < sum(
        os.path.getsize(p) for p in glob.glob(os.path.join(job, "*", "*.tfrecord"))
    )


def test_the_stft_flags_reach_the_manifest_and_the_records(musdb_root, tmp_path):
    out = str(tmp_path / "d")
    run_job(musdb_root, out, n_fft=2048, hop_length=512)
    manifest = read_manifest(out)
    assert (manifest.config.n_fft, manifest.config.hop_length) == (2048, 512)
    segment = next(inspection.read_segments(manifest, out, "train"))
    spectrum = codec.stored_to_complex(segment.stems["vocals"])
    assert spectrum.shape[1:] == (1025, manifest.config.segment_frames)


SHARDS_DIGEST = "1466e58a7f266e9919651e42fe1a037a1236e7ab2fccdf3643d9a3af8534017a"
"""sha256 over (relative path, bytes) of every shard the default job writes for
``synth.write_musdb(root, 3, 16.0, seed=7)``: measured with the code before issue #16's
rewrite of the STFT, the packing and the serialisation, and unchanged by it."""


@pytest.mark.slow
def test_shards_are_byte_identical_to_the_checked_in_digest(tmp_path):
    """A change to what the job writes fails here; a deliberate one updates the digest (and
    bumps SCHEMA_VERSION if readers must tell the records apart). The digest depends on numpy's
    FFT and cosine, so a numpy upgrade may move it: compare the records before updating."""
    from vocals2song import synth

    root, out = str(tmp_path / "musdb"), str(tmp_path / "out")
    synth.write_musdb(root, 3, 16.0, seed=7)
    dataset.run(DatasetOptions(musdb_root=root, output_dir=out), ["--runner=DirectRunner"], ["test"])
    digest = hashlib.sha256()
    for name, data in shard_bytes(out).items():
        digest.update(name.encode())
        digest.update(data)
    assert sorted(shard_bytes(out)) == [f"{s}/{s}-00000-of-00001.tfrecord" for s in ("test", "train", "valid")]
    assert digest.hexdigest() == SHARDS_DIGEST
