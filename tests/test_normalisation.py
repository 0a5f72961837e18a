"""Tests for siting.normalisation against independent formulas (numpy.interp, math)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import siting
from siting.normalisation import Normalisation, normalisation_from_config, normalise

X = np.array([-50.0, 0.0, 120.0, 300.0, 450.0, 500.0, 799.0, 800.0, 1200.0, np.nan])


def test_linear_min_max_and_fixed_range():
    x = np.array([10.0, 20.0, 40.0, np.nan, 1000.0])
    ok = np.array([True, True, True, True, False])
    got = normalise(x, Normalisation(), eligible=ok)  # 1000 is not eligible: range 10..40
    np.testing.assert_allclose(got, [0.0, 1 / 3, 1.0, 0.0, 1.0])
    cost = normalise(x, Normalisation(direction="cost"), eligible=ok)
    np.testing.assert_allclose(cost, [1.0, 2 / 3, 0.0, 0.0, 0.0])  # NaN is worst either way
    fixed = normalise(X, Normalisation(direction="cost", lo=0.0, hi=1000.0))
    expect = 1.0 - np.interp(X, [0.0, 1000.0], [0.0, 1.0])
    np.testing.assert_allclose(fixed[:-1], expect[:-1])
    assert fixed[-1] == 0.0


def test_threshold_steps():
    spec = Normalisation(kind="threshold", breaks=(300.0, 500.0), scores=(1.0, 0.5, 0.0))
    got = normalise(X, spec)
    expect = [1.0 if v < 300 else 0.5 if v < 500 else 0.0 for v in X[:-1]]
    np.testing.assert_array_equal(got[:-1], expect)
    assert got[-1] == 0.0


def test_fuzzy_linear_shapes_match_piecewise_interpolation():
    cases = {
        ("increasing", (100.0, 500.0)): ([100.0, 500.0], [0.0, 1.0]),
        ("decreasing", (300.0, 800.0)): ([300.0, 800.0], [1.0, 0.0]),
        ("triangular", (0.0, 300.0, 800.0)): ([0.0, 300.0, 800.0], [0.0, 1.0, 0.0]),
        ("trapezoidal", (0.0, 120.0, 450.0, 800.0)): (
            [0.0, 120.0, 450.0, 800.0],
            [0.0, 1.0, 1.0, 0.0],
        ),
    }
    for (shape, points), (xp, fp) in cases.items():
        got = normalise(X, Normalisation(kind="fuzzy", shape=shape, points=points))
        np.testing.assert_allclose(got[:-1], np.interp(X[:-1], xp, fp), err_msg=shape)
        assert got[-1] == 0.0


def test_fuzzy_sigmoidal_is_cosine_squared():
    spec = Normalisation(kind="fuzzy", shape="decreasing", points=(300.0, 800.0), curve="sigmoidal")
    got = normalise(X, spec)
    for v, g in zip(X[:-1], got[:-1], strict=True):
        t = min(max((v - 300.0) / 500.0, 0.0), 1.0)
        assert g == pytest.approx(math.cos(math.pi / 2 * t) ** 2, abs=1e-12)
    # symmetric about the midpoint, 0.5 there
    assert normalise(np.array([550.0]), spec)[0] == pytest.approx(0.5)


def test_config_tables():
    spec = normalisation_from_config(
        {"kind": "fuzzy", "shape": "decreasing", "points": [300, 800], "curve": "sigmoidal"}
    )
    assert spec.points == (300.0, 800.0)
    assert "fuzzy decreasing" in spec.describe()
    assert normalisation_from_config({}) == Normalisation()


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"kind": "log"}, "kind must be one of"),
        ({"kind": "linear", "points": [1, 2]}, r"unknown key\(s\) \['points'\]"),
        ({"kind": "linear", "lo": 5, "hi": 5}, "lo < hi"),
        ({"kind": "linear", "direction": "up"}, "benefit"),
        ({"kind": "threshold", "breaks": [300], "scores": [1.0]}, "n \\+ 1 scores"),
        ({"kind": "threshold", "breaks": [500, 300], "scores": [1, 0.5, 0]}, "ascending"),
        ({"kind": "threshold", "breaks": [300], "scores": [1.5, 0]}, "between 0 and 1"),
        ({"kind": "fuzzy", "shape": "bell", "points": [1, 2]}, "shape must be one of"),
        ({"kind": "fuzzy", "shape": "triangular", "points": [1, 2]}, "needs 3"),
        ({"kind": "fuzzy", "shape": "increasing", "points": [5, 1]}, "ascending"),
        ({"kind": "fuzzy", "shape": "increasing", "points": [5, 5]}, "not all be equal"),
        ({"kind": "fuzzy", "shape": "increasing", "points": [1, 2], "curve": "j"}, "curve"),
        ({"kind": "fuzzy", "shape": "increasing", "points": "1,2"}, "list of numbers"),
        ({"kind": "fuzzy", "shape": "increasing", "points": [1, "x"]}, "finite numbers"),
    ],
)
def test_bad_config_rejected(config, match):
    with pytest.raises(siting.ConfigError, match=match):
        normalisation_from_config(config)
