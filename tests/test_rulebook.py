"""Tests for :mod:`siting.rulebook`: the shipped Fuxin profile and TOML validation."""

from __future__ import annotations

import dataclasses
import math
from importlib import resources
from pathlib import Path

import pytest

from siting import ConfigError, DataSourceError, SitingError
from siting.rulebook import HAZARD_CLASSES, Rulebook, default_rulebook, load_rulebook

VALID = """
[rulebook]
id = "test-book"
version = "2.1"
name_zh = "测试"
name_en = "Test book"

[[rules]]
id = "FIX-1"
hazard_class = "fuel_station"
kind = "setback"
dist_m = 30
hard = false
en = "Fixed setback"
source = "test source"

[[rules]]
id = "KV-1"
hazard_class = "power_line"
dist_by_kv = [[10.0, 4.0], [220.0, 15.0]]

[[rules]]
id = "NX-1"
hazard_class = ["power_line", "pipeline"]
kind = "no_cross"

[parameters.walk_m]
value = 500
unit = "m"
source = "test"
"""

RULE_HEAD = '[[rules]]\nid = "R-1"\n'


def write(tmp_path: Path, text: str, name: str = "book.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped profile -------------------------------------------------------------


def test_default_rulebook_has_cited_rules() -> None:
    book = default_rulebook()
    assert isinstance(book, Rulebook)
    assert book.id == "fuxin-2020"
    ids = [r.id for r in book.rules]
    assert {"GAS-10", "PIPE-01", "PWR-09", "PWR-04", "SITE-01"} <= set(ids)
    assert len(ids) == len(set(ids))
    for rule in book.rules:
        assert rule.source.strip(), f"rule {rule.id} has no source"
        assert rule.zh.strip()
        assert rule.en.strip()
        assert set(rule.hazard_classes) <= set(HAZARD_CLASSES)


def test_default_fixed_setbacks() -> None:
    book = default_rulebook()
    gas = book.rule("GAS-10")
    assert gas.hazard_classes == ("fuel_station",)
    assert gas.kind == "setback"
    assert gas.hard is True
    assert gas.setback_m() == 50.0
    pipe = book.rule("PIPE-01")
    assert pipe.hazard_classes == ("pipeline",)
    assert pipe.setback_m() == 5.0
    cable = book.rule("PWR-04")
    assert cable.hazard_classes == ("power_cable",)
    assert cable.setback_m() == 0.75


def test_default_no_cross_rule() -> None:
    site = default_rulebook().rule("SITE-01")
    assert site.kind == "no_cross"
    assert set(site.hazard_classes) == {"power_line", "pipeline"}
    assert site.setback_m() == 0.0
    assert site.setback_m(500.0) == 0.0


def test_rules_for_and_unknown_rule() -> None:
    book = default_rulebook()
    assert {r.id for r in book.rules_for("pipeline")} == {"PIPE-01", "SITE-01"}
    assert {r.id for r in book.rules_for("fuel_station")} == {"GAS-10"}
    assert book.rules_for("no_such_class") == ()
    with pytest.raises(KeyError):
        book.rule("NOPE-99")


@pytest.mark.parametrize(
    ("kv", "metres"),
    [
        (110.0, 12.5),
        (66.0, 12.5),
        (0.6, 1.0),
        (1.0, 1.0),
        (10.0, 5.0),
        (10.5, 10.0),
        (35.0, 10.0),
        (220.0, 20.0),
        (500.0, 37.5),
        (800.0, 37.5),
        (1200.0, 37.5),
    ],
)
def test_pwr09_setback_by_voltage(kv: float, metres: float) -> None:
    rule = default_rulebook().rule("PWR-09")
    assert rule.hazard_classes == ("power_line",)
    assert rule.dist_m is None
    assert rule.setback_m(kv) == metres


@pytest.mark.parametrize("kv", [None, math.nan])
def test_pwr09_needs_voltage(kv: float | None) -> None:
    with pytest.raises(ConfigError, match=r"PWR-09 needs a voltage"):
        default_rulebook().rule("PWR-09").setback_m(kv)


def test_rule_text_languages() -> None:
    gas = default_rulebook().rule("GAS-10")
    assert "50" in gas.text("en")
    assert gas.text("en") == gas.en
    assert gas.text() == gas.zh
    assert gas.text("zh") != gas.text("en")


def test_shipped_file_loads_like_default() -> None:
    shipped = Path(str(resources.files("siting").joinpath("rules/fuxin-2020.toml")))
    assert load_rulebook(shipped) == default_rulebook()


# --- parameters ----------------------------------------------------------------------


def test_parameters() -> None:
    book = default_rulebook()
    assert book.param("walk_m") == 300
    assert book.param("under3_share") == pytest.approx(0.012)
    assert book.param("m2_per_child") == 8.0
    assert book.parameters["walk_m"].unit == "m"
    assert book.parameters["walk_m"].source


def test_unknown_parameter() -> None:
    with pytest.raises(ConfigError, match=r"no parameter 'walk_km'.*walk_m"):
        default_rulebook().param("walk_km")


# --- immutability --------------------------------------------------------------------


def test_rulebook_is_frozen() -> None:
    book = default_rulebook()
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.id = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.rules = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.rule("GAS-10").dist_m = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        book.parameters["walk_m"].value = 1.0  # type: ignore[misc]
    assert isinstance(book.rules, tuple)
    assert book.rule("GAS-10").setback_m() == 50.0


def test_rulebook_parameters_cannot_be_replaced(tmp_path: Path) -> None:
    for book in (default_rulebook(), load_rulebook(write(tmp_path, VALID))):
        with pytest.raises(TypeError):
            book.parameters["walk_m"] = book.parameters["walk_m"]  # type: ignore[index]
        with pytest.raises(TypeError):
            del book.parameters["walk_m"]  # type: ignore[attr-defined]
        assert "walk_m" in book.parameters


# --- load_rulebook -------------------------------------------------------------------


def test_load_valid_rulebook(tmp_path: Path) -> None:
    book = load_rulebook(write(tmp_path, VALID))
    assert (book.id, book.version, book.name_zh, book.name_en) == (
        "test-book",
        "2.1",
        "测试",
        "Test book",
    )
    assert [r.id for r in book.rules] == ["FIX-1", "KV-1", "NX-1"]
    fix = book.rule("FIX-1")
    assert fix.dist_m == 30.0
    assert isinstance(fix.dist_m, float)
    assert fix.hard is False
    assert fix.source == "test source"
    kv = book.rule("KV-1")
    assert kv.kind == "setback"  # the default kind
    assert kv.hard is True  # the default
    assert kv.dist_by_kv == ((10.0, 4.0), (220.0, 15.0))
    assert kv.setback_m(5.0) == 4.0
    assert kv.setback_m(110.0) == 15.0
    assert kv.setback_m(400.0) == 15.0
    assert book.rule("NX-1").hazard_classes == ("power_line", "pipeline")
    assert book.param("walk_m") == 500.0
    with pytest.raises(ConfigError):
        book.param("under3_share")


def test_rulebook_id_defaults_to_file_stem(tmp_path: Path) -> None:
    book = load_rulebook(
        write(tmp_path, RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 3\n', "x1.toml")
    )
    assert book.id == "x1"
    assert book.rule("R-1").setback_m() == 3.0


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\ndistance = 5\n',
            ["unknown key", "distance"],
            id="unknown-rule-key",
        ),
        pytest.param(
            "[extras]\nx = 1\n",
            ["unknown table", "extras"],
            id="unknown-table",
        ),
        pytest.param(
            '[parameters.walk_m]\nvalue = 300\nunits = "m"\n',
            ["walk_m", "unknown key", "units"],
            id="unknown-parameter-key",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "gas_tank"\ndist_m = 5\n',
            ["R-1", "unknown hazard_class", "gas_tank"],
            id="unknown-hazard-class",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = ["pipeline", "volcano"]\ndist_m = 5\n',
            ["R-1", "unknown hazard_class", "volcano"],
            id="unknown-hazard-class-in-list",
        ),
        pytest.param(
            RULE_HEAD + "dist_m = 5\n",
            ["R-1", "unknown hazard_class"],
            id="missing-hazard-class",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = -5\n',
            ["R-1", "dist_m", "must not be negative", "-5"],
            id="negative-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = [[10.0, -1.0]]\n',
            ["R-1", "metres", "must not be negative"],
            id="negative-table-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = "50"\n',
            ["R-1", "dist_m", "must be a number", "'50'"],
            id="string-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = true\n',
            ["R-1", "dist_m", "must be a number", "True"],
            id="bool-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = nan\n',
            ["R-1", "dist_m", "must be a number"],
            id="nan-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = [[10.0, "5 m"]]\n',
            ["R-1", "metres", "must be a number"],
            id="string-table-distance",
        ),
        pytest.param(
            RULE_HEAD
            + 'hazard_class = "pipeline"\ndist_m = 5\n'
            + RULE_HEAD
            + 'hazard_class = "fuel_station"\ndist_m = 50\n',
            ["duplicate rule id", "R-1"],
            id="duplicate-id",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\nkind = "setback"\n',
            ["R-1", "needs `dist_m` or `dist_by_kv`"],
            id="setback-without-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = [[110.0, 12.5], [10.0, 5.0]]\n',
            ["R-1", "ascending"],
            id="unsorted-table",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = [[110.0, 12.5, 3.0]]\n',
            ["R-1", "[kv, metres]"],
            id="table-row-of-three",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\nkind = "buffer"\ndist_m = 5\n',
            ["R-1", "kind must be one of", "buffer"],
            id="bad-kind",
        ),
        pytest.param(
            '[[rules]]\nhazard_class = "pipeline"\ndist_m = 5\n',
            ["needs a string `id`"],
            id="missing-id",
        ),
        pytest.param(
            '[parameters.walk_m]\nvalue = "300"\n',
            ["walk_m", "must be a number"],
            id="string-parameter",
        ),
        pytest.param(
            '[parameters.walk_m]\nunit = "m"\n',
            ["walk_m", "must be a number", "None"],
            id="parameter-without-value",
        ),
    ],
)
def test_invalid_rulebook(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_rulebook(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert isinstance(info.value, ValueError)


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rules]]\nid = "A"\ndist_m = = 5\n')
    with pytest.raises(DataSourceError, match="not valid UTF-8 TOML") as info:
        load_rulebook(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, SitingError)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[rulebook]\nname_en = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(DataSourceError, match="not valid UTF-8 TOML"):
        load_rulebook(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(DataSourceError, match="rulebook not found") as info:
        load_rulebook(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param(
            "[parameters]\nwalk_m = 300\n",
            ["parameters must be tables"],
            id="parameter-not-a-table",
        ),
        pytest.param(
            RULE_HEAD + "hazard_class = 5\ndist_m = 5\n",
            ["R-1", "unknown hazard_class", "5"],
            id="hazard-class-number",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = 5\n',
            ["R-1", "dist_by_kv must be a list"],
            id="table-not-a-list",
        ),
        pytest.param("rules = [1]\n", ["array of tables"], id="rule-not-a-table"),
        pytest.param(
            '[rules]\nid = "A"\nhazard_class = "pipeline"\ndist_m = 1\n',
            ["array of tables"],
            id="rules-single-table",
        ),
        pytest.param("rulebook = 5\n", ["[rulebook] must be a table"], id="head-not-a-table"),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nhard = "false"\n',
            ["R-1", "hard must be true or false", "'false'"],
            id="hard-as-string",
        ),
    ],
)
def test_wrongly_shaped_values_are_config_errors(
    tmp_path: Path, body: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        load_rulebook(write(tmp_path, body))
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {info.value}"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[rulebook]\nid = "x"\nauthor = "me"\n', "author"),
        ('[[rules]]\nid = "R-1"\nhazard_class = "fuel_station"\ndist_m = inf\n', "finite"),
        (
            '[[rules]]\nid = "R-1"\nhazard_class = "power_line"\n'
            "dist_by_kv = [[10.0, 5.0], [10.0, 6.0]]\n",
            "strictly ascending",
        ),
        ('[[rules]]\nid = "R-7"\nhazard_class = "fuel_station"\ndist_m = 5\nwidth = 3\n', "R-7"),
    ],
)
def test_more_invalid_rulebooks(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_rulebook(write(tmp_path, text))
