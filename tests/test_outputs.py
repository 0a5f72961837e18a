"""outputs: contract files, atomic rewrite, ranking table, output-folder checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from siting import ConfigError, OutputError, run_study
from siting.outputs import check_out_dir, ranking_table, write_outputs


@pytest.fixture(scope="module")
def result(karhula_layers):
    return run_study(karhula_layers, k=2, study_name="karhula")


def test_ranking_table_sorted_with_lonlat(result) -> None:
    table = ranking_table(result)
    assert table["rank"].is_monotonic_increasing
    assert table["lon"].between(26, 28).all() and table["lat"].between(60, 61).all()
    assert not table.isin([float("inf")]).any().any()


def test_rewrite_replaces_previous_run(result, tmp_path: Path) -> None:
    write_outputs(result, tmp_path, basemap="none")
    first = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    write_outputs(result, tmp_path, lang="en", basemap="none")
    second = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert first["counts"] == second["counts"]
    assert "Infant-care" in (tmp_path / "map.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["map.html", "ranking.csv", "report.html", "results.gpkg", "summary.json"]
    )


def test_check_out_dir_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        check_out_dir(blocker / "out")
    assert isinstance(OutputError("x"), OSError)


def test_map_options_checked_before_anything_is_written(result, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="Tianditu"):
        write_outputs(result, out, basemap="tianditu")
    assert not out.exists()  # not even the folder


def test_results_gpkg_carries_qgis_styles(result, tmp_path: Path) -> None:
    import pyogrio

    write_outputs(result, tmp_path, basemap="none")
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "results.gpkg")]
    assert "layer_styles" in layers and "candidates" in layers
