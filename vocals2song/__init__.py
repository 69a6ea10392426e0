"""Vocals2Song: turn a singing voice into a song.

The public API (``vocals2song.api``): ``render_scores`` and ``build_dataset`` (Beam jobs),
``load_dataset`` and ``train`` (TensorFlow), ``load_model``, ``generate`` and ``evaluate``; and
``generate_song`` (the song with its stems and chords), ``chord_chart``, ``lead_sheet`` and ``write_midi``.
Importing the package loads none of the heavy libraries; each function imports what it uses.
"""

from vocals2song.api import (
    build_dataset,
    chord_chart,
    evaluate,
    generate,
    generate_song,
    lead_sheet,
    load_dataset,
    load_model,
    render_scores,
    train,
    write_midi,
)

__all__ = [
    "build_dataset",
    "chord_chart",
    "evaluate",
    "generate",
    "generate_song",
    "lead_sheet",
    "load_dataset",
    "load_model",
    "render_scores",
    "train",
    "write_midi",
]
