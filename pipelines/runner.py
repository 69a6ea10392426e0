"""The Beam pipeline both jobs run on: the local runner unless told otherwise, without Prism."""

from __future__ import annotations

import argparse

LOCAL_RUNNER = "DirectRunner"


def make_pipeline(beam_args: list[str]):
    """A ``beam.Pipeline`` for ``beam_args``; no ``--runner`` means :data:`LOCAL_RUNNER`.

    Beam 2.77's DirectRunner first tries its Prism runner, which it downloads from GitHub at
    run time (offline the download fails and it falls back, after a network attempt the
    project does not allow). Both jobs are batch pipelines of plain DoFns, which the
    DirectRunner's own fallback, the FnApiRunner, runs (its in-memory and multi_processing
    modes take the same ``--direct_*`` flags), so a local run goes there directly. Any other
    runner (Dataflow) gets the arguments untouched.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--runner", default=LOCAL_RUNNER)
    known, rest = parser.parse_known_args(beam_args)
    if known.runner not in (LOCAL_RUNNER, "direct"):
        return beam.Pipeline(options=PipelineOptions(beam_args))
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    return beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(rest))
