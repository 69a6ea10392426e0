"""Model features computed from the stored complex STFT.

For now the log-magnitude that the dataset job's statistics describe; the trainer's
feature set builds on the same definition so statistics and features always agree.
"""

from __future__ import annotations

import numpy as np

LOG_EPSILON = 1e-5
"""Added to the magnitude before the log; -115 dB below a full-scale bin, so silence
maps to a finite floor (log(1e-5) = -11.5)."""


def log_magnitude(spectrum: np.ndarray) -> np.ndarray:
    """Natural log of ``|spectrum| + LOG_EPSILON``; ``spectrum`` is complex."""
    return np.log(np.abs(spectrum) + LOG_EPSILON)
