"""Tests for siting.weights: AHP weights and consistency against AHPy, bad matrices."""

from __future__ import annotations

import itertools

import ahpy
import numpy as np
import pytest

import siting
from siting.weights import SAATY_RI, ahp_weights, check_weights, pairwise_matrix

# A planning bureau's judgements on five of the criteria (Saaty scale), mildly inconsistent.
NAMES = ["unserved_under3", "walk_under3", "dist_public_m", "dist_stop_m", "area_m2"]
JUDGEMENTS = {
    ("unserved_under3", "walk_under3"): 2.0,
    ("unserved_under3", "dist_public_m"): 4.0,
    ("unserved_under3", "dist_stop_m"): 5.0,
    ("unserved_under3", "area_m2"): 6.0,
    ("walk_under3", "dist_public_m"): 3.0,
    ("walk_under3", "dist_stop_m"): 3.0,
    ("walk_under3", "area_m2"): 4.0,
    ("dist_public_m", "dist_stop_m"): 1.0,
    ("dist_public_m", "area_m2"): 2.0,
    ("dist_stop_m", "area_m2"): 3.0,
}


def _ahpy(judgements):
    return ahpy.Compare("c", dict(judgements), precision=12, random_index="saaty")


def test_weights_and_consistency_match_ahpy():
    got = ahp_weights(pairwise_matrix(JUDGEMENTS, NAMES), NAMES)
    peer = _ahpy(JUDGEMENTS)
    for name in NAMES:
        assert got.weights[name] == pytest.approx(peer.target_weights[name], abs=1e-9)
    # AHPy's "saaty" random index is Saaty's 2005 table (1.11 for n = 5); ours is the 1980
    # table (1.12): compare the consistency index they share, then our ratio by hand.
    ci_peer = peer.consistency_ratio * 1.11
    assert got.consistency_index == pytest.approx(ci_peer, rel=1e-6)
    assert got.consistency_ratio == pytest.approx(got.consistency_index / SAATY_RI[5])
    assert 0 < got.consistency_ratio < 0.1
    assert sum(got.weights.values()) == pytest.approx(1.0)
    # lambda_max from the definition A w = lambda w
    a = pairwise_matrix(JUDGEMENTS, NAMES)
    w = np.array([got.weights[n] for n in NAMES])
    np.testing.assert_allclose(a @ w, got.lambda_max * w, rtol=1e-9)


def test_consistent_matrix_gives_its_ratios():
    w = np.array([0.5, 0.25, 0.15, 0.1])
    names = ["a", "b", "c", "d"]
    got = ahp_weights(w[:, None] / w[None, :], names)
    np.testing.assert_allclose([got.weights[n] for n in names], w, rtol=1e-12)
    assert got.consistency_ratio == pytest.approx(0.0, abs=1e-12)
    assert got.lambda_max == pytest.approx(4.0)


def test_inconsistent_matrix_names_the_worst_pair():
    bad = dict(JUDGEMENTS)
    bad[("dist_stop_m", "area_m2")] = 1 / 9  # area now far above stops, contradicting the rest
    with pytest.raises(siting.ConfigError) as err:
        ahp_weights(pairwise_matrix(bad, NAMES), NAMES)
    msg = str(err.value)
    assert "consistency ratio" in msg
    assert "> 0.1" in msg
    assert "dist_stop_m vs area_m2" in msg
    # the peer agrees that it is inconsistent
    assert _ahpy(bad).consistency_ratio > 0.1
    # the pair named is the one whose judgement deviates most from the implied ratio
    a = pairwise_matrix(bad, NAMES)
    vals, vecs = np.linalg.eig(a)
    v = np.abs(vecs[:, np.argmax(vals.real)].real)
    dev = {
        (NAMES[i], NAMES[j]): abs(np.log(a[i, j] * v[j] / v[i]))
        for i, j in itertools.combinations(range(5), 2)
    }
    assert max(dev, key=dev.get) == ("dist_stop_m", "area_m2")


def test_not_reciprocal_is_refused_with_the_value_expected():
    a = pairwise_matrix(JUDGEMENTS, NAMES)
    a[3, 1] = 2.0  # should be 1/3
    with pytest.raises(siting.ConfigError, match=r"not reciprocal.*walk_under3, dist_stop_m.*1/3"):
        ahp_weights(a, NAMES)
    # 0.33 for 1/3 is accepted (typed by hand)
    a[3, 1] = 0.33
    assert ahp_weights(a, NAMES).consistency_ratio < 0.1


@pytest.mark.parametrize(
    ("matrix", "names", "match"),
    [
        ([[1, 2], [0.5, 1]], ["a", "b", "c"], "2x2 but 3 criteria"),
        ([[1, 2, 3], [0.5, 1, 2]], ["a", "b", "c"], "2x3"),
        ([[1, -2], [-0.5, 1]], ["a", "b"], "positive"),
        ([[2, 2], [0.5, 1]], ["a", "b"], "diagonal"),
        ([[1, 2], [0.5, 1]], ["a", "a"], "unique"),
        ([["x", 2], [0.5, 1]], ["a", "b"], "square table"),
    ],
)
def test_bad_matrices_rejected(matrix, names, match):
    with pytest.raises(siting.ConfigError, match=match):
        ahp_weights(matrix, names)


def test_pairwise_matrix_errors():
    with pytest.raises(siting.ConfigError, match="unknown criterion 'x'"):
        pairwise_matrix({("a", "x"): 3}, ["a", "b"])
    with pytest.raises(siting.ConfigError, match="twice"):
        pairwise_matrix({("a", "b"): 3, ("b", "a"): 1 / 3}, ["a", "b"])
    with pytest.raises(siting.ConfigError, match="positive"):
        pairwise_matrix({("a", "b"): 0}, ["a", "b"])


def test_ahp_weights_feed_scoring_and_unknown_criteria_refused():
    from siting.scoring import CRITERIA

    got = ahp_weights(pairwise_matrix(JUDGEMENTS, NAMES), NAMES)
    assert check_weights(got.weights, known=CRITERIA) == pytest.approx(got.weights)
    renamed = [*NAMES[:-1], "parking"]
    bad = ahp_weights(pairwise_matrix({}, renamed), renamed)
    with pytest.raises(siting.ConfigError, match=r"unknown criterion weight\(s\) \['parking'\]"):
        check_weights(bad.weights, known=CRITERIA)
