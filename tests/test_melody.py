"""Transcription of a solo vocal into notes (vocals2song/melody.py)."""

import numpy as np
import pytest

from vocals2song import audio, codec, melody
from vocals2song.config import SpectralConfig

RATE = 44100
CONFIG = SpectralConfig(sample_rate=RATE, n_fft=4096, hop_length=1024)


def sung_notes(notes: list[tuple[int | None, float]], cents: float = 0.0, vibrato: float = 0.004) -> np.ndarray:
    """(MIDI pitch or None for a rest, seconds) -> a mono voice-like tone per note: six
    harmonics falling off, a short attack and release, a vibrato of +-``vibrato`` (a fraction
    of the frequency); ``cents`` off A = 440."""
    pieces = []
    for pitch, seconds in notes:
        t = np.arange(int(seconds * RATE)) / RATE
        if pitch is None:
            pieces.append(np.zeros_like(t))
            continue
        f0 = 440.0 * 2 ** ((pitch - 69 + cents / 100) / 12) * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        tone = sum(0.6**h * np.sin((h + 1) * phase) for h in range(6))
        envelope = np.minimum(1.0, np.minimum(t, seconds - t) / 0.03)
        pieces.append(0.2 * tone * envelope)
    return np.concatenate(pieces)[np.newaxis].astype(np.float32)


def transcribed(notes):
    spectrum = codec.stft(sung_notes(notes), CONFIG)[0]
    return melody.transcribe(np.abs(spectrum), RATE, CONFIG.n_fft)


def test_a_sung_line_becomes_its_notes_with_rests_and_a_repeated_note():
    line = [(72, 0.5), (76, 0.4), (None, 0.3), (79, 0.6), (None, 0.12), (79, 0.5), (60, 0.7), (84, 0.4)]
    notes = transcribed(line)
    assert [n.pitch for n in notes] == [72, 76, 79, 79, 60, 84]
    onsets = np.cumsum([0.0] + [seconds for _, seconds in line])[[0, 1, 3, 5, 6, 7]]
    hop_seconds = CONFIG.hop_length / RATE
    assert np.all(np.abs(np.array([n.first for n in notes]) * hop_seconds - onsets) < 0.1)
    assert notes[1].end * hop_seconds < 1.05  # the rest (0.9-1.2 s) is not part of the note before it


def test_silence_and_very_short_blips_make_no_notes():
    assert transcribed([(None, 2.0)]) == []
    assert transcribed([(None, 0.5), (70, 0.05), (None, 0.5)]) == []


def test_a_strong_second_harmonic_does_not_move_the_note_an_octave():
    """A pitch an octave below shares every even harmonic; its odd ones are absent, and the
    salience counts absent harmonics against it."""
    assert [n.pitch for n in transcribed([(67, 0.8), (62, 0.8)])] == [67, 62]


def bright_low_line(pitches: list[int], seconds: float = 0.6) -> np.ndarray:
    """A belted low voice through a small microphone: 40 harmonics falling 6 dB an octave with a
    singer's formant near 3 kHz and an "ah" (F1 800 Hz), a 5.5 Hz vibrato, high-passed at 250 Hz."""
    from scipy.signal import butter, sosfilt

    t = np.arange(int(seconds * RATE)) / RATE
    pieces = []
    for pitch in pitches:
        hz = 440.0 * 2 ** ((pitch - 69) / 12)
        phase = 2 * np.pi * np.cumsum(hz * (1 + 0.004 * np.sin(2 * np.pi * 5.5 * t))) / RATE
        harmonics = np.arange(1, 41)
        peaks = sum(3 * np.exp(-(((harmonics * hz - f) / (0.12 * f)) ** 2)) for f in (800, 1150, 2900, 3000))
        weights = (0.25 + peaks) / harmonics * (harmonics * hz < RATE / 2)
        tone = sum(w * np.sin(h * phase) for h, w in zip(harmonics, weights, strict=True))
        pieces.append(tone * np.minimum(1.0, np.minimum(t, seconds - t) / 0.03))
    line = sosfilt(butter(2, 250, "highpass", fs=RATE, output="sos"), np.concatenate(pieces))
    return (0.1 * line / np.abs(line).max())[np.newaxis].astype(np.float32)


def test_a_bright_low_voice_is_read_at_its_pitch_not_an_octave_up():
    """Its harmonics are so even that the octave above (every other one of them) scores as well as
    the sung pitch; the pitch an octave below a candidate sounding its own odd harmonics counts
    against it, so each note reads where it was sung."""
    line = [50, 53, 55, 57, 52, 48, 50]
    notes = melody.transcribe(np.abs(codec.stft(bright_low_line(line), CONFIG)[0]), RATE, CONFIG.n_fft)
    assert [n.pitch for n in notes] == line


def test_a_take_sung_off_a440_is_measured_and_transcribed_once_resampled_to_440():
    """A take 40 cents sharp with a +-50-cent vibrato crosses into the next semitone on every
    cycle: read at A = 440 it splits into extra notes. Its tuning is measured through the
    vibrato, and resampled by it the take reads right."""
    line = [(67, 0.6), (69, 0.5), (71, 0.5), (72, 0.8), (74, 0.4), (72, 0.6)]
    pitches = [pitch for pitch, _ in line]
    sharp = sung_notes(line, 40.0, vibrato=0.03)
    assert [n.pitch for n in melody.transcribe(np.abs(codec.stft(sharp, CONFIG)[0]), RATE, CONFIG.n_fft)] != pitches
    for cents, vibrato in ((0.0, 0.004), (0.0, 0.03), (40.0, 0.004), (40.0, 0.03), (-35.0, 0.03)):
        take = sung_notes(line, cents, vibrato)
        offset = melody.tuning(np.abs(codec.stft(take, CONFIG)[0]), RATE, CONFIG.n_fft)
        assert offset == 0.0 if not cents else abs(offset - cents / 100) < 0.03
        in_tune = np.abs(codec.stft(audio.retuned(take, RATE, -offset), CONFIG)[0])
        assert [n.pitch for n in melody.transcribe(in_tune, RATE, CONFIG.n_fft)] == pitches


def test_retuning_moves_every_pitch_and_a_round_trip_restores_the_take():
    take = sung_notes([(69, 1.0)])
    up = audio.retuned(take, RATE, 0.5)
    assert abs(up.shape[1] - take.shape[1] / 2 ** (0.5 / 12)) <= 1
    peak = [np.argmax(np.abs(np.fft.rfft(x[0], 2**17))) * RATE / 2**17 for x in (take, up)]
    assert abs(12 * np.log2(peak[1] / peak[0]) - 0.5) < 0.02
    back = audio.retuned(up, RATE, -0.5)[:, : take.shape[1]]
    np.testing.assert_allclose(back[:, 2000:-2000], take[:, 2000 : back.shape[1] - 2000], atol=1e-4)
    assert melody.tuning(np.zeros((CONFIG.n_fft // 2 + 1, 20)), RATE, CONFIG.n_fft) == 0.0


def test_a_pure_tone_reads_as_its_own_pitch_not_a_low_candidate_whose_harmonics_catch_its_sidelobes():
    """A whistle or a sine has no harmonics: its window's sidelobes, far above the frame's median
    bin, used to add up over a low candidate's harmonics and outscore the fundamental (a 220 Hz
    sine read as E2, the lowest candidate)."""
    t = np.arange(2 * RATE) / RATE
    for pitch in (57, 69, 86):  # A3, A4, a whistle's D6
        tone = 0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((pitch - 69) / 12) * t)
        notes = melody.transcribe(np.abs(codec.stft(tone[np.newaxis], CONFIG)[0]), RATE, CONFIG.n_fft)
        assert [note.pitch for note in notes] == [pitch]


@pytest.mark.parametrize("first, last", [(45, -55), (-40, 60)])
def test_a_take_that_drifts_is_followed_and_its_notes_read_along_the_drift(first, last):
    """A 12 s line whose tuning goes from 45 cents sharp to 55 flat, note by note (an unaccompanied
    singer sinking), or rises as far: one tuning for the whole take leaves its ends half a semitone
    out and reads notes at an end a semitone off; the drift curve follows it within 0.08 semitone,
    and along it every note reads right. A line in tune has no curve."""
    line = [(67, 0.5), (69, 0.5), (71, 0.5), (72, 0.5), (74, 0.5), (72, 0.5)] * 4
    pitches = [pitch for pitch, _ in line]
    cents = np.linspace(first, last, len(line))
    take = np.concatenate([sung_notes([note], c) for note, c in zip(line, cents, strict=True)], axis=1)
    magnitude = np.abs(codec.stft(take, CONFIG)[0])
    assert [n.pitch for n in melody.transcribe(magnitude, RATE, CONFIG.n_fft)] != pitches
    curve = melody.drift(magnitude, RATE, CONFIG.n_fft, CONFIG.hop_length)
    frame_seconds = CONFIG.hop_length / RATE
    sung = np.repeat(cents / 100, round(0.5 / frame_seconds))[: len(curve)]
    inner = slice(round(2 / frame_seconds), len(sung) - round(2 / frame_seconds))  # a window's half from the ends
    assert np.abs(curve[inner] - sung[inner]).max() < 0.08
    assert [n.pitch for n in melody.transcribe(magnitude, RATE, CONFIG.n_fft, curve)] == pitches
    steady = np.abs(codec.stft(sung_notes(line, 30.0), CONFIG)[0])
    assert melody.drift(steady, RATE, CONFIG.n_fft, CONFIG.hop_length) is None


def test_a_line_whose_vibrato_spans_two_semitones_has_no_tuning_to_read():
    """Its frames sit anywhere between semitones: any offset read would be noise (it read 0.43
    before ``CLARITY``), so the take counts as at 440 and as not drifting."""
    line = [(67, 0.5), (69, 0.5), (71, 0.5), (72, 0.5), (74, 0.5), (72, 0.5)] * 4
    wide = np.abs(codec.stft(sung_notes(line, 0.0, vibrato=0.06), CONFIG)[0])
    assert melody.tuning(wide, RATE, CONFIG.n_fft) == 0.0
    assert melody.drift(wide, RATE, CONFIG.n_fft, CONFIG.hop_length) is None
    sharp = np.abs(codec.stft(sung_notes(line, 30.0, vibrato=0.03), CONFIG)[0])
    assert abs(melody.tuning(sharp, RATE, CONFIG.n_fft) - 0.3) < 0.03  # a +-50-cent vibrato still reads
