"""Rulebook: cited siting rules as data (TOML), loaded into a frozen object.

The default profile is Fuxin 2020 No. 17 (``siting/rules/fuxin-2020.toml``). A rule is a
hazard setback (``kind = "setback"``: the parcel must stay at least ``dist_m`` metres from
every feature of its hazard class) or a crossing ban (``kind = "no_cross"``: no feature of
the class may intersect the parcel). Parameters (catchment, under-3 share, area per child,
targets) carry their value, unit and source too.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from siting._errors import ConfigError, DataSourceError

__all__ = [
    "HAZARD_CLASSES",
    "Parameter",
    "Rule",
    "Rulebook",
    "default_rulebook",
    "load_rulebook",
]

#: Hazard classes a rule may name (see :mod:`siting.hazards`).
HAZARD_CLASSES = ("fuel_station", "pipeline", "power_line", "power_cable")

_RULE_KEYS = {
    "id",
    "hazard_class",
    "kind",
    "dist_m",
    "dist_by_kv",
    "hard",
    "zh",
    "en",
    "source",
    "confidence",
}
_PARAM_KEYS = {"value", "unit", "zh", "en", "source", "confidence"}
_KINDS = ("setback", "no_cross")


@dataclass(frozen=True)
class Rule:
    """One cited rule.

    Attributes
    ----------
    id
        Rule id as in the research notes (e.g. ``"GAS-10"``).
    hazard_classes
        Hazard classes the rule applies to.
    kind
        ``"setback"`` or ``"no_cross"``.
    dist_m
        Fixed setback in metres (``None`` for voltage tables and crossing bans).
    dist_by_kv
        ``((kv, metres), ...)`` ascending: a line of voltage V takes the first row with
        ``kv >= V`` (the last row above the table).
    hard
        Hard rules exclude a parcel; soft rules only penalise (later profiles).
    zh, en
        Rule text in Chinese and English.
    source, confidence
        Document and clause; confidence label.
    """

    id: str
    hazard_classes: tuple[str, ...]
    kind: str
    dist_m: float | None = None
    dist_by_kv: tuple[tuple[float, float], ...] = ()
    hard: bool = True
    zh: str = ""
    en: str = ""
    source: str = ""
    confidence: str = ""

    def setback_m(self, voltage_kv: float | None = None) -> float:
        """Setback in metres for one hazard feature (0 for crossing bans).

        Parameters
        ----------
        voltage_kv
            The feature's voltage in kV, used by voltage tables.
        """
        if self.kind == "no_cross":
            return 0.0
        if self.dist_by_kv:
            if voltage_kv is None or math.isnan(voltage_kv):
                msg = f"rule {self.id} needs a voltage; classify hazards with siting.hazards"
                raise ConfigError(msg)
            for kv, dist in self.dist_by_kv:
                if voltage_kv <= kv:
                    return dist
            return self.dist_by_kv[-1][1]
        return float(self.dist_m or 0.0)

    def text(self, lang: str = "zh") -> str:
        """Rule text in ``"zh"`` or ``"en"``."""
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Parameter:
    """A cited numeric parameter (catchment, share, target)."""

    value: float
    unit: str = ""
    zh: str = ""
    en: str = ""
    source: str = ""
    confidence: str = ""


@dataclass(frozen=True)
class Rulebook:
    """A validated, immutable set of rules and parameters."""

    id: str
    version: str
    name_zh: str
    name_en: str
    rules: tuple[Rule, ...]
    parameters: Mapping[str, Parameter] = field(default_factory=lambda: MappingProxyType({}))

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with this id.

        Raises
        ------
        KeyError
            If the rulebook has no such rule.
        """
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def param(self, name: str) -> float:
        """Value of a parameter (e.g. ``"walk_m"``)."""
        try:
            return self.parameters[name].value
        except KeyError:
            msg = f"rulebook {self.id} has no parameter {name!r}; known: {sorted(self.parameters)}"
            raise ConfigError(msg) from None

    def rules_for(self, hazard_class: str) -> tuple[Rule, ...]:
        """Rules that apply to one hazard class."""
        return tuple(r for r in self.rules if hazard_class in r.hazard_classes)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{where} must be a number (finite), got {value!r}"
        raise ConfigError(msg)
    if value < 0:
        msg = f"{where} must not be negative, got {value}"
        raise ConfigError(msg)
    return float(value)


def _rule_from_dict(raw: dict[str, Any], where: str) -> Rule:
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        msg = f"{where}: every rule needs a string `id`"
        raise ConfigError(msg)
    where = f"{where} (rule {rid})"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        msg = f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}"
        raise ConfigError(msg)
    classes = raw.get("hazard_class")
    if isinstance(classes, str):
        classes_t: tuple[str, ...] = (classes,)
    elif isinstance(classes, list):
        classes_t = tuple(classes)
    else:
        msg = (
            f"{where}: unknown hazard_class {classes!r}; every rule needs one of "
            f"{list(HAZARD_CLASSES)} or a list of them"
        )
        raise ConfigError(msg)
    bad = [c for c in classes_t if c not in HAZARD_CLASSES]
    if not classes_t or bad:
        msg = f"{where}: unknown hazard_class {bad or classes!r}; known: {list(HAZARD_CLASSES)}"
        raise ConfigError(msg)
    kind = raw.get("kind", "setback")
    if kind not in _KINDS:
        msg = f"{where}: kind must be one of {list(_KINDS)}, got {kind!r}"
        raise ConfigError(msg)
    dist_m = raw.get("dist_m")
    table = raw.get("dist_by_kv", [])
    if not isinstance(table, list):
        msg = f"{where}: dist_by_kv must be a list of [kv, metres] rows, got {table!r}"
        raise ConfigError(msg)
    hard = raw.get("hard", True)
    if not isinstance(hard, bool):
        msg = f"{where}: hard must be true or false, got {hard!r}"
        raise ConfigError(msg)
    if kind == "setback" and dist_m is None and not table:
        msg = f"{where}: a setback rule needs `dist_m` or `dist_by_kv`"
        raise ConfigError(msg)
    dist = _number(dist_m, f"{where}: dist_m") if dist_m is not None else None
    rows = []
    for row in table:
        if not isinstance(row, list | tuple) or len(row) != 2:
            msg = f"{where}: dist_by_kv rows must be [kv, metres], got {row!r}"
            raise ConfigError(msg)
        rows.append((_number(row[0], f"{where}: kV"), _number(row[1], f"{where}: metres")))
    kvs = [kv for kv, _ in rows]
    if any(b <= a for a, b in itertools.pairwise(kvs)):
        msg = f"{where}: dist_by_kv rows must be in strictly ascending kV order, got kV {kvs}"
        raise ConfigError(msg)
    return Rule(
        id=rid,
        hazard_classes=classes_t,
        kind=kind,
        dist_m=dist,
        dist_by_kv=tuple(rows),
        hard=hard,
        zh=str(raw.get("zh", "")),
        en=str(raw.get("en", "")),
        source=str(raw.get("source", "")),
        confidence=str(raw.get("confidence", "")),
    )


def _rulebook_from_dict(raw: dict[str, Any], where: str) -> Rulebook:
    unknown = set(raw) - {"rulebook", "rules", "parameters"}
    if unknown:
        msg = f"{where}: unknown table(s) {sorted(unknown)}; allowed: rulebook, rules, parameters"
        raise ConfigError(msg)
    head = raw.get("rulebook", {})
    raw_rules = raw.get("rules", [])
    raw_params = raw.get("parameters", {})
    if not isinstance(head, dict):
        msg = f"{where}: [rulebook] must be a table"
        raise ConfigError(msg)
    bad_head = set(head) - {"id", "version", "name_zh", "name_en"}
    if bad_head:
        msg = (
            f"{where}: unknown key(s) {sorted(bad_head)} in [rulebook]; "
            "allowed: id, version, name_zh, name_en"
        )
        raise ConfigError(msg)
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        msg = f"{where}: rules must be an array of tables ([[rules]])"
        raise ConfigError(msg)
    if not isinstance(raw_params, dict) or not all(
        isinstance(p, dict) for p in raw_params.values()
    ):
        msg = f"{where}: parameters must be tables ([parameters.NAME] with value = ...)"
        raise ConfigError(msg)
    rules = tuple(_rule_from_dict(r, where) for r in raw_rules)
    ids = [r.id for r in rules]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        msg = f"{where}: duplicate rule id(s) {dups}"
        raise ConfigError(msg)
    params = {}
    for name, p in raw_params.items():
        bad = set(p) - _PARAM_KEYS
        if bad:
            msg = f"{where}: parameter {name!r} has unknown key(s) {sorted(bad)}"
            raise ConfigError(msg)
        params[name] = Parameter(
            value=_number(p.get("value"), f"{where}: parameter {name!r} value"),
            **{k: str(p.get(k, "")) for k in ("unit", "zh", "en", "source", "confidence")},
        )
    return Rulebook(
        id=str(head.get("id", Path(where).stem)),
        version=str(head.get("version", "0")),
        name_zh=str(head.get("name_zh", "")),
        name_en=str(head.get("name_en", "")),
        rules=rules,
        parameters=MappingProxyType(params),
    )


def load_rulebook(path: str | Path) -> Rulebook:
    """Load and validate a rulebook TOML file.

    Parameters
    ----------
    path
        A TOML file with ``[rulebook]``, ``[[rules]]`` and ``[parameters.NAME]`` tables, as
        in the shipped ``fuxin-2020.toml``.

    Raises
    ------
    DataSourceError
        If the file is missing or not valid TOML.
    ConfigError
        On an unknown key, unknown hazard class, negative or non-numeric distance, or a
        duplicate rule id.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        msg = f"rulebook not found: {path}"
        raise DataSourceError(msg) from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        msg = f"rulebook {path} is not valid UTF-8 TOML: {err}"
        raise DataSourceError(msg) from err
    return _rulebook_from_dict(raw, str(path))


def default_rulebook() -> Rulebook:
    """Load the shipped Fuxin 2020 No. 17 profile (``siting/rules/fuxin-2020.toml``)."""
    text = resources.files("siting").joinpath("rules/fuxin-2020.toml").read_text("utf-8")
    return _rulebook_from_dict(tomllib.loads(text), "fuxin-2020.toml")
