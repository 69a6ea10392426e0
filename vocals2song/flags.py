"""Command-line flags derived from the config dataclasses, so every default lives once.

A dataclass field becomes ``--name`` with the field's type, its default and, as help, its line
under "Attributes:" in the class docstring. A field whose default is itself a config dataclass
(``TrainConfig.input``, ``DatasetOptions.spectral``) contributes its own fields as flat flags,
and ``build`` puts flat values back into the nested dataclasses. Field metadata can rename a
flag (``{"flag": "features"}``), limit its values (``{"choices": ...}``) or say how a string
becomes the value (``{"parse": ...}``, e.g. a comma-separated list).

TensorFlow- and Beam-free: the CLI builds its parser from these without importing either.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

_ATTRIBUTE = re.compile(r"^(\s+)([\w, ]+):\s*(.*)$")


def _docs(cls: type) -> dict[str, str]:
    """Field name -> its description under "Attributes:" (continuation lines joined)."""
    docs: dict[str, str] = {}
    _, found, section = (cls.__doc__ or "").partition("Attributes:")
    lines = section.splitlines() if found else []
    names: list[str] = []
    indent = None
    for line in lines:
        match = _ATTRIBUTE.match(line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent = len(match.group(1))
            names = [name.strip() for name in match.group(2).split(",")]
            for name in names:
                docs[name] = match.group(3).strip()
        elif line.strip() and names:
            for name in names:
                docs[name] = f"{docs[name]} {line.strip()}"
    return docs


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _is_config(field: dataclasses.Field) -> bool:
    """A field holding a nested config dataclass (its fields become flags of their own)."""
    return dataclasses.is_dataclass(_default(field))


@dataclasses.dataclass(frozen=True)
class Flag:
    """One flat option: where it lives in the nested dataclasses and how it is parsed."""

    name: str
    path: tuple[str, ...]  # field names from the outer dataclass down to this field
    field: dataclasses.Field
    kind: Any  # the resolved type
    default: Any
    help: str

    @property
    def dest(self) -> str:
        """The attribute argparse stores the value under (``--no-vocals`` -> ``no_vocals``)."""
        return self.name.replace("-", "_")


def flags(cls: type, skip: tuple[str, ...] = ()) -> Iterator[Flag]:
    """Every flat flag of ``cls``, nested config dataclasses expanded."""
    hints, docs = typing.get_type_hints(cls), _docs(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip or not field.init:
            continue
        if _is_config(field):
            for inner in flags(type(_default(field)), skip):
                yield dataclasses.replace(inner, path=(field.name, *inner.path))
            continue
        name = field.metadata.get("flag", field.name)
        yield Flag(name, (field.name,), field, hints[field.name], _default(field), docs.get(field.name, ""))


def _scalar(kind: Any) -> Any:
    """``float | None`` -> float; ``int`` -> int."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return next(arg for arg in typing.get_args(kind) if arg is not type(None))
    return kind


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """Adds ``cls``'s flags to ``parser``; fields without a default become required flags."""
    for flag in flags(cls, skip):
        meta = flag.field.metadata
        helptext = (flag.help or flag.name).rstrip(".").replace("%", "%%")  # argparse formats help with %
        if flag.default is dataclasses.MISSING:
            parser.add_argument(f"--{flag.name}", required=True, help=helptext)
        elif _scalar(flag.kind) is bool:
            action = argparse.BooleanOptionalAction if flag.default else "store_true"
            parser.add_argument(f"--{flag.name}", action=action, default=flag.default, help=helptext)
        else:
            parse = meta.get("parse") or _scalar(flag.kind)
            shown = ",".join(flag.default) if isinstance(flag.default, tuple) else flag.default
            parser.add_argument(
                f"--{flag.name}",
                type=parse,
                default=flag.default,
                choices=meta.get("choices"),
                help=f"{helptext} (default: {shown})" if shown not in (None, "") else helptext,
            )


def pair(text: str, kind: type = int) -> tuple:
    """``"A:B"`` -> ``(A, B)`` of ``kind``: a range (``--bach 0:373``) or an (n, k) selector."""
    first, _, last = text.partition(":")
    return kind(first), kind(last)


def names(cls: type, skip: tuple[str, ...] = ()) -> set[str]:
    """The argparse destinations of ``cls``'s flags: the keys ``build`` takes."""
    return {flag.dest for flag in flags(cls, skip)}


def pick(args: argparse.Namespace, known: set[str]) -> dict[str, Any]:
    """The parsed values of the flags in ``known`` (argparse destinations, see ``names``)."""
    return {key: value for key, value in vars(args).items() if key in known}


def build(cls: type, options: Mapping[str, Any], skip: tuple[str, ...] = (), what: str = "", **fixed: Any) -> Any:
    """``cls`` from flat ``options`` (flag destinations, as argparse stores them) and ``fixed``
    top-level fields; options not given keep their dataclass defaults. An unknown option is a
    TypeError listing the known."""
    known = {flag.dest: flag for flag in flags(cls, skip)}
    unknown = set(options) - set(known)
    if unknown:
        raise TypeError(f"unknown {what} option(s) {sorted(unknown)}; known: {', '.join(sorted(known))}")
    tree: dict[str, Any] = dict(fixed)
    for name, value in options.items():
        *parents, leaf = known[name].path
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return _construct(cls, tree)


def _construct(cls: type, values: dict[str, Any]) -> Any:
    nested = {
        field.name: _construct(type(_default(field)), values[field.name])
        for field in dataclasses.fields(cls)
        if field.name in values and _is_config(field)
    }
    return cls(**{**values, **nested})


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices``; else a ValueError that names the flag and lists them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value
