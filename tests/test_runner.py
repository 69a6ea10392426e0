"""The jobs' local runner: no Prism download attempt, other runners untouched."""

import logging

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from pipelines import runner


def test_no_runner_and_the_direct_runner_run_on_the_fn_api_runner():
    for args in ([], ["--runner=DirectRunner"], ["--runner", "DirectRunner", "--direct_num_workers=2"]):
        pipeline = runner.make_pipeline(args)
        assert isinstance(pipeline.runner, FnApiRunner), args
    options = pipeline.options.get_all_options()
    assert options["direct_num_workers"] == 2 and not options["runner"]


def test_a_runner_named_explicitly_is_used_with_its_arguments():
    # Constructing a DataflowRunner pipeline looks for credentials online; Prism stands in.
    pipeline = runner.make_pipeline(["--runner=PrismRunner", "--job_name=x"])
    assert type(pipeline.runner).__name__ == "PrismRunner"
    assert pipeline.options.get_all_options()["job_name"] == "x"


def test_a_local_run_never_tries_prism(caplog):
    """Beam's DirectRunner would try to download Prism from GitHub first (network at run time)."""
    caplog.set_level(logging.INFO)
    with runner.make_pipeline([]) as pipeline:
        _ = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2)
    assert "prism" not in caplog.text.lower()
