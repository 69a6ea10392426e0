"""Which tf.distribute strategy to train under.

All visible GPUs by default (MirroredStrategy); ``cpu_replicas`` > 1 splits the CPU into
logical devices so multi-replica training is testable without a GPU;
MultiWorkerMirroredStrategy when TF_CONFIG names several workers.
"""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

log = logging.getLogger(__name__)


def split_cpu(replicas: int) -> list[str]:
    """Makes ``replicas`` logical CPU devices (before TensorFlow starts its runtime) and
    returns their names. If the runtime already runs with enough of them, uses those."""
    (cpu,) = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError as error:
        available = tf.config.list_logical_devices("CPU")
        if len(available) < replicas:
            raise RuntimeError(
                f"cannot make {replicas} CPU replicas: TensorFlow already started with {len(available)} CPU device(s)"
            ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")[:replicas]]


def _machines(cluster: dict) -> int:
    """Machines that train: the chief (Vertex AI's pool 0) plus the workers."""
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def make_strategy(cpu_replicas: int = 0) -> tf.distribute.Strategy:
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    if _machines(cluster) > 1:
        log.info("TF_CONFIG names %d machines: MultiWorkerMirroredStrategy", _machines(cluster))
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cpu_replicas:
        devices = split_cpu(cpu_replicas)
        # NCCL, the default all-reduce, needs GPUs.
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    gpus = tf.config.list_logical_devices("GPU")
    if not gpus:
        return tf.distribute.MirroredStrategy(["/cpu:0"], cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus])


def worker_share(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(index, count) of this machine among those training, the chief first; (0, 1) on one
    machine. Each machine reads its own share of the shards by this index, and only index 0
    writes checkpoints, logs, summaries and the export."""
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if _machines(cluster) <= 1:
        return 0, 1
    offset = len(cluster.get("chief", [])) if resolver.task_type == "worker" else 0
    return offset + resolver.task_id, _machines(cluster)
