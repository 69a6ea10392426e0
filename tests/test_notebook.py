"""The quickstart notebook runs top to bottom with tiny parameters (what a Colab user runs, small)."""

import os
import re

import pytest
from conftest import LEAD_SHEET_HEAD

from vocals2song import render

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "notebooks", "quickstart.ipynb")
TINY = """
INSTALL = False
WORK = {work!r}
TRACKS, SECONDS, SEGMENT_SECONDS = 6, 5.0, 2.0
STEPS, BATCH_SIZE, CROP_FRAMES, FILTERS, DEPTH = 2, 2, 64, 4, 4
"""


@pytest.mark.notebook
def test_the_quickstart_notebook_runs_and_makes_a_song(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source += TINY.format(work=str(tmp_path / "work"))
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs)
    assert "trained to step 2" in text and "segments per split" in text
    audio_players = [
        output for output in outputs if "text/html" in output.get("data", {}) and "<audio" in output.data["text/html"]
    ]
    chords = render.can_render(render.TRAIN_SOUNDFONT)  # the released model plays chords
    # vocal, true mixture, generated song, the released model's song, with a band, with your chart
    assert len(audio_players) == 5 + chords
    if chords:  # its lead sheets, the last the chart's chords played back
        assert re.search(f"^{LEAD_SHEET_HEAD}$", text, re.MULTILINE), text
        assert "piano, broken chords a half bar, with drums" in text
        assert "| C | F G7 |" in text
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 2  # losses, spectrogram pair
    assert "oracle" in text and "silence" in text  # the evaluation table with its baselines


def test_the_committed_notebook_has_no_outputs_and_the_check_catches_them(tmp_path):
    import json
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "infra"))
    import check_notebooks

    assert check_notebooks.main([NOTEBOOK]) == 0
    notebook = json.load(open(NOTEBOOK))
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code.update(outputs=[{"output_type": "stream", "name": "stdout", "text": "hi"}], execution_count=1)
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(notebook))
    assert check_notebooks.main([str(dirty)]) == 1
    assert check_notebooks.main([str(dirty), "--strip"]) == 0
    assert check_notebooks.main([str(dirty)]) == 0
