"""Flags derived from the config dataclasses: every default in one place."""

import argparse
import dataclasses
import os

import pytest

from pipelines.options import DatasetOptions, add_arguments, make_options, options_from_args
from trainer import config as train_config
from vocals2song import flags
from vocals2song.config import SpectralConfig


def parse(add, argv):
    parser = argparse.ArgumentParser()
    add(parser)
    return parser.parse_args(argv)


def test_without_flags_the_dataset_options_are_the_dataclass_defaults():
    args = parse(add_arguments, ["--musdb_root", "m", "--output_dir", "o"])
    assert options_from_args(args) == DatasetOptions("m", "o")


def test_every_spectral_field_is_a_dataset_flag_and_lands_in_the_config():
    argv = ["--musdb_root", "m", "--output_dir", "o", "--n_fft", "2048", "--hop_length", "512", "--window", "hamming"]
    argv += ["--sample_rate", "22050", "--segment_seconds", "2.5", "--stems", "vocals, drums", "--overwrite"]
    options = options_from_args(parse(add_arguments, argv))
    assert options.spectral == SpectralConfig(22050, 2048, 512, "hamming", 2.5)
    assert options.stems == ("vocals", "drums") and options.overwrite
    assert {field.name for field in dataclasses.fields(SpectralConfig)} <= flags.names(DatasetOptions)


def test_train_flags_and_keyword_options_build_the_same_config():
    argv = ["--data_dir", "d", "--model_dir", "m", "--steps", "7", "--features", "logmag", "--generator", "temporal"]
    argv += ["--frequency", "hybrid", "--crop_frames", "96", "--jit"]
    args = vars(parse(train_config.add_arguments, argv))
    options = {key: value for key, value in args.items() if key in train_config.option_names()}
    built = train_config.config_from_options("d", "m", **options)
    assert built == train_config.config_from_options(
        "d", "m", steps=7, features="logmag", generator="temporal", frequency="hybrid", crop_frames=96, jit=True
    )
    assert (built.input.features.kind, built.model.generator, built.input.crop_frames) == ("logmag", "temporal", 96)
    assert built.learning_rate == train_config.TrainConfig("d", "m").learning_rate  # unset: the default


def test_help_comes_from_the_field_docs_and_choices_are_enforced(capsys):
    parser = argparse.ArgumentParser()
    train_config.add_arguments(parser)
    helps = {action.dest: action.help for action in parser._actions}
    assert helps["fmin"].startswith("Hz of the lowest row") and "(default: 41.2)" in helps["fmin"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--data_dir", "d", "--model_dir", "m", "--generator", "transformer"])
    assert "invalid choice: 'transformer'" in capsys.readouterr().err


def test_an_unknown_option_names_itself_and_the_known_ones():
    with pytest.raises(TypeError, match=r"unknown dataset option\(s\) \['nfft'\]; known: .*n_fft"):
        make_options("m", "o", nfft=2048)


def test_serve_flags_build_the_web_apps_settings():
    from vocals2song.cli import parser
    from webapp.settings import Settings

    args = vars(parser().parse_args(["serve", "--port", "8123", "--allowed_origins", "https://a.org, https://b.org"]))
    settings = flags.build(Settings, {key: value for key, value in args.items() if key in flags.names(Settings)})
    assert settings == Settings(port=8123, allowed_origins=("https://a.org", "https://b.org"))
    assert (args["harmony"], args["chords"]) == ("auto", "auto")
    assert parser().parse_args(["serve", "--chords", "none"]).chords == "none"
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--chords", "loud"])


def test_generate_evaluate_and_serve_share_the_accompanists_flags():
    from trainer.config import Accompanist, EvaluateOptions, GenerateOptions
    from vocals2song.cli import _options, parser

    for argv, cls in (
        (
            ["generate", "--vocals", "v.wav", "--output", "song.wav", "--chords", "only", "--harmony", "head"],
            GenerateOptions,
        ),
        (["evaluate", "--model", "m", "--data_dir", "d", "--chords", "only", "--harmony", "head"], EvaluateOptions),
    ):
        assert _options(cls, parser().parse_args(argv)).accompanist == Accompanist(harmony="head", chords="only")
    assert _options(Accompanist, parser().parse_args(["serve", "--chords", "only"])) == Accompanist(chords="only")


NOISE = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
NOISE += b"I0000 00:00:1 12 port.cc:153] oneDNN custom operations are on.\n"
NOISE += b"E0000 00:00:1 12 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"


def test_tensorflows_native_start_up_lines_are_dropped_and_anything_else_passed_on(capfd):
    from vocals2song import cli

    cli.quietly(lambda: os.write(2, NOISE + b"E0000 00:00:1 12 other.cc:1] a real native error\n"))
    err = capfd.readouterr().err
    assert "a real native error" in err
    assert "I0000" not in err and "cuInit" not in err and "absl" not in err


def test_a_load_that_fails_still_shows_what_it_wrote(capfd):
    from vocals2song import cli

    def failing():
        os.write(2, NOISE + b"Illegal instruction: the CPU lacks AVX\n")
        raise ImportError("no tensorflow")

    with pytest.raises(ImportError, match="no tensorflow"):
        cli.quietly(failing)
    assert "the CPU lacks AVX" in capfd.readouterr().err
