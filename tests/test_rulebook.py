"""Tests for :mod:`siting.rulebook`: the shipped Fuxin profile and TOML validation."""

from __future__ import annotations

import dataclasses
import math
from importlib import resources
from pathlib import Path

import pytest

from siting import ConfigError, DataSourceError, SitingError
from siting.rulebook import (
    CONFIDENCE_LABELS,
    HAZARD_CLASSES,
    KINDS,
    Rulebook,
    default_rulebook,
    load_rulebook,
    overlay_rulebook,
)

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
soft_dist_m = 60
weight = 0.2
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
    assert {"GAS-10", "PIPE-01", "PIPE-10", "PWR-09", "PWR-04", "SITE-01"} <= set(ids)
    assert len(ids) == len(set(ids))
    for rule in book.rules:
        assert rule.source.strip(), f"rule {rule.id} has no source"
        assert rule.clause.strip(), f"rule {rule.id} has no clause"
        assert rule.confidence in CONFIDENCE_LABELS, rule.id
        assert rule.zh.strip()
        assert rule.en.strip()
        assert rule.kind in KINDS
        assert set(rule.hazard_classes) <= set(HAZARD_CLASSES)
        assert rule.enabled
        if rule.kind == "info":
            assert rule.value.strip(), rule.id
            assert rule.hazard_classes == ()
        else:
            assert rule.hazard_classes, rule.id


# Ids of the research notes the default profile must cover.
RULE_IDS = (
    [f"SITE-{i:02d}" for i in range(1, 11)]
    + [f"GAS-{i:02d}" for i in range(1, 11)]
    + [f"PIPE-{i:02d}" for i in range(1, 11)]
    + [f"PWR-{i:02d}" for i in range(1, 10)]
    + [f"POL-{i:02d}" for i in range(1, 8)]
    + ["BLDG-06", "BLDG-10"]
)
#: ids that a parameter's `id` or text may name
PARAMETER_IDS = ["CIRC-03", "CIRC-05", "CIRC-07", "DEM-01", "DEM-02", "DEM-05", "DEM-07"]


@pytest.mark.parametrize(
    "rule_id",
    [
        *RULE_IDS,
        "BLDG-07",
    ],
)  # fmt: skip
def test_default_rulebook_covers_rule_id(rule_id: str) -> None:
    book = default_rulebook()
    rules = [r for r in book.rules if r.id == rule_id]
    params = [p for p in book.parameters.values() if p.id == rule_id]
    assert len(rules) <= 1 and len(rules) + len(params) >= 1, (
        f"{rule_id}: {len(rules)} rules, {len(params)} params"
    )
    item = (rules or params)[0]
    assert item.source.strip() and item.clause.strip(), rule_id
    assert item.confidence in CONFIDENCE_LABELS, rule_id
    assert item.zh.strip() and item.en.strip(), rule_id


@pytest.mark.parametrize("rule_id", PARAMETER_IDS)
def test_default_parameters_cite_rule_id(rule_id: str) -> None:
    book = default_rulebook()
    citing = [
        p
        for p in book.parameters.values()
        if p.id == rule_id or rule_id in " ".join((p.zh, p.en, p.source, p.clause))
    ]
    assert citing, rule_id
    for p in citing:
        assert p.source.strip() and p.clause.strip(), rule_id
        assert p.confidence in CONFIDENCE_LABELS, rule_id
        assert p.zh.strip() and p.en.strip(), rule_id


def test_default_parameters_are_cited() -> None:
    book = default_rulebook()
    for name in ("walk_m", "walk_speed_m_per_min", "under3_share", "m2_per_child",
                 "class_sizes", "target_slots_per_1000", "coverage_target",
                 "new_area_slots_per_1000"):  # fmt: skip
        p = book.parameters[name]
        assert p.id, name
        assert p.source.strip() and p.clause.strip(), name
        assert p.confidence in CONFIDENCE_LABELS, name
        assert p.zh.strip() and p.en.strip(), name
    assert book.parameters["class_sizes"].values == (10.0, 15.0, 20.0)
    assert book.parameters["class_sizes"].value is None


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
    pipe10 = book.rule("PIPE-10")
    assert pipe10.hazard_classes == ("pipeline",)
    assert pipe10.subtypes == ("gas", "oil", "unknown")
    assert pipe10.setback_m() == 50.0
    assert (pipe10.soft_dist_m, pipe10.weight) == (200.0, 0.05)
    assert gas.subtypes is None
    assert (gas.soft_dist_m, gas.weight) == (100.0, 0.05)
    assert book.rule("GAS-06").subtypes == ("lpg",)
    assert book.rule("GAS-06").setback_m() == 100.0
    cable = book.rule("PWR-04")
    assert cable.hazard_classes == ("power_cable",)
    assert cable.setback_m() == 0.75


def test_default_no_cross_rule() -> None:
    site = default_rulebook().rule("SITE-01")
    assert site.kind == "no_cross"
    assert set(site.hazard_classes) == {"power_line", "pipeline"}
    assert site.setback_m() == 0.0
    assert site.setback_m(500.0) == 0.0
    assert site.min_kv == 1.0


def test_default_soft_only_and_adjacent_rules() -> None:
    book = default_rulebook()
    for rule_id, cls, band in (("POL-06", "industrial", 100.0), ("PWR-08", "substation", 50.0)):
        rule = book.rule(rule_id)
        assert rule.hazard_classes == (cls,)
        assert rule.hard is False
        assert rule.has_soft_band
        assert (rule.soft_dist_m, rule.weight) == (band, 0.05)
        assert "penalty" in rule.threshold_text()
    venue = book.rule("SITE-04")
    assert (venue.kind, venue.hazard_classes, venue.dist_m) == ("adjacent", ("crowded_venue",), 0)
    assert venue.has_soft_band
    hospital = book.rule("POL-02")
    assert (hospital.kind, hospital.subtypes, hospital.has_soft_band) == (
        "adjacent", ("general",), False,
    )  # fmt: skip


def test_rules_for_and_unknown_rule() -> None:
    book = default_rulebook()
    assert {r.id for r in book.rules_for("pipeline")} == {"PIPE-01", "PIPE-10", "SITE-01"}
    assert {r.id for r in book.rules_for("fuel_station")} == {
        "GAS-03", "GAS-06", "GAS-07", "GAS-08", "GAS-09", "GAS-10",
    }  # fmt: skip
    assert {r.id for r in book.rules_for("power_line")} == {"SITE-01", "PWR-01", "PWR-09"}
    assert {r.id for r in book.rules_for("hospital")} == {"POL-01", "POL-02"}
    assert {r.id for r in book.rules_for("industrial")} == {"POL-06"}
    assert book.rules_for("geohazard") == (book.rule("SITE-02"),)
    # info rules are cited but never tested
    assert book.rule("GAS-05").kind == "info"
    assert book.rule("GAS-05") not in book.active_rules
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
    assert (fix.soft_dist_m, fix.weight) == (60.0, 0.2)
    assert fix.has_soft_band
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
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nsoft_dist_m = 50\n',
            ["R-1", "needs a positive `weight`"],
            id="soft-band-without-weight",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "industrial"\ndist_m = 0\nhard = false\n'
            "soft_dist_m = 100\n",
            ["R-1", "needs a positive `weight`"],
            id="soft-only-without-weight",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "industrial"\ndist_m = 0\nhard = false\nweight = 0.1\n',
            ["R-1", "needs `soft_dist_m`"],
            id="soft-only-without-band",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nsoft_dist_m = 50\nweight = 0\n',
            ["R-1", "needs a positive `weight`"],
            id="zero-weight",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nconfidence = "sure"\n',
            ["R-1", "confidence must be one of", "'sure'"],
            id="bad-confidence",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_m = 5\nmin_kv = -1\n',
            ["R-1", "min_kv", "must not be negative"],
            id="negative-min-kv",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "fuel_station"\ndist_m = 5\nsubtypes = [1]\n',
            ["R-1", "subtypes"],
            id="subtypes-not-names",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nzh = 5\n',
            ["R-1", "zh must be text"],
            id="text-not-a-string",
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


def test_info_rule_needs_no_class_or_distance(tmp_path: Path) -> None:
    book = load_rulebook(write(tmp_path, RULE_HEAD + 'kind = "info"\nvalue = "qualitative"\n'))
    rule = book.rule("R-1")
    assert rule.kind == "info"
    assert rule.hazard_classes == ()
    assert book.active_rules == ()
    assert rule.threshold_text() == "qualitative"


def test_disabled_rule_is_kept_but_not_active(tmp_path: Path) -> None:
    book = load_rulebook(
        write(tmp_path, RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nenabled = false\n')
    )
    assert book.rule("R-1").enabled is False
    assert book.active_rules == ()
    assert book.rules_for("pipeline") == ()


# --- overlay_rulebook (user files layered on the default) -----------------------------


def overlay(tmp_path: Path, text: str, name: str = "local.toml") -> Rulebook:
    return overlay_rulebook(default_rulebook(), write(tmp_path, text, name))


def test_overlay_changes_only_the_keys_given(tmp_path: Path) -> None:
    base = default_rulebook()
    book = overlay(tmp_path, '[[rules]]\nid = "GAS-10"\ndist_m = 60\n')
    assert book.id == "fuxin-2020+local"
    assert book.version == base.version
    gas = book.rule("GAS-10")
    assert gas.setback_m() == 60.0
    assert dataclasses.replace(gas, dist_m=50.0) == base.rule("GAS-10")
    assert [r.id for r in book.rules] == [r.id for r in base.rules]
    for old, new in zip(base.rules, book.rules, strict=True):
        if old.id != "GAS-10":
            assert old == new
    assert dict(book.parameters) == dict(base.parameters)
    assert base == default_rulebook()  # the base is unchanged
    assert base.rule("GAS-10").dist_m == 50.0


def test_overlay_head_names_the_result(tmp_path: Path) -> None:
    book = overlay(tmp_path, '[rulebook]\nid = "county"\nversion = "9"\n[[rules]]\nid = "PWR-04"\n')
    assert (book.id, book.version) == ("fuxin-2020+county", "9")
    assert book.rule("PWR-04") == default_rulebook().rule("PWR-04")


def test_overlay_adds_a_complete_local_rule(tmp_path: Path) -> None:
    book = overlay(
        tmp_path,
        '[[rules]]\nid = "LOC-1"\nkind = "setback"\nhazard_class = "landfill"\n'
        'dist_m = 800\nsoft_dist_m = 1500\nweight = 0.1\nzh = "填埋场"\nen = "landfill"\n'
        'source = "county rule"\nclause = "4"\nconfidence = "verified in text"\n',
    )
    rule = book.rule("LOC-1")
    assert rule.setback_m() == 800.0
    assert (rule.soft_dist_m, rule.weight, rule.clause) == (1500.0, 0.1, "4")
    assert book.rules[-1] is rule
    assert book.rules[:-1] == default_rulebook().rules
    assert book.rules_for("landfill") == (book.rule("POL-04"), rule)


def test_overlay_switches_a_rule_off(tmp_path: Path) -> None:
    book = overlay(tmp_path, '[[rules]]\nid = "PIPE-10"\nenabled = false\n')
    assert book.rule("PIPE-10").enabled is False
    assert book.rule("PIPE-10").dist_m == 50.0  # kept for the record
    assert "PIPE-10" not in {r.id for r in book.active_rules}
    assert {r.id for r in book.rules_for("pipeline")} == {"PIPE-01", "SITE-01"}
    assert default_rulebook().rule("PIPE-10").enabled is True


def test_overlay_replaces_a_voltage_table_by_a_distance(tmp_path: Path) -> None:
    book = overlay(tmp_path, '[[rules]]\nid = "PWR-09"\ndist_m = 40\n')
    rule = book.rule("PWR-09")
    assert rule.dist_by_kv == ()
    assert rule.setback_m(10.0) == 40.0
    book = overlay(tmp_path, '[[rules]]\nid = "GAS-10"\ndist_by_kv = [[1.0, 7.0]]\n', "t.toml")
    assert book.rule("GAS-10").dist_m is None
    assert book.rule("GAS-10").setback_m(0.5) == 7.0


def test_overlay_changes_parameters(tmp_path: Path) -> None:
    base = default_rulebook()
    book = overlay(
        tmp_path,
        "[parameters.walk_m]\nvalue = 500\n[parameters.class_sizes]\nvalues = [12, 18]\n",
    )
    assert book.param("walk_m") == 500.0
    walk = book.parameters["walk_m"]
    assert (walk.id, walk.unit, walk.source) == (
        base.parameters["walk_m"].id, "m", base.parameters["walk_m"].source,
    )  # fmt: skip
    assert book.parameters["class_sizes"].values == (12.0, 18.0)
    assert book.param("under3_share") == base.param("under3_share")
    assert book.rules == base.rules
    assert base == default_rulebook()
    assert base.param("walk_m") == 300.0


@pytest.mark.parametrize(
    ("body", "rule_id", "fragments"),
    [
        pytest.param(
            '[[rules]]\nid = "GAS-10"\ndistance = 60\n', "GAS-10", ["unknown key", "distance"],
            id="unknown-key-existing-rule",
        ),
        pytest.param(
            '[[rules]]\nid = "LOC-1"\nhazard_class = "pipeline"\ndist_m = 5\nwidth = 3\n',
            "LOC-1", ["unknown key", "width"], id="unknown-key-new-rule",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\nhazard_class = "gas_tank"\n', "GAS-10",
            ["unknown hazard_class", "gas_tank"], id="unknown-class-existing-rule",
        ),
        pytest.param(
            '[[rules]]\nid = "LOC-1"\nhazard_class = "volcano"\ndist_m = 5\n', "LOC-1",
            ["unknown hazard_class", "volcano"], id="unknown-class-new-rule",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\ndist_m = -60\n', "GAS-10",
            ["dist_m", "must not be negative"], id="negative-distance",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\ndist_m = "60 m"\n', "GAS-10",
            ["dist_m", "must be a number"], id="non-numeric-distance",
        ),
        pytest.param(
            '[[rules]]\nid = "LOC-1"\nhazard_class = "pipeline"\ndist_m = "far"\n', "LOC-1",
            ["dist_m", "must be a number"], id="non-numeric-distance-new-rule",
        ),
        pytest.param(
            '[[rules]]\nid = "PWR-09"\ndist_by_kv = [[10.0, -1.0]]\n', "PWR-09",
            ["must not be negative"], id="negative-table-distance",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\ndist_m = 60\n[[rules]]\nid = "GAS-10"\ndist_m = 70\n',
            "GAS-10", ["duplicate rule id"], id="duplicate-id",
        ),
        pytest.param(
            '[[rules]]\nid = "LOC-1"\nhazard_class = "pipeline"\ndist_m = 5\n'
            '[[rules]]\nid = "LOC-1"\nhazard_class = "pipeline"\ndist_m = 6\n',
            "LOC-1", ["duplicate rule id"], id="duplicate-new-id",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-03"\nsoft_dist_m = 80\n', "GAS-03",
            ["needs a positive `weight`"], id="soft-band-without-weight",
        ),
        pytest.param(
            '[[rules]]\nid = "LOC-1"\nhazard_class = "industrial"\ndist_m = 0\n'
            "hard = false\nsoft_dist_m = 100\n",
            "LOC-1", ["needs a positive `weight`"], id="soft-rule-without-weight",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\nweight = 0\n', "GAS-10",
            ["needs a positive `weight`"], id="zero-weight",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\nconfidence = "certain"\n', "GAS-10",
            ["confidence must be one of"], id="bad-confidence",
        ),
    ],
)  # fmt: skip
def test_bad_overlay_files(tmp_path: Path, body: str, rule_id: str, fragments: list[str]) -> None:
    path = write(tmp_path, body, "county-rules.toml")
    with pytest.raises(ConfigError) as info:
        overlay_rulebook(default_rulebook(), path)
    message = str(info.value)
    assert str(path) in message, message
    assert rule_id in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert default_rulebook().rule("GAS-10").dist_m == 50.0


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("[parameters.walk_m]\nvalue = -300\n", ["walk_m", "must not be negative"]),
        ('[parameters.walk_m]\nvalue = "300"\n', ["walk_m", "must be a number"]),
        ("[parameters.walk_m]\nunits = 1\n", ["walk_m", "unknown key", "units"]),
        ("[parameters]\nwalk_m = 500\n", ["walk_m", "parameters must be tables"]),
        ('[rulebook]\nauthor = "me"\n', ["unknown key", "author"]),
        ("[extras]\nx = 1\n", ["unknown table", "extras"]),
    ],
)
def test_bad_overlay_parameters(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write(tmp_path, body, "county-rules.toml")
    with pytest.raises(ConfigError) as info:
        overlay_rulebook(default_rulebook(), path)
    assert str(path) in str(info.value)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {info.value}"


def test_overlay_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="rulebook not found"):
        overlay_rulebook(default_rulebook(), tmp_path / "none.toml")
    with pytest.raises(DataSourceError, match="not valid UTF-8 TOML"):
        overlay_rulebook(default_rulebook(), write(tmp_path, "[[rules]\n"))


# --- parameters the code reads are validated ------------------------------------------

KNOWN_PARAMETERS = sorted(default_rulebook().parameters)


def test_overlay_refuses_unknown_parameter_names(tmp_path: Path) -> None:
    path = write(tmp_path, "[parameters.walk_meters]\nvalue = 500\n", "county-rules.toml")
    with pytest.raises(ConfigError) as info:
        overlay_rulebook(default_rulebook(), path)
    message = str(info.value)
    assert str(path) in message
    assert "unknown parameter [parameters.walk_meters]" in message
    assert "fix the name" in message
    for name in KNOWN_PARAMETERS:
        assert repr(name) in message, name


def test_complete_rulebook_may_define_and_omit_parameters(tmp_path: Path) -> None:
    book = load_rulebook(
        write(tmp_path, "[parameters.local_extra]\nvalue = -0.0\n[parameters.walk_m]\nvalue = 1\n")
    )
    assert set(book.parameters) == {"local_extra", "walk_m"}
    assert book.param("walk_m") == 1.0


#: (parameter, bad setting, requirement in the message, key named)
BAD_PARAMETERS = [
    ("walk_m", "value = 0", "must be > 0", "value"),
    ("walk_speed_m_per_min", "value = 0", "must be > 0", "value"),
    ("under3_share", "value = 1.2", "must be between 0 and 1", "value"),
    ("under3_share", "value = 12", "must be between 0 and 1", "value"),
    ("m2_per_child", "value = 0", "must be > 0", "value"),
    ("class_sizes", "values = [10, 12.5]", "each number must be a positive whole number",
     "values"),
    ("class_sizes", "values = [0, 10]", "each number must be a positive whole number", "values"),
    ("class_sizes", "values = []", "non-empty list", "values"),
    ("class_sizes", "value = 10", "needs `values`", "values"),
    ("max_classes", "value = 0", "must be a whole number ≥ 1", "value"),
    ("max_classes", "value = 2.5", "must be a whole number ≥ 1", "value"),
    ("max_classes", "values = [2, 3]", "needs `value`", "value"),
    ("target_slots_per_1000", "value = -1", "must not be negative", "value"),
    ("coverage_target", "value = 50", "must be between 0 and 1", "value"),
    ("new_area_slots_per_1000", "value = -6", "must not be negative", "value"),
    ("carer_ratios", "values = [3, 0, 7]", "each number must be > 0", "values"),
    ("walk_m", 'value = "300"', "must be a number", "value"),
]  # fmt: skip


def _check_parameter_message(message: str, path: Path, name: str, need: str, key: str) -> None:
    assert str(path) in message, message
    assert repr(name) in message, message
    assert need in message, message
    assert key in message, message
    assert f"set [parameters.{name}] {key} = " in message, message  # how to fix


@pytest.mark.parametrize(("name", "setting", "need", "key"), BAD_PARAMETERS)
def test_overlay_validates_parameters(
    tmp_path: Path, name: str, setting: str, need: str, key: str
) -> None:
    path = write(tmp_path, f"[parameters.{name}]\n{setting}\n", "county-rules.toml")
    with pytest.raises(ConfigError) as info:
        overlay_rulebook(default_rulebook(), path)
    _check_parameter_message(str(info.value), path, name, need, key)


@pytest.mark.parametrize(("name", "setting", "need", "key"), BAD_PARAMETERS)
def test_load_validates_parameters(
    tmp_path: Path, name: str, setting: str, need: str, key: str
) -> None:
    path = write(tmp_path, f"[parameters.{name}]\n{setting}\n")
    with pytest.raises(ConfigError) as info:
        load_rulebook(path)
    _check_parameter_message(str(info.value), path, name, need, key)


@pytest.mark.parametrize(
    "setting",
    [
        "[parameters.under3_share]\nvalue = 0\n",
        "[parameters.under3_share]\nvalue = 1\n",
        "[parameters.coverage_target]\nvalue = 1\n",
        "[parameters.target_slots_per_1000]\nvalue = 0\n",
        "[parameters.new_area_slots_per_1000]\nvalue = 0\n",
        "[parameters.max_classes]\nvalue = 1\n",
        "[parameters.class_sizes]\nvalues = [8]\n",
        "[parameters.carer_ratios]\nvalues = [2.5]\n",
    ],
)
def test_parameter_bounds_are_inclusive_where_documented(tmp_path: Path, setting: str) -> None:
    overlay(tmp_path, setting)
    load_rulebook(write(tmp_path, setting, "full.toml"))


def test_shipped_profile_with_a_bad_parameter_is_refused(tmp_path: Path) -> None:
    # default_rulebook() and load_rulebook() share the validation: a copy of the shipped
    # file with walk_m = 0 is refused
    text = resources.files("siting").joinpath("rules/fuxin-2020.toml").read_text("utf-8")
    head, tail = text.split("[parameters.walk_m]", 1)
    assert "value = 300.0" in tail
    path = write(
        tmp_path, head + "[parameters.walk_m]" + tail.replace("value = 300.0", "value = 0", 1)
    )
    with pytest.raises(ConfigError, match=r"parameter 'walk_m' value: must be > 0, got 0"):
        load_rulebook(path)


# --- rule consistency -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        pytest.param(
            RULE_HEAD + 'hazard_class = "fuel_station"\ndist_m = 5\nsubtypes = []\n',
            ["R-1", "subtypes = []", "matches no feature", "leave `subtypes` out"],
            id="empty-subtypes",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "fuel_station"\ndist_m = 5\nsubtypes = ["lpg", " "]\n',
            ["R-1", "subtypes", "empty name", "remove it"],
            id="blank-subtype",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\nkind = "adjacent"\n'
            "dist_by_kv = [[10.0, 5.0]]\n",
            ["R-1", "dist_by_kv is not allowed on a adjacent rule", "only read by setback",
             'remove `dist_by_kv` or use kind = "setback"'],
            id="table-on-adjacent",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\nkind = "no_cross"\n'
            "dist_by_kv = [[10.0, 5.0]]\n",
            ["R-1", "dist_by_kv is not allowed on a no_cross rule"],
            id="table-on-no-cross",
        ),
        pytest.param(
            RULE_HEAD + 'kind = "info"\nvalue = "x"\ndist_by_kv = [[10.0, 5.0]]\n',
            ["R-1", "dist_by_kv is not allowed on a info rule"],
            id="table-on-info",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\nkind = "no_cross"\ndist_m = 5\n',
            ["R-1", "dist_m is not allowed on a no_cross rule", "no distance",
             "remove `dist_m`"],
            id="distance-on-no-cross",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 50\nsoft_dist_m = 50\nweight = 0.1\n',
            ["R-1", "soft_dist_m = 50 must be larger than the hard dist_m (50 m)",
             "set soft_dist_m above 50"],
            id="soft-band-equal-to-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 50\nsoft_dist_m = 20\nweight = 0.1\n',
            ["R-1", "soft_dist_m = 20 must be larger than the hard dist_m (50 m)"],
            id="soft-band-inside-distance",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = [[10.0, 5.0], [220.0, 30.0]]\n'
            "soft_dist_m = 25\nweight = 0.1\n",
            ["R-1", "soft_dist_m = 25", "largest dist_by_kv distance (30 m)",
             "set soft_dist_m above 30"],
            id="soft-band-inside-voltage-table",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\nkind = "no_cross"\nsoft_dist_m = 0\n'
            "weight = 0.1\n",
            ["R-1", "soft_dist_m = 0 must be larger than the crossing ban (0 m)"],
            id="zero-band-on-no-cross",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "industrial"\ndist_m = 0\nhard = false\n'
            "soft_dist_m = 0\nweight = 0.1\n",
            ["R-1", "soft_dist_m = 0 must be larger than 0 m"],
            id="zero-band-on-soft-rule",
        ),
        pytest.param(
            RULE_HEAD + 'hazard_class = "pipeline"\ndist_m = 5\nweight = 0.1\n',
            ["R-1", "weight = 0.1 has no effect", "without `soft_dist_m`",
             "add soft_dist_m", "or remove `weight`"],
            id="weight-without-band",
        ),
    ],
)  # fmt: skip
def test_inconsistent_rules(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_rulebook(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_soft_band_beyond_hard_threshold_is_fine(tmp_path: Path) -> None:
    book = load_rulebook(
        write(
            tmp_path,
            RULE_HEAD + 'hazard_class = "power_line"\ndist_by_kv = [[10.0, 5.0], [220.0, 30.0]]\n'
            "soft_dist_m = 31\nweight = 0.1\n"
            '[[rules]]\nid = "R-2"\nhazard_class = "pipeline"\nkind = "no_cross"\n'
            "soft_dist_m = 10\nweight = 0.1\n"
            '[[rules]]\nid = "R-3"\nhazard_class = "industrial"\ndist_m = 80\nhard = false\n'
            "soft_dist_m = 50\nweight = 0.1\n",
        )
    )
    assert book.rule("R-1").has_soft_band
    assert book.rule("R-2").has_soft_band
    assert book.rule("R-3").soft_dist_m == 50.0  # a soft-only rule has no hard threshold


def test_subtypes_are_normalised(tmp_path: Path) -> None:
    book = load_rulebook(
        write(
            tmp_path,
            RULE_HEAD + 'hazard_class = "fuel_station"\ndist_m = 5\nsubtypes = [" LPG ", "Cng"]\n'
            '[[rules]]\nid = "R-2"\nhazard_class = "fuel_station"\ndist_m = 5\nsubtypes = "LNG"\n',
        )
    )
    assert book.rule("R-1").subtypes == ("lpg", "cng")
    assert book.rule("R-2").subtypes == ("lng",)
    over = overlay(tmp_path, '[[rules]]\nid = "GAS-06"\nsubtypes = ["LPG", " Cng"]\n')
    assert over.rule("GAS-06").subtypes == ("lpg", "cng")


def test_weight_is_no_longer_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rules]]\nid = "GAS-03"\nweight = 0.2\n', "county-rules.toml")
    with pytest.raises(ConfigError) as info:
        overlay_rulebook(default_rulebook(), path)
    message = str(info.value)
    for fragment in (str(path), "GAS-03", "weight", "soft_dist_m"):
        assert fragment in message, message


@pytest.mark.parametrize(
    ("body", "rule_id", "fragments"),
    [
        pytest.param(
            '[[rules]]\nid = "GAS-06"\nsubtypes = []\n', "GAS-06",
            ["subtypes = []", "matches no feature"], id="empty-subtypes",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\ndist_m = 120\n', "GAS-10",
            ["soft_dist_m = 100 must be larger than the hard dist_m (120 m)",
             "set soft_dist_m above 120"],
            id="distance-raised-past-soft-band",
        ),
        pytest.param(
            '[[rules]]\nid = "PWR-09"\nsoft_dist_m = 30\nweight = 0.1\n', "PWR-09",
            ["soft_dist_m = 30", "largest dist_by_kv distance (37.5 m)"],
            id="soft-band-inside-voltage-table",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS-10"\nkind = "no_cross"\n', "GAS-10",
            ["dist_m is not allowed on a no_cross rule",
             "switches kind from 'setback' to 'no_cross'", "`dist_m` must be removed",
             "comes from the base rule", "set enabled = false on GAS-10",
             "add a complete local rule with a new id", "or keep kind = 'setback'"],
            id="kind-switch-keeps-base-distance",
        ),
        pytest.param(
            '[[rules]]\nid = "PWR-09"\nkind = "adjacent"\n', "PWR-09",
            ["dist_by_kv is not allowed on a adjacent rule",
             "switches kind from 'setback' to 'adjacent'", "comes from the base rule"],
            id="kind-switch-keeps-base-table",
        ),
        pytest.param(
            '[[rules]]\nid = "SITE-01"\nkind = "adjacent"\ndist_by_kv = [[10.0, 5.0]]\n',
            "SITE-01",
            ["dist_by_kv is not allowed on a adjacent rule",
             "switches kind from 'no_cross' to 'adjacent'", "`dist_by_kv` must be removed",
             "remove it from the SITE-01 entry of this file", "or keep kind = 'no_cross'"],
            id="kind-switch-with-forbidden-key-in-file",
        ),
        pytest.param(
            '[[rules]]\nid = "SITE-01"\ndist_m = 5\n', "SITE-01",
            ["dist_m is not allowed on a no_cross rule", "remove `dist_m`"],
            id="distance-on-no-cross",
        ),
        pytest.param(
            '[[rules]]\nid = "GAS_10"\nhazard_class = "fuel_station"\ndist_m = 5\n', "GAS_10",
            ["'GAS-10' and 'GAS_10'", "column key 'gas_10'", "rename one of them",
             "use the exact id 'GAS-10'"],
            id="column-key-clash-with-base",
        ),
        pytest.param(
            '[[rules]]\nid = "Public"\nhazard_class = "fuel_station"\ndist_m = 5\n', "Public",
            ["column key 'public'", "criterion 'public'", "another id"],
            id="reserved-criterion",
        ),
        pytest.param(
            '[[rules]]\nid = "Fuel-Station"\nhazard_class = "fuel_station"\ndist_m = 5\n',
            "Fuel-Station",
            ["column key 'fuel_station'", "hazard class 'fuel_station'",
             "dist_fuel_station_m", "another id"],
            id="reserved-hazard-class",
        ),
    ],
)  # fmt: skip
def test_inconsistent_overlays(
    tmp_path: Path, body: str, rule_id: str, fragments: list[str]
) -> None:
    path = write(tmp_path, body, "county-rules.toml")
    with pytest.raises(ConfigError) as info:
        overlay_rulebook(default_rulebook(), path)
    message = str(info.value)
    assert str(path) in message, message
    assert rule_id in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_overlay_kind_switch_that_is_consistent(tmp_path: Path) -> None:
    # setback -> info keeps dist_m for the record; no_cross -> setback needs a distance
    book = overlay(tmp_path, '[[rules]]\nid = "GAS-10"\nkind = "info"\nvalue = "noted"\n')
    assert book.rule("GAS-10").kind == "info"
    assert "GAS-10" not in {r.id for r in book.active_rules}
    book = overlay(tmp_path, '[[rules]]\nid = "SITE-02"\nkind = "setback"\ndist_m = 10\n', "b.toml")
    assert book.rule("SITE-02").setback_m() == 10.0
    path = write(tmp_path, '[[rules]]\nid = "SITE-02"\nkind = "setback"\n', "c.toml")
    with pytest.raises(ConfigError, match=r"SITE-02.*needs `dist_m` or `dist_by_kv`"):
        overlay_rulebook(default_rulebook(), path)


@pytest.mark.parametrize(
    ("ids", "fragments"),
    [
        (("GAS-10", "gas_10"), ["'GAS-10' and 'gas_10'", "column key 'gas_10'"]),
        (("A B", "a-b"), ["'A B' and 'a-b'", "column key 'a_b'"]),
        (("stop",), ["rule id 'stop'", "criterion 'stop'", "dist_stop_m"]),
        (("MAIN-ROAD",), ["rule id 'MAIN-ROAD'", "criterion 'main_road'"]),
        (("Childcare",), ["criterion 'childcare'"]),
        (("power line",), ["hazard class 'power_line'"]),
        (("LANDFILL",), ["hazard class 'landfill'"]),
    ],
)
def test_column_key_clashes(tmp_path: Path, ids: tuple[str, ...], fragments: list[str]) -> None:
    body = "".join(
        f'[[rules]]\nid = "{rid}"\nhazard_class = "pipeline"\ndist_m = 5\n' for rid in ids
    )
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_rulebook(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_column_key_clash_ignores_disabled_rules(tmp_path: Path) -> None:
    book = load_rulebook(
        write(
            tmp_path,
            '[[rules]]\nid = "GAS-10"\nhazard_class = "pipeline"\ndist_m = 5\n'
            '[[rules]]\nid = "gas_10"\nhazard_class = "pipeline"\ndist_m = 5\nenabled = false\n'
            '[[rules]]\nid = "public"\nhazard_class = "pipeline"\ndist_m = 5\nenabled = false\n',
        )
    )
    assert [r.id for r in book.active_rules] == ["GAS-10"]
