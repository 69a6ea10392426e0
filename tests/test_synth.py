import os
import time

import librosa
import numpy as np
import pytest
import soundfile

from vocals2song import audio, synth
from vocals2song.cli import main
from vocals2song.config import MUSDB_FILES, SOURCES


def test_layout_and_split(musdb_root):
    train = sorted(os.listdir(os.path.join(musdb_root, "train")))
    test = sorted(os.listdir(os.path.join(musdb_root, "test")))
    assert (len(train), len(test)) == (4, 2)
    for name in train + test:
        folder = os.path.join(musdb_root, "train" if name in train else "test", name)
        assert sorted(os.listdir(folder)) == ["bass.wav", "drums.wav", "mixture.wav", "other.wav", "vocals.wav"]


def test_stems_are_44k1_stereo_pcm16_and_mixture_is_their_sum(musdb_root):
    folder = os.path.join(musdb_root, "train", sorted(os.listdir(os.path.join(musdb_root, "train")))[0])
    stems = {name: audio.read(os.path.join(folder, f"{name}.wav")) for name in MUSDB_FILES}
    for waveform, rate in stems.values():
        assert rate == 44100 and waveform.shape == (2, 5 * 44100)
    assert soundfile.info(os.path.join(folder, "mixture.wav")).subtype == "PCM_16"
    parts = sum(stems[name][0] for name in SOURCES)
    np.testing.assert_array_equal(parts, stems["mixture"][0])


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    synth.write_musdb(str(tmp_path / "a"), 1, 2.0, seed=1)
    synth.write_musdb(str(tmp_path / "b"), 1, 2.0, seed=1)
    synth.write_musdb(str(tmp_path / "c"), 1, 2.0, seed=2)

    def vocals(root):
        (name,) = os.listdir(root / "train")
        return (root / "train" / name / "vocals.wav").read_bytes()

    assert vocals(tmp_path / "a") == vocals(tmp_path / "b")
    assert vocals(tmp_path / "a") != vocals(tmp_path / "c")


@pytest.mark.slow
def test_synthesising_a_track_costs_at_most_a_few_stfts_of_its_stems():
    """Timed against work in the same process, as machines differ: making 30 s of stems takes at
    most 8x their STFT (about 3x measured on 2 cores), so generated test data stays cheap."""
    from vocals2song import codec
    from vocals2song.config import SpectralConfig

    def best_of_two(work) -> float:
        times = []
        for _ in range(2):
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
        return min(times)

    _, stems = synth.synth_track(30.0, np.random.default_rng(0))
    making = best_of_two(lambda: synth.synth_track(30.0, np.random.default_rng(0)))
    encoding = best_of_two(lambda: [codec.stft(stem, SpectralConfig()) for stem in stems.values()])
    assert making < 8 * encoding, (making, encoding)


@pytest.mark.slow
def test_accompaniment_plays_in_the_vocal_key():
    """The pitch-class profile (chroma) of a track's vocal matches its own chord part
    better than, on average, the chord parts of other tracks: the accompaniment follows
    the melody's harmony."""

    def chroma(waveform):
        return librosa.feature.chroma_cqt(y=waveform.mean(axis=0), sr=synth.SAMPLE_RATE).mean(axis=1)

    tracks = [synth.synth_track(8.0, np.random.default_rng([11, index]))[1] for index in range(6)]
    vocals = [chroma(stems["vocals"]) for stems in tracks]
    chords = [chroma(stems["other"]) for stems in tracks]
    similarity = np.array([[np.corrcoef(v, c)[0, 1] for c in chords] for v in vocals])
    own = np.diag(similarity)
    others = (similarity.sum(axis=1) - own) / (len(tracks) - 1)
    assert np.all(own > others + 0.2), similarity


def test_cli_writes_the_requested_tracks(tmp_path):
    assert main(["synth-musdb", str(tmp_path), "--tracks", "3", "--seconds", "1", "--seed", "4"]) == 0
    assert len(os.listdir(tmp_path / "train")) == 2 and len(os.listdir(tmp_path / "test")) == 1
