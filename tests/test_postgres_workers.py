"""The multi-worker search on a real PostgreSQL server (``.ci/run`` starts one and sets
``AUTOML_TEST_POSTGRES``; without it this test is skipped)."""

import os
import uuid

import pytest

from test_durable_search import run_workers

URL = os.environ.get("AUTOML_TEST_POSTGRES")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not URL, reason="no PostgreSQL server (AUTOML_TEST_POSTGRES; .ci/run starts one)"),
]


def test_a_fit_and_two_workers_share_a_postgresql_study(tmp_path):
    """Trials from the fit and both workers, none trained twice, an ensemble drawing on
    several processes, and a worker killed with SIGKILL mid-trial does not stop the study."""
    pytest.importorskip("psycopg")
    run_workers(tmp_path, URL, tmp_path / "artifacts", name=f"workers-{uuid.uuid4().hex[:8]}")
