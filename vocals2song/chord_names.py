"""Chord symbols for played chords ("Am", "G7", "C/E"): what a singer or a guitarist reads to
play along, written into ``song.mid`` as markers and over the song's piano roll.

A chord is a bass pitch class and the classes sounding above it. Its name is a quality of
``QUALITIES`` on a root among its classes whose intervals are exactly the chord's, or are the
chord's and a fifth or a third it leaves out (a voicing of at most three upper notes often does:
C-E-Bb is "C7", C-G-Bb "C7(no3)"); an exact match before one without its fifth, before one
without its third; the bass as root before an inversion (written as a slash chord, "C/E"); the
commoner quality before the rarer. A chord no quality names is spelled as its notes from the
bass up ("C-D-E"). ``read`` reads a symbol back: what a user writes in a chord chart
(``trainer/chart.py``).
"""

from __future__ import annotations

import numpy as np

from vocals2song.config import SEMITONES

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
"""One spelling per class, the one lead sheets use most without knowing the key ..."""
FLATS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
SHARPS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
"""... and the spellings of the flat keys (F to Gb major, D to Eb minor) and the sharp ones (G to
B major, E to G# minor), which ``spelling`` picks from the music's pitch classes."""
SHARP_KEYS = frozenset({7, 2, 9, 4, 11})
FLAT_KEYS = frozenset({5, 10, 3, 8, 1, 6})
"""Major tonics (pitch classes) whose key signature has sharps or flats (a minor key's is its
relative major's)."""
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
"""Krumhansl and Kessler's key profiles (probe-tone ratings, tonic first)."""
QUALITIES = (
    ("", (0, 4, 7)),
    ("m", (0, 3, 7)),
    ("7", (0, 4, 7, 10)),
    ("m7", (0, 3, 7, 10)),
    ("6", (0, 4, 7, 9)),
    ("maj7", (0, 4, 7, 11)),
    ("dim", (0, 3, 6)),
    ("m7b5", (0, 3, 6, 10)),
    ("dim7", (0, 3, 6, 9)),
    ("sus4", (0, 5, 7)),
    ("sus2", (0, 2, 7)),
    ("aug", (0, 4, 8)),
    ("5", (0, 7)),
)
"""Suffix and intervals above the root, commonest first (ties go to the earlier)."""
TERTIAN = ("", "m", "7", "m7", "6", "dim", "m7b5", "dim7")
"""The qualities built of stacked thirds without a semitone between their notes: the chords a
chorale's harmony holds (``tertian``); suspensions, augmented and power chords are not among them."""
ALIASES = {"maj": "", "M": "", "min": "m", "-": "m", "M7": "maj7", "min7": "m7", "-7": "m7", "o": "dim", "+": "aug"}
"""Suffixes people write for a quality ``QUALITIES`` spells otherwise."""
NO_THIRD = "(no3)"
OMISSIONS = {frozenset(): 0, frozenset({7}): 1, frozenset({4}): 2, frozenset({3}): 2}
"""Intervals above the root a chord may leave out and keep its quality's name, and how much that
costs against other readings: nothing, the fifth (written as the quality: C-E-Bb is "C7"), or the
third (written "(no3)": C-G-Bb is "C7(no3)"; a major third before a minor one, as the qualities'
order has it)."""


def key(durations: np.ndarray) -> tuple[int, bool] | None:
    """The key that best fits ``durations`` (how long each pitch class sounds) by correlation with
    the major and minor key profiles in every key, as (tonic, minor); None when every class sounds
    alike."""
    if np.ptp(durations) == 0:
        return None
    fits = [
        (np.corrcoef(durations, np.roll(profile, tonic))[0, 1], tonic, minor)
        for profile, minor in ((MAJOR_PROFILE, False), (MINOR_PROFILE, True))
        for tonic in range(SEMITONES)
    ]
    _, tonic, minor = max(fits)
    return tonic, minor


def spelling(durations: np.ndarray) -> tuple[str, ...]:
    """The twelve classes' names in the key that best fits ``durations`` (``key``): flats in a
    key whose signature has flats, sharps in one with sharps."""
    found = key(durations)
    if found is None:
        return PITCH_NAMES
    major = (found[0] + 3 * found[1]) % SEMITONES
    return FLATS if major in FLAT_KEYS else SHARPS if major in SHARP_KEYS else PITCH_NAMES


def key_name(durations: np.ndarray) -> str | None:
    """``key``'s name as a MIDI key signature is written ("Db", "F#m"); None when there is none."""
    found = key(durations)
    if found is None:
        return None
    tonic, minor = found
    return spelling(durations)[tonic] + ("m" if minor else "")


def name(
    bass: int, classes: set[int] | frozenset[int], names: tuple[str, ...] = PITCH_NAMES, melody: int | None = None
) -> str:
    """The symbol of the chord with ``bass`` (a pitch class) under ``classes`` (pitch classes,
    the bass's own included or not), its notes called ``names`` (``spelling``). ``melody``, the
    sung note's class, counts when the chord reads better with it: a sung third completes a chord
    the accompaniment leaves open (G-D-F under a sung B is "G7", not "G7(no3)"), where a sung
    passing note does not change the chord's name."""
    bass %= SEMITONES
    sounding = {bass, *(k % SEMITONES for k in classes)}
    reading = _best(sounding, bass) if len(sounding) > 1 else None
    fuller = _best(sounding | {melody % SEMITONES}, bass) if melody is not None else None
    if fuller and (reading is None or fuller[0] < reading[0]):
        reading = fuller
    if reading is None:
        return "-".join(names[k] for k in _from(bass, sounding))
    *_, root, suffix = reading
    return f"{names[root]}{suffix}" + ("" if root == bass else f"/{names[bass]}")


def _best(sounding: set[int], bass: int) -> tuple[int, bool, int, int, str] | None:
    """The reading that names ``sounding`` (see the module's docstring): (what it leaves out: 0
    nothing, 1 the fifth, 2 the third; whether it is an inversion; the quality's rank; root;
    suffix)."""
    candidates = []
    for order, (suffix, intervals) in enumerate(QUALITIES):
        for root in _from(bass, sounding):
            template = {(root + interval) % SEMITONES for interval in intervals}
            if not sounding <= template:
                continue
            missing = {(k - root) % SEMITONES for k in template - sounding}
            rank = OMISSIONS.get(frozenset(missing))
            if rank is not None:
                candidates.append((rank, root != bass, order, root, suffix + (NO_THIRD if rank == 2 else "")))
    return min(candidates) if candidates else None


def tertian(classes: set[int] | frozenset[int]) -> bool:
    """Whether the pitch classes are all notes of one ``TERTIAN`` chord (on any root): C-E, C-E-G
    and E-G-Bb-C are; C-E-G# (augmented) and C-F-G (suspended) are not."""
    sounding = {k % SEMITONES for k in classes}
    return any(
        sounding <= {(root + interval) % SEMITONES for interval in intervals}
        for suffix, intervals in QUALITIES
        if suffix in TERTIAN
        for root in range(SEMITONES)
    )


def _from(bass: int, sounding: set[int]) -> list[int]:
    """The sounding classes upward from the bass."""
    return sorted(sounding, key=lambda k: (k - bass) % SEMITONES)


class SymbolError(ValueError):
    """A chord symbol ``read`` cannot read; the message names it and what is known."""


def read(symbol: str) -> tuple[int, tuple[int, ...]]:
    """A chord symbol -> (its bass's pitch class, its pitch classes from the root up): every
    symbol ``name`` writes ("Am", "G7/B", "C7(no3)", "C-D-E") and the suffixes of ``ALIASES``
    ("Cmaj", "Dmin7"); notes as ``PITCH_NAMES``, ``FLATS`` or ``SHARPS`` spell them. SymbolError
    names a symbol it cannot read."""
    body, _, over = symbol.partition("/")
    spelt = body.split("-")
    if len(spelt) > 1 and all(note in {*PITCH_NAMES, *FLATS, *SHARPS} for note in spelt):
        classes = tuple(_pitch_class(note, symbol) for note in spelt)
        return classes[0], classes
    root, suffix = _root(body, symbol)
    no_third = suffix.endswith(NO_THIRD)
    suffix = ALIASES.get(suffix.removesuffix(NO_THIRD), suffix.removesuffix(NO_THIRD))
    intervals = dict(QUALITIES).get(suffix)
    if intervals is None:
        known = ", ".join(repr(s) for s, _ in QUALITIES)
        raise SymbolError(f"{symbol!r}: unknown chord quality {suffix!r}; known are {known} (and {', '.join(ALIASES)})")
    classes = tuple((root + step) % SEMITONES for step in intervals if not (no_third and step in (3, 4)))
    return (_pitch_class(over, symbol) if over else root), classes


def _root(body: str, symbol: str) -> tuple[int, str]:
    """A symbol's root's pitch class and the suffix after it ("Bbm7" -> 10, "m7")."""
    length = 2 if body[1:2] in ("#", "b") else 1
    return _pitch_class(body[:length], symbol), body[length:]


def _pitch_class(note: str, symbol: str) -> int:
    """A note's pitch class ("Eb" -> 3) in any of the spellings; SymbolError naming ``symbol`` if none."""
    for spelt in (PITCH_NAMES, FLATS, SHARPS):
        if note in spelt:
            return spelt.index(note)
    raise SymbolError(f"{symbol!r}: {note!r} is not a note (C, C#, Db ... B)")
