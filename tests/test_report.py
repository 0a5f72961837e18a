"""report.html: targets, rules with citations, top sites, attribution, both languages."""

from __future__ import annotations

import pytest

from siting import run_study
from siting.report import report_html


@pytest.fixture(scope="module")
def result(karhula_layers):
    return run_study(karhula_layers, k=2, study_name="karhula")


def test_report_lists_rules_targets_and_attribution(result) -> None:
    zh = report_html(result)
    en = report_html(result, lang="en")
    for rid in ("GAS-10", "PWR-09", "SITE-01"):
        assert rid in zh
    assert "JGJ 39-2016" in zh
    assert "社区托育覆盖率" in zh and "Community childcare coverage" in en
    assert "OpenStreetMap" in en and "ODbL" in en
    assert "<script" not in zh  # printable, static
    top = result.candidates.sort_values("rank").iloc[0]["parcel_id"]
    assert top in en
