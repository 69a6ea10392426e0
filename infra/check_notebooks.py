"""Notebooks are committed without outputs (`make lint` checks; ``--strip`` removes them).

Outputs hold audio, pictures and machine-specific paths: they bloat the history and go
stale with every change, and CI executes the notebook anyway (tests/test_notebook.py).
"""

from __future__ import annotations

import glob
import json
import sys


def dirty_cells(notebook: dict) -> list[int]:
    """Indexes of code cells that carry outputs or an execution count."""
    return [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


def strip(notebook: dict) -> None:
    for index in dirty_cells(notebook):
        notebook["cells"][index].update(outputs=[], execution_count=None)


def main(argv: list[str]) -> int:
    fix = "--strip" in argv
    paths = [arg for arg in argv if not arg.startswith("--")] or sorted(glob.glob("notebooks/*.ipynb"))
    bad = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            notebook = json.load(handle)
        cells = dirty_cells(notebook)
        if cells and fix:
            strip(notebook)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(notebook, handle, indent=1, ensure_ascii=False)
                handle.write("\n")
            print(f"{path}: stripped outputs of cells {cells}")
        elif cells:
            bad += 1
            print(f"{path}: cells {cells} carry outputs; run `python infra/check_notebooks.py --strip`")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
