"""setup.py as Dataflow uses it (--setup_file): the sdist that Beam stages for workers must
carry every module and data file the job needs. The sdist is installed in a fresh virtual
environment and the dataset job runs from it with multi_processing workers, the closest local
stand-in for remote workers (every function pickled and run in another process)."""

from __future__ import annotations

import fcntl
import glob
import os
import site
import subprocess
import sys
import tarfile

import pytest
from conftest import SEGMENT_SECONDS, shard_bytes, vocal_in_song
from test_release import MODELS, melody

from vocals2song import audio, cli

pytestmark = pytest.mark.packaging

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command: list[str], **kwargs) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    """A fresh environment with the sdist installed, as Beam's stager builds it with --setup_file
    (`python setup.py sdist`): its root. pip builds a wheel from the sdist, as on Colab."""
    tmp_path = tmp_path_factory.mktemp("installed")
    # `setup.py sdist` rewrites the clone's vocals2song.egg-info: one build at a time across
    # pytest-xdist workers (each may build this module's fixture), whose temp folders share a parent.
    with open(tmp_path_factory.getbasetemp().parent / "sdist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(tmp_path / "dist")], cwd=ROOT)
    (sdist,) = glob.glob(str(tmp_path / "dist" / "vocals2song-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pipelines/shards.py", "trainer/generate.py", "vocals2song/schema.py", "webapp/static/index.html"):
        assert needed in names

    # The sdist installed without dependencies, which it borrows from this environment through a
    # path file (resolving them again would download ~1 GB). Path files inside a borrowed
    # directory are not processed, so this project's editable install is not.
    fresh = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(fresh)])
    python = str(fresh / "bin" / "python")
    fresh_site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    with open(os.path.join(fresh_site, "borrowed-dependencies.pth"), "w") as handle:
        handle.write("\n".join(site.getsitepackages()) + "\n")
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", sdist], cwd=tmp_path)
    where = run([python, "-c", "import pipelines, webapp; print(pipelines.__file__, webapp.__file__)"], cwd=tmp_path)
    assert all(path.startswith(str(fresh)) for path in where.split()), where
    return str(fresh)


def test_the_sdist_installs_and_runs_the_job_on_multi_processing_workers(installed, musdb_root, dataset_dir, tmp_path):
    out = str(tmp_path / "data")
    run(
        [
            os.path.join(installed, "bin", "vocals2song"),
            "dataset",
            "--musdb_root",
            musdb_root,
            "--output_dir",
            out,
            "--segment_seconds",
            str(SEGMENT_SECONDS),
            "--runner",
            "DirectRunner",
            "--direct_running_mode=multi_processing",
            "--direct_num_workers=2",
        ],  # fmt: skip
        cwd=tmp_path,
    )
    assert shard_bytes(out) == shard_bytes(dataset_dir)


def test_the_installed_package_sings_with_the_released_model_it_ships(installed, tmp_path):
    # Outside a clone (a Colab notebook's `pip install`) the released model comes with the package.
    python = os.path.join(installed, "bin", "python")
    code = "from trainer import export; print('released:', export.RELEASED_MODEL)"
    printed = run([python, "-c", code], cwd=tmp_path)  # TensorFlow's start-up lines around it
    released = next(line for line in printed.splitlines() if line.startswith("released: ")).split(" ", 1)[1]
    assert released.startswith(installed) and released.endswith(os.path.join("released", "chorales")), released
    for name in ("model.json", "generator.keras", "harmoniser.keras"):
        with open(os.path.join(released, name), "rb") as copy, open(MODELS / "chorales" / name, "rb") as original:
            assert copy.read() == original.read(), name

    take, song = tmp_path / "take.wav", tmp_path / "song.wav"
    audio.write(str(take), melody(), 44100)
    as_a_user = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}  # conftest's
    command = [os.path.join(installed, "bin", "vocals2song"), "generate", "--vocals", str(take), "--output", str(song)]
    printed = run(command, env=as_a_user)
    assert not [line for line in printed.splitlines() if cli.NATIVE_NOISE.match(line) or "E0000" in line], printed
    gain, rest = vocal_in_song(audio.read(str(song))[0], melody())
    assert abs(gain - 1.0) < 0.05 and 0.03 < rest < 2.0, (gain, rest)  # the voice, and music under it


def test_the_installed_package_holds_the_listening_tests_page(installed, tmp_path):
    python = os.path.join(installed, "bin", "python")
    code = "from trainer import listening; print(sorted(p.name for p in listening.PAGE.iterdir()))"
    printed = run([python, "-c", code], cwd=tmp_path)
    assert "['index.html', 'listen.css', 'listen.js']" in printed
