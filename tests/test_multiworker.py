"""Data-parallel training across machines: two processes on 127.0.0.1 under
MultiWorkerMirroredStrategy, set up by TF_CONFIG as Vertex AI sets it (a chief and a worker)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import types

import pytest
import tensorflow as tf

from benchmarks.fixtures import free_ports
from trainer import distribute
from vocals2song.manifest import read_manifest

pytestmark = pytest.mark.slow

STEPS = 3


def command(dataset_dir: str, model_dir: str, steps: int, checkpoint_every: int) -> list[str]:
    return [
        sys.executable, "-m", "vocals2song.cli", "train", "--data_dir", dataset_dir, "--model_dir", model_dir,
        "--steps", str(steps), "--batch_size", "2", "--filters", "8", "--depth", "4", "--disc_filters", "8",
        "--dropout", "0", "--crop_frames", "64", "--shuffle_buffer", "8", "--log_every", "1",
        "--checkpoint_every", str(checkpoint_every), "--summary_every", "1000", "--eval_every", "1000",
    ]  # fmt: skip


def launch(argv: list[str]) -> list[subprocess.Popen]:
    """A chief and a worker on loopback ports, as Vertex AI's TF_CONFIG describes them."""
    chief, worker = (f"127.0.0.1:{port}" for port in free_ports(2))
    assert chief != worker
    cluster = {"chief": [chief], "worker": [worker]}
    processes = []
    for task_type in ("chief", "worker"):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": 0}})}
        processes.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return processes


def finish(processes: list[subprocess.Popen]) -> list[str]:
    outputs = []
    for process in processes:
        try:
            outputs.append(process.communicate(timeout=400)[0])
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            pytest.fail("the two training processes did not finish in 400 s")
    return outputs


def test_two_machines_train_on_their_own_shards_and_the_chief_writes_one_checkpoint(dataset_dir, tmp_path):
    model_dir = str(tmp_path / "model")
    processes = launch(command(dataset_dir, model_dir, STEPS, STEPS))
    outputs = finish(processes)
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
        assert "MultiWorkerMirroredStrategy" in output

    # Each machine read its own share of the train shards, and together all of them.
    shares = []
    for index, output in enumerate(outputs):
        found = re.search(rf"machine {index} of 2 reads \d+ train shards: (.*)", output)
        assert found, output[-3000:]
        shares.append(set(found.group(1).split(", ")))
    all_shards = set(read_manifest(dataset_dir).shard_paths(dataset_dir, "train"))
    assert shares[0] and shares[1] and not shares[0] & shares[1]
    assert shares[0] | shares[1] == all_shards

    # One checkpoint series, the chief's; the log and the export are the chief's alone.
    checkpoints = sorted(os.listdir(os.path.join(model_dir, "checkpoints")))
    assert f"ckpt-{STEPS}.index" in checkpoints and "checkpoint" in checkpoints
    with open(os.path.join(model_dir, "train_log.jsonl")) as handle:
        assert [json.loads(line)["step"] for line in handle] == list(range(1, STEPS + 1))
    assert os.path.exists(os.path.join(model_dir, "export", "model.json"))
    assert "the chief exports" in outputs[1]


def wait_for_step(process: subprocess.Popen, step: int) -> list[str]:
    """Reads the process's output until it logs ``step``; returns the lines read."""
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(f"step {step}/"):
            return lines
    tail = "".join(lines[-40:])
    pytest.fail(f"training ended before step {step}:\n{tail}")


@pytest.mark.parametrize("signalled", [1, 0], ids=["worker", "chief"])
def test_sigterm_to_one_machine_stops_both_at_one_checkpoint_and_the_rerun_resumes_there(
    dataset_dir, tmp_path, signalled
):
    model_dir = str(tmp_path / "model")
    processes = launch(command(dataset_dir, model_dir, 500, 1000))
    early = wait_for_step(processes[signalled], 3)
    processes[signalled].send_signal(signal.SIGTERM)
    outputs = finish(processes)
    outputs[signalled] = "".join(early) + outputs[signalled]
    saved = [re.search(r"signal 15: checkpoint saved at step (\d+)", output) for output in outputs]
    assert all(saved), [output[-2000:] for output in outputs]
    assert [process.returncode for process in processes] == [143, 143]
    step = int(saved[0].group(1))
    assert int(saved[1].group(1)) == step
    assert tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints")).endswith(f"ckpt-{step}")

    rerun = launch(command(dataset_dir, model_dir, step + 1, 1000))
    outputs = finish(rerun)
    assert [process.returncode for process in rerun] == [0, 0], outputs[0][-2000:]
    with open(os.path.join(model_dir, "train_log.jsonl")) as handle:
        assert [json.loads(line)["step"] for line in handle][-2:] == [step, step + 1]


def fake_strategy(cluster: dict, task_type: str, task_id: int):
    spec = types.SimpleNamespace(as_dict=lambda: cluster)
    resolver = types.SimpleNamespace(cluster_spec=lambda: spec, task_type=task_type, task_id=task_id)
    return types.SimpleNamespace(cluster_resolver=resolver)


@pytest.mark.parametrize(
    ("cluster", "task_type", "task_id", "share"),
    [
        ({"worker": ["a", "b", "c"]}, "worker", 0, (0, 3)),  # plain workers: worker 0 is the chief
        ({"worker": ["a", "b", "c"]}, "worker", 2, (2, 3)),
        ({"chief": ["a"], "worker": ["b", "c"]}, "chief", 0, (0, 3)),  # Vertex AI: pool 0 is the chief
        ({"chief": ["a"], "worker": ["b", "c"]}, "worker", 1, (2, 3)),
        ({}, None, None, (0, 1)),
    ],
)
def test_machine_index_and_count_from_the_cluster(cluster, task_type, task_id, share):
    assert distribute.worker_share(fake_strategy(cluster, task_type, task_id)) == share


def test_a_single_machine_strategy_is_machine_0_of_1():
    assert distribute.worker_share(tf.distribute.get_strategy()) == (0, 1)
