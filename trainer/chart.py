"""A chord chart a user writes, or corrects, to be played under a take (``vocals2song generate
--chart``).

Why: the harmoniser proposes one harmony of a melody where a composer could write several (Bach's
other settings of the dev tunes agree with the played ones no better than the released model,
docs/model-notes.md, "The composer's alternative, reproducible"), and a singer often knows the
chords of their song. ``generate`` writes the chords it played as a lead sheet
(``chords.lead_sheet``: a head line, then "| C | F G7 | C |"); the same text, edited or written
from scratch, is read here and played on the take's bar lines instead of the predicted chords
(``chords.chart_spans``).

The text: lines that start with "|" hold bars between bar lines, any number to a line; a bar's
chords share it evenly ("F G7" in 4/4: two beats each); "%" repeats the bar before; "-" or "N.C."
is a bar without chords, or a share of one ("C N.C.": C for two beats of 4/4, then nothing).
Chord symbols are what ``chord_names.read`` reads ("Am", "G7/B", "Bbmaj7"). Any other line is a
comment but for a meter in it ("3/4") and a pickup ("pickup of 1 beat", "no pickup": the beats
sung before the first downbeat), which replace what the sung notes say (the lead sheet writes
both). The first bar is the one the first sung note falls in (a pickup's short bar).
"""

from __future__ import annotations

import dataclasses
import re

from vocals2song import chord_names, storage

MAX_BYTES = 64 * 1024
"""A chart is a page of text; a larger file is refused before it is read."""
METER = re.compile(r"\b(\d{1,2})/4\b")
PICKUP = re.compile(r"\b(?:pickup of (\d{1,2}(?:\.5)?) beats?|(no) pickup)\b")
BEATS_RANGE = (2, 12)
"""Beats to a bar a chart may ask for."""
REPEAT = "%"
NO_CHORD_SYMBOL = "N.C."
"""What a lead sheet writes where no chord sounds (``chords.symbols``)."""
NO_CHORD = ("-", NO_CHORD_SYMBOL, "NC")

WrittenChord = tuple[int, tuple[int, ...]]
"""A chord as ``chord_names.read`` reads it: its bass's pitch class and its classes."""
Bar = tuple[WrittenChord | None, ...]
"""A bar's chords in order, sharing it evenly; None for a share without one ("C N.C.")."""


class ChartError(ValueError):
    """A chart that cannot be played; the message names the file, the line and the problem."""


@dataclasses.dataclass(frozen=True)
class Chart:
    """A chord chart: each bar's chords (none for a bar without), the beats to a bar and the
    pickup (beats before the first downbeat) when its head line says (else the sung notes')."""

    bars: tuple[Bar, ...]
    beats: int | None = None
    pickup: float | None = None

    @property
    def meter(self) -> tuple[int | None, float | None]:
        """(beats to a bar, pickup) as ``Score.charted`` holds them."""
        return self.beats, self.pickup


def read(path: str) -> Chart:
    """The chart in the text file ``path`` (local or gs://); ChartError naming it when it is too
    large, not text or not a chart (``parse``)."""
    fs, resolved = storage.filesystem(path)
    if not fs.exists(resolved):
        raise ChartError(f"{path}: no such chart")
    check_size(fs.size(resolved), path)
    try:
        text = fs.cat_file(resolved).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ChartError(f"{path}: not a text file ({error.reason} at byte {error.start})") from None
    return parse(text, path)


def check_size(size: int, source: str) -> None:
    """ChartError naming ``source`` when a chart of ``size`` bytes is over ``MAX_BYTES``: checked
    before a file is read (``read``) and before a posted chart is parsed (the web app)."""
    if size > MAX_BYTES:
        raise ChartError(f"{source}: {size} bytes; a chart is at most {MAX_BYTES}")


def parse(text: str, source: str = "chart") -> Chart:
    """A chart's text (see the module's docstring) -> Chart; ChartError naming ``source``, the line
    and the problem: an unknown chord, a "%" with no bar before it, a meter out of
    ``BEATS_RANGE``, a pickup of a bar or more of it, no bars at all or none with a chord."""
    bars: list[Bar] = []
    beats = pickup = None
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}, line {number}"
        if not line.strip().startswith("|"):
            found, picked = METER.search(line), PICKUP.search(line)
            beats = _beats(int(found.group(1)), where) if found and beats is None else beats
            pickup = (0.0 if picked.group(2) else float(picked.group(1))) if picked and pickup is None else pickup
            continue
        for cell in line.strip().strip("|").split("|"):
            bars.append(_bar(cell.split(), bars, where))
    if not bars:
        raise ChartError(f"{source}: no bars (a chart's bars are lines like '| C | F G7 | C |')")
    if not any(harmony for bar in bars for harmony in bar):
        raise ChartError(f"{source}: every bar rests, so there is nothing to play (no chords at all: --chords none)")
    if pickup is not None and beats is not None and pickup >= beats:
        raise ChartError(f"{source}: a pickup of {pickup:g} beats is a bar or more of {beats}/4")
    return Chart(tuple(bars), beats, pickup)


def _beats(beats: int, where: str) -> int:
    """A head line's beats to a bar, checked against ``BEATS_RANGE``."""
    low, high = BEATS_RANGE
    if not low <= beats <= high:
        raise ChartError(f"{where}: {beats}/4: a chart's bars have {low} to {high} beats")
    return beats


def _bar(symbols: list[str], before: list[Bar], where: str) -> Bar:
    """One bar's chords from its symbols (``REPEAT``: the bar ``before`` it again; a ``NO_CHORD``
    among chords: a share of the bar without one, as ``chords.symbols`` writes a gap)."""
    if symbols == [REPEAT]:
        if not before:
            raise ChartError(f"{where}: '{REPEAT}' repeats the bar before, and there is none")
        return before[-1]
    if not symbols or all(symbol in NO_CHORD for symbol in symbols):
        return ()
    try:
        return tuple(None if symbol in NO_CHORD else chord_names.read(symbol) for symbol in symbols)
    except chord_names.SymbolError as error:
        raise ChartError(f"{where}: {error}") from None
