"""A drum kit on the sung beats (``vocals2song generate --drums``).

The chords follow the notes; a song also has a pulse, and the chorales the released model was
trained on have none to learn. The beat and the bars are already read off the sung onsets for
``song.mid`` (``chords.timeline``: a clock pinned to the sung beats, the meter's bar lines), so
the kit plays on that grid: wherever the singer slows or hurries, the drums do too.

"backbeat": a kick on each bar's first beat (and its third in a bar of four), a snare on the
other beats, a closed hi-hat on every half beat, from the first sung note to the end of the
last. General MIDI's percussion map (channel 10) names the sounds.
"""

from __future__ import annotations

import dataclasses
import math

from trainer.chords import timeline
from trainer.config import DRUM_STYLES
from vocals2song import flags
from vocals2song.scores import Note, Score

KICK, SNARE, HIHAT = 36, 38, 42
"""General MIDI percussion keys: bass drum 1, acoustic snare, closed hi-hat."""
VELOCITIES = {KICK: 100, SNARE: 90, HIHAT: 60}
OFFBEAT_HIHAT = 45
"""A hi-hat between the beats, quieter than on them."""
EARLY_BEATS = 0.1
"""The kit starts on the first half beat at most this much before the first sung note: with the
singer, not a beat ahead of a note sung off the beat."""
HIT_SECONDS = 0.1
"""How long a hit's note is held (a drum's sample decays on its own)."""


def with_drums(score: Score, style: str) -> Score:
    """A ``chords.chord_score`` with its ``drums`` part played in ``style`` (``DRUM_STYLES``):
    "none" leaves the score as it is."""
    if flags.check_choice("drums", style, DRUM_STYLES) == "none" or not score.parts["vocals"]:
        return score
    return dataclasses.replace(score, parts={**score.parts, "drums": backbeat(score)})


def backbeat(score: Score) -> tuple[Note, ...]:
    """The "backbeat" pattern's hits (times in seconds, as the score's) on the half beats of the
    sung clock, from the first sung note (a half beat at most ``EARLY_BEATS`` before it: the
    transcribed onsets lag the sung ones a little) to the last note's end."""
    clock, signatures, _ = timeline(score)
    sung = score.parts["vocals"]
    first = math.ceil(2 * (clock.beats(min(note.start for note in sung)) - EARLY_BEATS))
    last = clock.beats(max(note.start + note.duration for note in sung))
    hits = []
    for half in range(first, math.ceil(2 * last)):
        seconds = clock.seconds(half / 2)
        for key, velocity in _hits(half / 2, signatures):
            hits.append(Note(key, seconds, HIT_SECONDS, velocity))
    return tuple(hits)


def _hits(beat: float, signatures: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """(key, velocity) struck at ``beat`` of the file: the hi-hat always, on a whole beat the
    kick on a bar's first (and third of four) and the snare on the others. A short first bar (an
    upbeat) counts as the end of a whole one."""
    if beat != int(beat):
        return [(HIHAT, OFFBEAT_HIHAT)]
    start, beats = signatures[-1]
    place = (int(beat) - start) % beats
    drum = KICK if place == 0 or (beats == 4 and place == 2) else SNARE
    return [(HIHAT, VELOCITIES[HIHAT]), (drum, VELOCITIES[drum])]
