"""The ``vocals2song`` command: a thin layer over the library functions.

Each subcommand parses its flags and calls one function; errors a user can act on are
printed as one line and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from vocals2song import api, flags
from vocals2song.audio import AudioError
from vocals2song.config import ConfigMismatchError
from vocals2song.manifest import DatasetError
from webapp.settings import Settings

if TYPE_CHECKING:
    from trainer import generate

USER_ERRORS = (AudioError, ConfigMismatchError, DatasetError, FileExistsError, OSError, ValueError)
TENSORFLOW_COMMANDS = frozenset({"train", "generate", "evaluate", "harmoniser", "listening-test", "serve"})
NATIVE_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog|I0000 |E0000 .*(cuInit|cuda)|"
    r"To enable the following instructions|.*rebuild TensorFlow with the appropriate compiler flags"
)
"""TensorFlow's C++ start-up lines on a machine without a GPU: notes (``I0000``), the missing CUDA
driver, and a CPU-feature hint; written before its log level applies."""
PACKAGES = ("vocals2song", "trainer", "pipelines", "webapp")
CHART_BARS = 8
"""Bars of the chord chart ``generate`` prints (``song.mid``'s markers hold every chord)."""


class _Format(logging.Formatter):
    """Our packages' INFO lines are the progress a user asked for: the message alone. Anything
    else (warnings, other libraries' chatter) says its time, level and source."""

    _detailed = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ours = record.name.split(".")[0] in PACKAGES and record.levelno == logging.INFO
        return super().format(record) if ours else self._detailed.format(record)


def quietly(load: Callable[[], object]) -> None:
    """Runs ``load`` with file descriptor 2 caught, then passes on every caught line that is not
    ``NATIVE_NOISE`` (all of them, before the error propagates, when ``load`` fails)."""
    with tempfile.TemporaryFile() as caught:
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            load()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                if not NATIVE_NOISE.match(line):
                    print(line, file=sys.stderr)


def _load_tensorflow() -> None:
    """Imports TensorFlow and lets it look for devices (where a missing GPU driver is reported)."""
    import tensorflow as tf

    tf.config.list_physical_devices()


def configure_logging(level: str) -> None:
    """One stderr handler for the whole process, bound to the current stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Format("%(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _synth_musdb(args: argparse.Namespace, extra: list[str]) -> int:
    from vocals2song import synth

    written = synth.write_musdb(args.output, args.tracks, args.seconds, args.seed)
    print(f"wrote {len(written)} tracks of {args.seconds:g} s to {args.output}")
    return 0


def _render(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipelines import options, render

    summary = render.run(options.render_options_from_args(args), beam_args)
    print(f"{summary['tracks']} track(s), {summary['seconds'] / 60:.1f} min of audio in {args.output_dir}")
    for failure in summary["failures"]:
        print(f"dead letter: {failure['file']}: {failure['reason']}")
    return 0


def _dataset(args: argparse.Namespace, beam_args: list[str]) -> int:
    from pipelines import dataset, options

    summary = dataset.run(options.options_from_args(args), beam_args, sys.argv)
    if summary.get("dry_run"):
        return 0
    print(json.dumps(summary, indent=1))
    if summary["failures"]:
        print(
            f"{summary['failures']} track(s) or entries went to the dead letters in "
            f"{args.output_dir}/failures/ (the rest was written)"
        )
    return 0


def _inspect(args: argparse.Namespace, extra: list[str]) -> int:
    from vocals2song import inspection

    manifest, checks = inspection.check_shards(args.data_dir)
    print(inspection.summary(manifest))
    bad = [check for check in checks if not check.ok]
    for check in bad:
        print(f"BAD {check.path}: parsed {check.parsed} of {check.expected} records; {check.error or 'count mismatch'}")
    print(f"{len(checks) - len(bad)} of {len(checks)} shards parse and match the manifest")
    return 1 if bad else 0


def _train(args: argparse.Namespace, extra: list[str]) -> int:
    from trainer.config import option_names

    api.train(args.data_dir, args.model_dir, **flags.pick(args, option_names()))
    return 0


def _generate(args: argparse.Namespace, extra: list[str]) -> int:
    from trainer import generate
    from trainer.config import GenerateOptions
    from vocals2song import storage

    options = _options(GenerateOptions, args)
    model = api.load_model(options.model, **dataclasses.asdict(options.accompanist))
    fs, resolved = storage.filesystem(options.vocals)
    if fs.isdir(resolved):
        results = generate.generate_dir(model, options)
        failed = [result for result in results if result.error]
        print(f"{len(results) - len(failed)} of {len(results)} songs written to {options.output}")
        return 1 if failed else 0
    _said(generate.generate_file(model, options), options.accompanist.changes)
    return 0


def _said(result: generate.Generated, changes: str) -> None:
    """What ``generate`` wrote for one take (a ``generate.Generated``) and how its chords were
    played; with ``--changes auto``, how the take was read (``trainer/style.py``)."""
    from trainer import style

    print(f"song: {result.song}\npicture: {result.picture}")
    if result.midi:
        print(f"melody and chords (MIDI): {result.midi}\nlead sheet: {result.lead_sheet}")
        shown = " | ".join(result.bars[:CHART_BARS])
        more = f" ... ({len(result.bars)} bars)" if len(result.bars) > CHART_BARS else ""
        print(f"chords: | {shown} |{more}")
        print(f"chords change: {style.described(result.changes, changes == 'auto')}")
        if result.concert_pitch:
            print(f"tuning: {result.concert_pitch} (the chords follow the voice)")
    print(f"({result.seconds:.1f} s)")
    for stem, path in result.stems.items():
        print(f"stem {stem}: {path}")


def _evaluate(args: argparse.Namespace, extra: list[str]) -> int:
    from trainer import evaluate, separation
    from trainer.config import EvaluateOptions
    from vocals2song import storage

    options = _options(EvaluateOptions, args)
    model = api.load_model(options.model, **dataclasses.asdict(options.accompanist))
    metrics = api.evaluate(model, options.data_dir, options.split, options.segments_per_track)
    table = (separation if metrics.get("task") == "separation" else evaluate).markdown(metrics)
    json_path, md_path = evaluate.write(metrics, options.output_dir or storage.join(options.model, "eval"), table)
    print(table)
    print(f"metrics: {json_path}\ntable: {md_path}")
    return 0


def _harmoniser(args: argparse.Namespace, extra: list[str]) -> int:
    from trainer import harmoniser

    summary = harmoniser.run(_options(harmoniser.HarmoniserOptions, args))
    print(
        f"harmoniser: {summary['melodies']} melodies ({len(summary['failures'])} skipped), "
        f"training correlation {summary['train_correlation']:.3f}, {summary['seconds']:.0f} s"
    )
    return 0


def _listening_test(args: argparse.Namespace, extra: list[str]) -> int:
    from trainer import listening
    from trainer.config import ListeningTestOptions

    options = _options(ListeningTestOptions, args)
    model = api.load_model(options.model, **dataclasses.asdict(options.accompanist))
    key = listening.prepare(model, options.data_dir, options.output_dir, options.tracks, options.seed, options.compare)
    where = os.path.join(options.output_dir, listening.LISTEN_DIR)
    print(f"{len(key['trials'])} melodies x {len(key['trials'][0])} versions in {where}/ (open index.html)")
    print(f"key: {os.path.join(options.output_dir, listening.KEY_FILE)} (keep it from the listeners)")
    return 0


def _listening_report(args: argparse.Namespace, extra: list[str]) -> int:
    from trainer import listening
    from vocals2song import storage

    key = json.loads(storage.read_text(os.path.join(args.output_dir, listening.KEY_FILE)))
    table = listening.markdown(listening.report(listening.read_ratings(args.ratings, key)))
    print(table)
    return 0


def _options(cls: type, args: argparse.Namespace):
    """The ``cls`` dataclass from the parsed flags it defines."""
    return flags.build(cls, flags.pick(args, flags.names(cls)))


def _serve(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        import uvicorn

        from webapp import app
    except ImportError as error:
        raise ValueError(f"the web app needs its extra: pip install 'vocals2song[serve]' ({error})") from error
    from trainer import export
    from trainer.config import Accompanist

    settings, accompanist = _options(Settings, args), _options(Accompanist, args)
    web = app.create_app(api.load_model(args.model, **dataclasses.asdict(accompanist)), settings)
    where = args.model or export.RELEASED_MODEL
    print(f"serving {where} on http://{settings.host}:{settings.port}/ (Ctrl-C stops)", flush=True)
    uvicorn.run(web, host=settings.host, port=settings.port, log_level=args.log_level.lower())
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="vocals2song", description="Turn a singing voice into a song.")
    root.add_argument("--log_level", default="INFO", help="Python logging level")
    root.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="DEBUG", help="debug logging")
    root.add_argument("-q", "--quiet", dest="log_level", action="store_const", const="WARNING", help="warnings only")
    commands = root.add_subparsers(dest="command", required=True)
    _data_commands(commands)
    _model_commands(commands)
    return root


def _data_commands(commands) -> None:
    """Commands that make and check data: synth-musdb, render, dataset, inspect."""
    from pipelines.options import add_arguments, add_render_arguments

    synth_musdb = commands.add_parser("synth-musdb", help="write a synthetic data set in MUSDB18-HQ layout")
    synth_musdb.add_argument("output", help="root folder to write train/ and test/ into")
    synth_musdb.add_argument("--tracks", type=int, default=12, help="number of tracks (a third go to test/)")
    synth_musdb.add_argument("--seconds", type=float, default=30.0, help="length of each track in seconds")
    synth_musdb.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files")
    synth_musdb.set_defaults(run=_synth_musdb, passthrough=False)

    render = commands.add_parser(
        "render",
        help="scores (music21's Bach chorales or a MIDI folder) -> MUSDB18-HQ layout with FluidSynth (Apache Beam)",
    )
    add_render_arguments(render)
    render.set_defaults(run=_render, passthrough=True)

    dataset = commands.add_parser(
        "dataset",
        help="MUSDB18-HQ -> float16 STFT TFRecords (Apache Beam; other flags go to Beam, e.g. --runner)",
    )
    add_arguments(dataset)
    dataset.set_defaults(run=_dataset, passthrough=True)

    inspect = commands.add_parser("inspect", help="summarise a data set and check that every shard parses")
    inspect.add_argument("data_dir", help="data set folder (holds dataset.json)")
    inspect.set_defaults(run=_inspect, passthrough=False)


def _model_commands(commands) -> None:
    """Commands that train, use and serve a model: train, generate, evaluate, harmoniser, the
    listening test, serve."""
    from trainer.config import Accompanist, EvaluateOptions, GenerateOptions, ListeningTestOptions
    from trainer.config import add_arguments as add_train_arguments
    from trainer.harmoniser import HarmoniserOptions

    train = commands.add_parser("train", help="train the pix2pix model on a data set (resumes from model_dir)")
    add_train_arguments(train)
    train.set_defaults(run=_train, passthrough=False)

    generate = commands.add_parser("generate", help="vocals (a file or a folder of files) in, song out")
    flags.add_arguments(generate, GenerateOptions)
    generate.set_defaults(run=_generate, passthrough=False)

    evaluate = commands.add_parser(
        "evaluate", help="song and accompaniment metrics of a model, three baselines and the oracle on a split"
    )
    flags.add_arguments(evaluate, EvaluateOptions)
    evaluate.set_defaults(run=_evaluate, passthrough=False)

    harmoniser = commands.add_parser(
        "harmoniser", help="train the note-level harmoniser on scores (melody -> the other parts' pitch classes)"
    )
    flags.add_arguments(harmoniser, HarmoniserOptions)
    harmoniser.set_defaults(run=_harmoniser, passthrough=False)

    listening_test = commands.add_parser(
        "listening-test", help="a blind listening test of a model's songs, the originals and an anchor"
    )
    flags.add_arguments(listening_test, ListeningTestOptions)
    listening_test.set_defaults(run=_listening_test, passthrough=False)

    listening_report = commands.add_parser("listening-report", help="unblind and summarise a listening test's ratings")
    listening_report.add_argument("output_dir", help="the folder `vocals2song listening-test` wrote (holds key.json)")
    listening_report.add_argument("ratings", nargs="+", help="the ratings files the listeners downloaded")
    listening_report.set_defaults(run=_listening_report, passthrough=False)

    serve = commands.add_parser("serve", help="a web page to record or upload a vocal and hear the song")
    serve.add_argument(
        "--model",
        default=None,
        help="model_dir of `vocals2song train` or its export/, local or gs:// (default: the released model)",
    )
    flags.add_arguments(serve, Accompanist)
    flags.add_arguments(serve, Settings)
    serve.set_defaults(run=_serve, passthrough=False)


def main(argv: list[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    if extra and not args.passthrough:
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    configure_logging(args.log_level)
    debugging = args.log_level.upper() == "DEBUG"
    # TensorFlow's C++ log (on a CPU machine: oneDNN notes, "could not find cuda drivers", a failed
    # cuInit, an AVX-512 fallback) only with -v; TF_CPP_MIN_LOG_LEVEL set by the user wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if debugging else "3")
    if args.command in TENSORFLOW_COMMANDS and not debugging:
        quietly(_load_tensorflow)
    try:
        return args.run(args, extra)
    except USER_ERRORS as error:
        print(f"vocals2song {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
