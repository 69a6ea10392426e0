"""Every kind of bad input becomes one dead letter; the good tracks are all written."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
import soundfile

from vocals2song import synth
from vocals2song.cli import main
from vocals2song.manifest import SPLITS, read_manifest

RATE = 44100


def damage(root: str) -> dict[str, str]:
    """Breaks eight train tracks, each in another way; returns track -> expected reason."""
    train = os.path.join(root, "train")
    names = sorted(os.listdir(train))
    folder = {index: os.path.join(train, names[index]) for index in range(len(names))}
    vocals = soundfile.read(os.path.join(folder[3], "vocals.wav"), always_2d=True)[0]

    with open(os.path.join(folder[0], "vocals.wav"), "wb") as handle:
        handle.write(b"this is not a wav file" * 100)
    whole = open(os.path.join(folder[1], "mixture.wav"), "rb").read()
    open(os.path.join(folder[1], "mixture.wav"), "wb").write(whole[: len(whole) // 2])
    os.remove(os.path.join(folder[2], "vocals.wav"))
    soundfile.write(os.path.join(folder[3], "vocals.wav"), vocals[::2], RATE // 2, subtype="PCM_16")
    soundfile.write(os.path.join(folder[4], "vocals.wav"), vocals[: RATE // 2], RATE, subtype="PCM_16")
    soundfile.write(os.path.join(folder[5], "mixture.wav"), np.zeros((0, 2)), RATE, subtype="PCM_16")
    nan = vocals.astype(np.float32)
    nan[100, 0] = np.nan
    soundfile.write(os.path.join(folder[6], "vocals.wav"), nan, RATE, subtype="FLOAT")
    wide = soundfile.read(os.path.join(folder[7], "vocals.wav"), always_2d=True)[0]
    soundfile.write(os.path.join(folder[7], "vocals.wav"), np.tile(wide[:, :1], (1, 9)), RATE, subtype="PCM_16")
    os.makedirs(os.path.join(train, ".ipynb_checkpoints"))
    open(os.path.join(train, "README.txt"), "w").write("not a track")
    return {
        names[0]: "not a readable audio file",
        names[1]: "truncated",
        names[2]: "missing stem",
        names[3]: "sample rate 22050 Hz differs",
        names[4]: "stems must have equal length",
        names[5]: "zero-length",
        names[6]: "non-finite samples",
        names[7]: "9 channels, over the limit of 8",
        ".ipynb_checkpoints": "hidden folder",
        "README.txt": "stray file",
    }


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A root with ten kinds of bad input beside four good tracks, and the dataset job's run on
    it: (root, output, expected reasons, exit code, what it printed). The job runs here, not in a
    test, so each test reads its output whichever order (or worker) the tests run in."""
    root = str(tmp_path_factory.mktemp("bad") / "musdb")
    synth.write_musdb(root, 12, 1.0, seed=3)  # 8 train tracks, 4 test tracks
    expected = damage(root)
    out = str(tmp_path_factory.mktemp("bad") / "data")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            ["dataset", "--musdb_root", root, "--output_dir", out, "--segment_seconds", "1", "--runner", "DirectRunner"]
        )
    return root, out, expected, code, printed.getvalue()


def test_each_bad_input_is_one_dead_letter_and_good_tracks_are_written(damaged):
    root, out, expected, code, printed = damaged
    assert code == 0
    assert "10 track(s) or entries went to the dead letters" in printed

    manifest = read_manifest(out)
    reasons = {failure["track"]: failure["reason"] for failure in manifest.failures}
    assert set(reasons) == set(expected)
    for track, reason in expected.items():
        assert reason in reasons[track], (track, reasons[track])
    written = {name for split in SPLITS for name in manifest.tracks[split]}
    good = {name for split in ("train", "test") for name in os.listdir(os.path.join(root, split))} - set(expected)
    assert written == good and len(good) == 4
    assert sum(manifest.segments(split) for split in SPLITS) == len(good)


def test_dead_letters_name_the_file(damaged):
    out = damaged[1]
    rows = [json.loads(line) for line in open(os.path.join(out, "failures", "failures-00000-of-00001.jsonl"))]
    assert len(rows) == 10
    missing = next(row for row in rows if "missing stem" in row["reason"])
    assert missing["file"].endswith(os.path.join(missing["track"], "vocals.wav"))


def test_a_truncated_training_shard_is_named_not_a_bare_data_loss_error(dataset_dir, tmp_path, capsys):
    import shutil

    data = str(tmp_path / "data")
    shutil.copytree(dataset_dir, data)
    manifest = read_manifest(data)
    victim = manifest.shard_paths(data, "train")[0]
    with open(victim, "r+b") as handle:
        handle.truncate(os.path.getsize(victim) // 2)
    tiny = ["--filters", "4", "--depth", "4", "--disc_filters", "4", "--crop_frames", "64", "--batch_size", "2"]
    assert main(["train", "--data_dir", data, "--model_dir", str(tmp_path / "m"), "--steps", "20", *tiny]) == 2
    error = capsys.readouterr().err
    assert f"unreadable training shard(s) in {data}: {victim}" in error and "rebuild" in error.lower()
    assert error.count(".tfrecord") == 1  # the healthy shards are not blamed


def test_a_full_disk_fails_the_job_with_one_message_and_a_rerun_with_space_completes(musdb_root, tmp_path, capsys):
    import errno

    from pipelines import shards

    out = str(tmp_path / "data")
    command = ["dataset", "--musdb_root", musdb_root, "--output_dir", out, "--segment_seconds", "2"]
    real, calls = shards._TFRecordUtil.write_record, []

    def fills_up(handle, record):
        calls.append(1)
        if len(calls) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(handle, record)

    shards._TFRecordUtil.write_record = fills_up
    try:
        assert main(command) == 2
    finally:
        shards._TFRecordUtil.write_record = real
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"vocals2song dataset: error: [Errno 28] {out}: the disk filled up"), error
    assert not os.path.exists(os.path.join(out, "dataset.json"))

    assert main(command) == 0
    assert read_manifest(out).segments("train") > 0
    left = [name for _, _, names in os.walk(out) for name in names if name.endswith(".incomplete")]
    assert left == [] and not [name for name in os.listdir(os.path.join(out, "failures")) if "beam-temp" in name]
