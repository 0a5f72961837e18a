"""Smoke test of benchmarks/selection.py: its data and both sides on a small instance.

Correctness only: the benchmark's timings are never asserted in tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) puts only tests/ on the path
    sys.path.insert(0, str(ROOT))

from benchmarks import selection as bench  # noqa: E402


@pytest.fixture(scope="module")
def small() -> bench.SelectionData:
    return bench.build(120, 2_500)


def test_data_is_deterministic_and_realistic(small):
    again = bench.build(120, 2_500)
    assert (again.within != small.within).nnz == 0
    np.testing.assert_array_equal(again.weight, small.weight)
    assert small.within.shape == (120, 2_500)
    assert small.info["candidates_per_demand_point_mean"] > 1  # catchments overlap
    assert small.within.data.max() <= bench.REACH_M
    assert (small.weight > 0).all()


@pytest.mark.filterwarnings("ignore:.*PuLP 4.0:DeprecationWarning")
def test_ours_and_spopt_agree(small):
    case = bench.run_mclp(small, k=6, repeat=1, peer=True, peer_highs=False)
    assert case["agreement"]["same_objective"], case["agreement"]
    assert case["ours"]["status"] == "optimal"
    assert case["ours"]["objective_recomputed"] == pytest.approx(case["peer"]["objective"])
