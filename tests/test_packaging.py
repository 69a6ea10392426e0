"""setup.py as Dataflow uses it (--setup_file): the sdist that Beam stages for workers must
carry every module and data file the job needs. The sdist is installed in a fresh virtual
environment and the dataset job runs from it with multi_processing workers, the closest local
stand-in for remote workers (every function pickled and run in another process)."""

from __future__ import annotations

import glob
import os
import site
import subprocess
import sys
import tarfile

import pytest
from conftest import SEGMENT_SECONDS, shard_bytes

pytestmark = pytest.mark.packaging

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command: list[str], **kwargs) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def test_the_sdist_installs_and_runs_the_job_on_multi_processing_workers(musdb_root, dataset_dir, tmp_path):
    # What Beam's stager does with --setup_file: `python setup.py sdist`.
    run([sys.executable, "setup.py", "-q", "sdist", "--dist-dir", str(tmp_path / "dist")], cwd=ROOT)
    (sdist,) = glob.glob(str(tmp_path / "dist" / "vocals2song-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pipelines/shards.py", "trainer/generate.py", "vocals2song/schema.py", "webapp/static/index.html"):
        assert needed in names

    # A fresh environment: the sdist installed without dependencies, which it borrows from this
    # environment through a path file (resolving them again would download ~1 GB). Path files
    # inside a borrowed directory are not processed, so this project's editable install is not.
    fresh = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(fresh)])
    python = str(fresh / "bin" / "python")
    fresh_site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    with open(os.path.join(fresh_site, "borrowed-dependencies.pth"), "w") as handle:
        handle.write("\n".join(site.getsitepackages()) + "\n")
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", sdist], cwd=tmp_path)
    where = run([python, "-c", "import pipelines, webapp; print(pipelines.__file__, webapp.__file__)"], cwd=tmp_path)
    assert all(path.startswith(str(fresh)) for path in where.split()), where

    out = str(tmp_path / "data")
    run(
        [
            str(fresh / "bin" / "vocals2song"),
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
