import pytest

from pipelines import tracks
from pipelines.segments import segment_starts


def found(train: list[str], test: list[str] = ()) -> list[tuple[str, str, str]]:
    return [(name, "train", f"/r/train/{name}") for name in train] + [
        (name, "test", f"/r/test/{name}") for name in test
    ]


def test_official_validation_tracks_go_to_valid():
    names = ["Leaf - Summerghost", "ANiMAL - Rockshow", "Someone - Else", "Other - Song"]
    assigned = {track.name: track.split for track in tracks.assign_splits(found(names, ["T - 1"]), 0.5)}
    assert assigned == {
        "Leaf - Summerghost": "valid",
        "ANiMAL - Rockshow": "valid",
        "Someone - Else": "train",
        "Other - Song": "train",
        "T - 1": "test",
    }


def test_fallback_valid_split_is_a_stable_fraction_independent_of_order():
    names = [f"Synth {index:03d}" for index in range(20)]
    first = tracks.assign_splits(found(names), 0.2)
    second = tracks.assign_splits(found(list(reversed(names))), 0.2)
    assert first == second
    assert sum(track.split == "valid" for track in first) == 4


def test_splits_are_disjoint_and_cover_every_track():
    names = [f"Synth {index:03d}" for index in range(10)]
    assigned = tracks.assign_splits(found(names, ["A", "B"]), 0.3)
    by_split = {split: {t.name for t in assigned if t.split == split} for split in ("train", "valid", "test")}
    assert not (by_split["train"] & by_split["valid"]) and not (by_split["train"] & by_split["test"])
    assert not (by_split["valid"] & by_split["test"])
    assert set().union(*by_split.values()) == set(names) | {"A", "B"}


def test_shards_group_whole_tracks_per_split():
    assigned = tracks.assign_splits(found([f"S{index}" for index in range(5)], ["T"]), 0.2)
    shards = tracks.plan_shards(assigned, 2, ".tfrecord")
    assert [shard.path for shard in shards] == [
        "train/train-00000-of-00002.tfrecord",
        "train/train-00001-of-00002.tfrecord",
        "valid/valid-00000-of-00001.tfrecord",
        "test/test-00000-of-00001.tfrecord",
    ]
    assert all(track.split == shard.split for shard in shards for track in shard.tracks)


def test_stray_files_and_hidden_folders_are_dead_letters(tmp_path):
    (tmp_path / "train" / "Real - Track").mkdir(parents=True)
    (tmp_path / "train" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "notes.txt").write_text("x")
    found_tracks, rejected = tracks.discover(str(tmp_path))
    assert [name for name, _, _ in found_tracks] == ["Real - Track"]
    reasons = {letter.track: letter.reason for letter in rejected}
    assert "hidden folder" in reasons[".ipynb_checkpoints"] and "stray file" in reasons["notes.txt"]


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(tracks.InputError, match="does not exist"):
        tracks.discover(str(tmp_path / "nowhere"))


def test_root_without_track_folders_is_a_clear_error(tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(tracks.InputError, match="no track folders"):
        tracks.discover(str(tmp_path))


def test_segments_cover_the_track_and_only_the_last_is_padded():
    assert segment_starts(10, 4, 4) == [0, 4, 8]
    assert segment_starts(8, 4, 4) == [0, 4]
    assert segment_starts(3, 4, 4) == [0]
    assert segment_starts(10, 4, 2) == [0, 2, 4, 6]
