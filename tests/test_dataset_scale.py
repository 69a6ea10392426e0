"""The dataset job at scale on one machine: memory bounded by the work in flight, and an
interrupted job leaves nothing that looks like a data set."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from benchmarks import peak_rss
from vocals2song import synth
from vocals2song.manifest import DatasetError, read_manifest

pytestmark = pytest.mark.slow


def job_command(root: str, out: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vocals2song.cli", "dataset", "--musdb_root", root, "--output_dir", out, *extra]


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """2 minutes and 20 minutes of generated audio (30 s tracks). The 20 minutes are the 2
    minutes' four tracks ten times over, as hard links: what the job holds in memory depends on how
    much audio it reads, not on what the audio is, and synthesising 40 tracks took 2.5 minutes of
    the suite."""
    base = tmp_path_factory.mktemp("scale")
    small, large = str(base / "small"), str(base / "large")
    synth.write_musdb(small, 4, 30.0, seed=5)
    for split in ("train", "test"):
        for track in os.listdir(os.path.join(small, split)):
            for copy in range(10):
                target = os.path.join(large, split, f"{track} ({copy})")
                shutil.copytree(os.path.join(small, split, track), target, copy_function=os.link)
    return small, large


def test_peak_memory_does_not_grow_with_the_input(roots, tmp_path):
    small, large = roots
    measured = {}
    for name, root in (("small", small), ("large", large)):
        result = peak_rss.run(job_command(root, str(tmp_path / name)))
        assert result.returncode == 0, result.output[-2000:]
        measured[name] = result.peak_rss_bytes
    print(f"peak RSS: 2 min {measured['small'] / 1e6:.0f} MB, 20 min {measured['large'] / 1e6:.0f} MB")
    assert read_manifest(str(tmp_path / "large")).segments("train") > 5 * read_manifest(
        str(tmp_path / "small")
    ).segments("train")
    assert measured["large"] < 1.3 * measured["small"]  # 10x the audio, not 10x the memory
    shutil.rmtree(tmp_path / "large")  # 0.85 GB the next test needs on disk again


def test_a_killed_job_leaves_no_data_set_and_the_rerun_starts_clean(roots, tmp_path):
    _, large = roots
    out = str(tmp_path / "killed")
    process = subprocess.Popen(
        job_command(large, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    progress = os.path.join(out, ".progress")
    while not (os.path.isdir(progress) and len(os.listdir(progress)) >= 3):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert os.path.isdir(os.path.join(out, "train"))  # it had started writing
    with pytest.raises(DatasetError, match="dataset.json is missing"):
        read_manifest(out)

    rerun = subprocess.run(job_command(large, out), capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    manifest = read_manifest(out)
    written = sorted(
        os.path.join(split, name)
        for split in ("train", "valid", "test")
        for name in os.listdir(os.path.join(out, split))
    )
    assert written == sorted(shard.path for shard in manifest.shards)  # no staging leftovers
    assert not os.path.exists(os.path.join(out, ".progress"))
