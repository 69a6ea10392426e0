"""The architecture page names real files and every module, so it cannot go stale; and the
package code stays readable at a glance."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "architecture.md").read_text()


def test_every_module_the_architecture_page_names_exists():
    named = set(re.findall(r"`((?:vocals2song|pipelines|trainer|webapp)/\w+\.py)`", PAGE))
    for package in ("vocals2song", "pipelines", "trainer"):
        here = {m for m in named if m.startswith(package)}
        in_package = {f"{package}/{path.name}" for path in (ROOT / package).glob("*.py") if path.name != "__init__.py"}
        assert here - in_package == set(), f"named but missing: {here - in_package}"
    short = set(re.findall(r"`(\w+\.py)`", PAGE))
    every_module = {path.name for path in ROOT.glob("*/*.py")}
    assert short <= every_module, short - every_module


def test_every_package_module_is_on_the_page():
    for package in ("vocals2song", "pipelines", "trainer"):
        for path in (ROOT / package).glob("*.py"):
            if path.name != "__init__.py":
                assert f"`{path.name}`" in PAGE or f"`{package}/{path.name}`" in PAGE, f"{package}/{path.name}"


MAX_FUNCTION_LINES = 50  # a function longer than this no longer reads at once


def test_no_package_function_is_50_lines_or_longer():
    long = []
    for package in ("vocals2song", "pipelines", "trainer", "webapp"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines >= MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long
