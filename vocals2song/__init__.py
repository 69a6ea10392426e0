"""Vocals2Song: turn a singing voice into a song.

The public API (``vocals2song.api``): ``render_scores`` and ``build_dataset`` (Beam jobs),
``load_dataset`` and ``train`` (TensorFlow), ``load_model``, ``generate`` and ``evaluate``.
Importing the package loads none of the heavy libraries; each function imports what it uses.
"""

from vocals2song.api import build_dataset, evaluate, generate, load_dataset, load_model, render_scores, train

__all__ = ["build_dataset", "evaluate", "generate", "load_dataset", "load_model", "render_scores", "train"]
