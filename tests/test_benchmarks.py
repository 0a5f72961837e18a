"""Smoke test of the benchmark package: its data and both sides of constraints_vs_buffer_union.

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

from benchmarks import constraints as bench  # noqa: E402
from benchmarks import data  # noqa: E402
from siting.constraints import apply_constraints  # noqa: E402
from siting.rulebook import default_rulebook  # noqa: E402


@pytest.fixture(scope="module")
def tiny() -> data.Dataset:
    return data.build(2_000, 100)


def test_data_is_the_size_asked_for_in_a_projected_crs(tiny):
    assert len(tiny.parcels) == 2_000
    assert tiny.parcels["parcel_id"].is_unique
    assert len(tiny.hazards) >= 100
    assert tiny.parcels.crs == tiny.hazards.crs == data.CRS
    classes = set(tiny.hazards["hazard_class"])
    assert {"fuel_station", "pipeline", "power_line", "power_cable"} <= classes
    assert tiny.info["hazards_random"] > 0


def test_data_is_deterministic(tiny):
    again = data.build(2_000, 100)
    assert again.parcels.geometry.geom_equals_exact(tiny.parcels.geometry, 0).all()
    assert again.hazards.geometry.geom_equals_exact(tiny.hazards.geometry, 0).all()


def test_engine_and_buffer_union_recipe_agree_on_eligibility(tiny):
    rulebook = default_rulebook()
    ours = apply_constraints(tiny.parcels, tiny.hazards, rulebook)
    zones = bench.peer_zones(tiny.hazards, rulebook)
    flags = bench.peer_flags(tiny.parcels, zones)
    peer = bench.peer_eligibility(flags, tiny.parcels.index)
    agreement = bench.compare(tiny.parcels, tiny.hazards, ours, flags, zones)
    assert agreement["rule_disagreements_unexplained"] == 0, agreement["details"]
    np.testing.assert_array_equal(ours["eligible"].to_numpy(), peer["eligible"].to_numpy())
    # the data must exercise both outcomes and several rules
    assert 0 < peer["eligible"].sum() < len(peer)
    fired = [rule for rule, hit in flags.items() if hit.any()]
    assert len(fired) >= 4, fired
    # the prepared variant answers the same
    prepared = bench.peer_flags(tiny.parcels, zones, prepared=True)
    for rule, hit in flags.items():
        np.testing.assert_array_equal(prepared[rule], hit, err_msg=rule)
