"""A short soak of a real `vocals2song serve`: every job is done or refused, none lost; memory and
disk come back (`make soak` runs the long one and records its figures)."""

import pytest

from benchmarks.bench_soak import soak

pytestmark = pytest.mark.slow


def test_every_job_ends_done_or_refused_and_nothing_is_left_behind(accompaniment_model):
    result = soak(accompaniment_model, jobs=24, clients=4, keep_seconds=2.0)
    assert result.submitted == 24 and result.failed == [] and result.lost == 0, result
    assert result.done + result.refused == 24 and result.done >= 4
    assert result.rss_end <= 1.2 * result.rss_warm, (result.rss_warm, result.rss_end)
    assert result.left_files == []
