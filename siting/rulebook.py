"""Rulebook: cited siting rules as data (TOML), loaded into a frozen object.

The default profile is Fuxin 2020 No. 17 (``siting/rules/fuxin-2020.toml``); a user file is
layered on top with :func:`overlay_rulebook` (change a value, add a local rule, switch one
off). The file format is documented in ``docs/rulebook-format.md``. Rule kinds:

``setback``
    the parcel must stay at least ``dist_m`` metres from every feature the rule applies to
    (it fails when the exact distance is smaller);
``no_cross``
    no such feature may intersect the parcel;
``adjacent``
    the parcel must not touch such a feature (fails when the distance is at most ``dist_m``,
    default 0);
``info``
    cited and reported but not tested geometrically.

Any geometric rule may carry a soft band ``soft_dist_m`` with a ``weight``: inside the band
(and outside the hard threshold) the parcel is penalised by ``1 - distance / soft_dist_m``.
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
    "CONFIDENCE_LABELS",
    "HAZARD_CLASSES",
    "KINDS",
    "Parameter",
    "Rule",
    "Rulebook",
    "default_rulebook",
    "load_rulebook",
    "overlay_rulebook",
]

#: Hazard classes a rule may name (see :mod:`siting.hazards`).
HAZARD_CLASSES = (
    "fuel_station", "pipeline", "power_line", "power_cable", "substation", "industrial",
    "landfill", "wastewater_plant", "waste_transfer", "hospital", "crowded_venue",
    "hazardous_storage", "geohazard",
)  # fmt: skip
#: Rule kinds.
KINDS = ("setback", "no_cross", "adjacent", "info")
#: Confidence labels of the research notes.
CONFIDENCE_LABELS = (
    "verified in text", "from secondary source", "uncertain", "toolkit choice", "mixed",
)  # fmt: skip

_RULE_KEYS = frozenset({
    "id", "kind", "hazard_class", "subtypes", "min_kv", "dist_m", "dist_by_kv", "hard",
    "soft_dist_m", "weight", "value", "unit", "zh", "en", "applies_to", "source", "clause",
    "confidence", "enabled",
})  # fmt: skip
_PARAM_KEYS = frozenset(
    {"id", "value", "values", "unit", "zh", "en", "source", "clause", "confidence"}
)
_HEAD_KEYS = frozenset({"id", "version", "name_zh", "name_en"})
_TEXT_KEYS = ("value", "unit", "zh", "en", "applies_to", "source", "clause")


@dataclass(frozen=True)
class Rule:
    """One cited rule (see the module docstring for the kinds).

    Attributes
    ----------
    id
        Rule id as in the research notes (e.g. ``"GAS-10"``).
    kind
        ``"setback"``, ``"no_cross"``, ``"adjacent"`` or ``"info"``.
    hazard_classes
        Hazard classes the rule applies to (empty for ``info`` rules).
    subtypes
        If set, only features with one of these subtypes (e.g. ``("lpg",)``).
    min_kv
        If set, only power features of at least this voltage (kV).
    dist_m
        Hard threshold in metres.
    dist_by_kv
        ``((kv, metres), ...)`` strictly ascending: a line of voltage V takes the first row
        with ``kv >= V`` (the last row above the table).
    hard
        Whether failing the threshold excludes the parcel.
    soft_dist_m, weight
        Penalty band in metres and its weight in the score.
    value, unit, zh, en, applies_to, source, clause, confidence
        Citation and text.
    enabled
        Disabled rules are kept for the record but not applied.
    """

    id: str
    kind: str
    hazard_classes: tuple[str, ...] = ()
    subtypes: tuple[str, ...] | None = None
    min_kv: float | None = None
    dist_m: float | None = None
    dist_by_kv: tuple[tuple[float, float], ...] = ()
    hard: bool = True
    soft_dist_m: float | None = None
    weight: float | None = None
    value: str = ""
    unit: str = "m"
    zh: str = ""
    en: str = ""
    applies_to: str = ""
    source: str = ""
    clause: str = ""
    confidence: str = ""
    enabled: bool = True

    @property
    def is_geometric(self) -> bool:
        """Whether the rule is tested against hazard geometry."""
        return self.kind != "info"

    @property
    def has_soft_band(self) -> bool:
        """Whether the rule penalises parcels inside ``soft_dist_m``."""
        return self.soft_dist_m is not None and self.weight is not None

    def setback_m(self, voltage_kv: float | None = None) -> float:
        """Hard threshold in metres for one feature (0 for crossing bans).

        Parameters
        ----------
        voltage_kv
            The feature's voltage in kV, used by voltage tables.

        Raises
        ------
        ConfigError
            If the rule has a voltage table and no voltage is given.
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

    def threshold_text(self, lang: str = "en") -> str:
        """Describe the threshold briefly, e.g. ``"≥ 50 m"`` or ``"≤110 kV: 12.5 m, …"``."""
        zh = lang == "zh"
        penalty = (
            (f"{self.soft_dist_m:g} m 内扣分（权重 {self.weight:g}）" if zh
             else f"penalty within {self.soft_dist_m:g} m (weight {self.weight:g})")
            if self.has_soft_band else ""
        )  # fmt: skip
        if self.kind == "no_cross":
            return "不得穿越" if zh else "no crossing"
        if self.kind == "info":
            return self.value
        if not self.hard:
            return penalty
        if self.kind == "adjacent":
            base = (f"> {self.dist_m or 0:g} m（不得相邻）" if zh
                    else f"> {self.dist_m or 0:g} m (no shared boundary)")  # fmt: skip
        elif self.dist_by_kv:
            base = ", ".join(f"≤{kv:g} kV: {m:g} m" for kv, m in self.dist_by_kv)
        else:
            base = f"≥ {self.dist_m or 0:g} m"
        return f"{base}; {penalty}" if penalty else base


@dataclass(frozen=True)
class Parameter:
    """A cited numeric parameter (catchment, share, target)."""

    value: float | None
    values: tuple[float, ...] = ()
    id: str = ""
    unit: str = ""
    zh: str = ""
    en: str = ""
    source: str = ""
    clause: str = ""
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

    @property
    def active_rules(self) -> tuple[Rule, ...]:
        """Enabled rules that are tested against hazards."""
        return tuple(r for r in self.rules if r.enabled and r.is_geometric)

    def param(self, name: str) -> float:
        """Value of a numeric parameter (e.g. ``"walk_m"``).

        Raises
        ------
        ConfigError
            If there is no such parameter or it holds a list.
        """
        try:
            p = self.parameters[name]
        except KeyError:
            msg = f"rulebook {self.id} has no parameter {name!r}; known: {sorted(self.parameters)}"
            raise ConfigError(msg) from None
        if p.value is None:
            msg = (
                f"parameter {name!r} holds a list ({list(p.values)}); use .parameters[name].values"
            )
            raise ConfigError(msg)
        return p.value

    def rules_for(self, hazard_class: str) -> tuple[Rule, ...]:
        """Active rules that apply to one hazard class."""
        return tuple(r for r in self.active_rules if hazard_class in r.hazard_classes)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{where} must be a number (finite), got {value!r}"
        raise ConfigError(msg)
    if value < 0:
        msg = f"{where} must not be negative, got {value}"
        raise ConfigError(msg)
    return float(value)


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    msg = f"{where} must be a name or a list of names, got {value!r}"
    raise ConfigError(msg)


def _bool(raw: dict[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, True)
    if not isinstance(value, bool):
        msg = f"{where}: {key} must be true or false, got {value!r}"
        raise ConfigError(msg)
    return value


def _kv_table(table: Any, where: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(table, list):
        msg = f"{where}: dist_by_kv must be a list of [kv, metres] rows, got {table!r}"
        raise ConfigError(msg)
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
    return tuple(rows)


def _rule_from_dict(raw: dict[str, Any], where: str) -> Rule:
    if not isinstance(raw, dict):
        msg = f"{where}: each [[rules]] entry must be a table"
        raise ConfigError(msg)
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        msg = f"{where}: every rule needs a string `id`"
        raise ConfigError(msg)
    where = f"{where} (rule {rid})"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        msg = f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}"
        raise ConfigError(msg)
    kind = raw.get("kind", "setback")
    if kind not in KINDS:
        msg = f"{where}: kind must be one of {list(KINDS)}, got {kind!r}"
        raise ConfigError(msg)
    classes: tuple[str, ...] = ()
    if "hazard_class" in raw or kind != "info":
        try:
            classes = _str_list(raw.get("hazard_class"), f"{where}: hazard_class")
        except ConfigError:
            classes = ("<invalid>",)
        bad = [c for c in classes if c not in HAZARD_CLASSES]
        if not classes or bad:
            msg = (
                f"{where}: unknown hazard_class {raw.get('hazard_class')!r}; every tested rule "
                f"needs one of {list(HAZARD_CLASSES)} or a list of them"
            )
            raise ConfigError(msg)
    subtypes = _str_list(raw["subtypes"], f"{where}: subtypes") if "subtypes" in raw else None
    min_kv = _number(raw["min_kv"], f"{where}: min_kv") if "min_kv" in raw else None
    dist = _number(raw["dist_m"], f"{where}: dist_m") if "dist_m" in raw else None
    table = _kv_table(raw["dist_by_kv"], where) if "dist_by_kv" in raw else ()
    if kind == "setback" and dist is None and not table:
        msg = f"{where}: a setback rule needs `dist_m` or `dist_by_kv`"
        raise ConfigError(msg)
    hard = _bool(raw, "hard", where)
    soft = _number(raw["soft_dist_m"], f"{where}: soft_dist_m") if "soft_dist_m" in raw else None
    weight = _number(raw["weight"], f"{where}: weight") if "weight" in raw else None
    if (soft is not None or (not hard and kind != "info")) and not weight:
        msg = f"{where}: a soft rule (soft_dist_m or hard = false) needs a positive `weight`"
        raise ConfigError(msg)
    if not hard and kind != "info" and soft is None:
        msg = f"{where}: a rule with hard = false needs `soft_dist_m` (its penalty band)"
        raise ConfigError(msg)
    confidence = raw.get("confidence", "")
    if confidence and confidence not in CONFIDENCE_LABELS:
        msg = f"{where}: confidence must be one of {list(CONFIDENCE_LABELS)}, got {confidence!r}"
        raise ConfigError(msg)
    texts = {}
    for key in _TEXT_KEYS:
        if key in raw and not isinstance(raw[key], str):
            msg = f"{where}: {key} must be text, got {raw[key]!r}"
            raise ConfigError(msg)
        texts[key] = raw.get(key, "m" if key == "unit" else "")
    return Rule(
        id=rid, kind=kind, hazard_classes=classes, subtypes=subtypes, min_kv=min_kv,
        dist_m=dist, dist_by_kv=table, hard=hard, soft_dist_m=soft,
        weight=weight if (soft is not None or not hard) else None,
        confidence=confidence, enabled=_bool(raw, "enabled", where), **texts,
    )  # fmt: skip


def _rule_to_dict(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"id": rule.id, "kind": rule.kind, "hard": rule.hard}
    if rule.hazard_classes:
        out["hazard_class"] = list(rule.hazard_classes)
    if rule.subtypes is not None:
        out["subtypes"] = list(rule.subtypes)
    for key in ("min_kv", "dist_m", "soft_dist_m", "weight"):
        if getattr(rule, key) is not None:
            out[key] = getattr(rule, key)
    if rule.dist_by_kv:
        out["dist_by_kv"] = [list(row) for row in rule.dist_by_kv]
    for key in (*_TEXT_KEYS, "confidence"):
        out[key] = getattr(rule, key)
    out["enabled"] = rule.enabled
    return out


def _param_from_dict(name: str, raw: Any, where: str) -> Parameter:
    if not isinstance(raw, dict):
        msg = f"{where}: parameters must be tables ([parameters.{name}] with value = ...)"
        raise ConfigError(msg)
    bad = set(raw) - _PARAM_KEYS
    if bad:
        msg = f"{where}: parameter {name!r} has unknown key(s) {sorted(bad)}"
        raise ConfigError(msg)
    if "values" in raw:
        values = raw["values"]
        if not isinstance(values, list) or not values:
            msg = f"{where}: parameter {name!r} values must be a non-empty list of numbers"
            raise ConfigError(msg)
        nums = tuple(_number(v, f"{where}: parameter {name!r} values") for v in values)
        value = None
    else:
        value = _number(raw.get("value"), f"{where}: parameter {name!r} value")
        nums = ()
    texts = {k: str(raw.get(k, "")) for k in ("id", "unit", "zh", "en", "source", "clause")}
    return Parameter(value=value, values=nums, confidence=str(raw.get("confidence", "")), **texts)


def _param_to_dict(p: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {"values": list(p.values)} if p.value is None else {"value": p.value}
    for key in ("id", "unit", "zh", "en", "source", "clause", "confidence"):
        out[key] = getattr(p, key)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        msg = f"rulebook not found: {path}"
        raise DataSourceError(msg) from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        msg = f"rulebook {path} is not valid UTF-8 TOML: {err}"
        raise DataSourceError(msg) from err


def _split(raw: dict[str, Any], where: str) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    unknown = set(raw) - {"rulebook", "rules", "parameters"}
    if unknown:
        msg = f"{where}: unknown table(s) {sorted(unknown)}; allowed: rulebook, rules, parameters"
        raise ConfigError(msg)
    head, rules, params = raw.get("rulebook", {}), raw.get("rules", []), raw.get("parameters", {})
    if not isinstance(head, dict):
        msg = f"{where}: [rulebook] must be a table"
        raise ConfigError(msg)
    bad_head = set(head) - _HEAD_KEYS
    if bad_head:
        msg = (
            f"{where}: unknown key(s) {sorted(bad_head)} in [rulebook]; "
            "allowed: id, version, name_zh, name_en"
        )
        raise ConfigError(msg)
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        msg = f"{where}: rules must be an array of tables ([[rules]])"
        raise ConfigError(msg)
    if not isinstance(params, dict):
        msg = f"{where}: parameters must be tables ([parameters.NAME] with value = ...)"
        raise ConfigError(msg)
    ids = [r.get("id") for r in rules]
    dups = sorted({str(i) for i in ids if ids.count(i) > 1})
    if dups:
        msg = f"{where}: duplicate rule id(s) {dups}"
        raise ConfigError(msg)
    return head, rules, params


def _rulebook_from_dict(raw: dict[str, Any], where: str) -> Rulebook:
    head, raw_rules, raw_params = _split(raw, where)
    return Rulebook(
        id=str(head.get("id", Path(where).stem)),
        version=str(head.get("version", "0")),
        name_zh=str(head.get("name_zh", "")),
        name_en=str(head.get("name_en", "")),
        rules=tuple(_rule_from_dict(r, where) for r in raw_rules),
        parameters=MappingProxyType(
            {name: _param_from_dict(name, p, where) for name, p in raw_params.items()}
        ),
    )


def load_rulebook(path: str | Path) -> Rulebook:
    """Load and validate a complete rulebook TOML file (format: ``docs/rulebook-format.md``).

    Raises
    ------
    DataSourceError
        If the file is missing or not valid TOML.
    ConfigError
        On an unknown key, unknown hazard class, negative or non-numeric distance, duplicate
        rule id, or a soft rule without a weight.
    """
    path = Path(path)
    return _rulebook_from_dict(_read_toml(path), str(path))


def overlay_rulebook(base: Rulebook, path: str | Path) -> Rulebook:
    """Layer a user's rule file on top of a rulebook.

    A ``[[rules]]`` entry whose ``id`` exists in ``base`` changes only the keys it gives
    (``enabled = false`` switches the rule off); a new ``id`` adds a complete local rule;
    ``[parameters.NAME]`` entries change or add parameters.

    Parameters
    ----------
    base
        Usually :func:`default_rulebook`.
    path
        The user's TOML file.

    Returns
    -------
    Rulebook
        A new rulebook; ``base`` is unchanged. Its id is ``"<base id>+<user id or file stem>"``.

    Raises
    ------
    DataSourceError, ConfigError
        As :func:`load_rulebook`, naming the file and rule.
    """
    path = Path(path)
    where = str(path)
    head, user_rules, user_params = _split(_read_toml(path), where)
    merged = {r.id: _rule_to_dict(r) for r in base.rules}
    for raw in user_rules:
        rid = raw.get("id")
        if isinstance(rid, str) and rid in merged:
            unknown = set(raw) - _RULE_KEYS
            if unknown:
                msg = f"{where} (rule {rid}): unknown key(s) {sorted(unknown)}"
                raise ConfigError(msg)
            if "dist_by_kv" in raw:
                merged[rid].pop("dist_m", None)
            if "dist_m" in raw:
                merged[rid].pop("dist_by_kv", None)
            merged[rid] = merged[rid] | raw
        else:
            merged[str(rid)] = raw
    rules = tuple(_rule_from_dict(r, where) for r in merged.values())
    params = {name: _param_to_dict(p) for name, p in base.parameters.items()}
    for name, raw in user_params.items():
        if not isinstance(raw, dict):
            _param_from_dict(name, raw, where)  # raises with the right message
        base_p = params.get(name, {})
        if "values" in raw:
            base_p.pop("value", None)
        if "value" in raw:
            base_p.pop("values", None)
        params[name] = base_p | raw
    return Rulebook(
        id=f"{base.id}+{head.get('id', path.stem)}",
        version=str(head.get("version", base.version)),
        name_zh=str(head.get("name_zh", base.name_zh)),
        name_en=str(head.get("name_en", base.name_en)),
        rules=rules,
        parameters=MappingProxyType(
            {name: _param_from_dict(name, p, where) for name, p in params.items()}
        ),
    )


def default_rulebook() -> Rulebook:
    """Load the shipped Fuxin 2020 No. 17 profile (``siting/rules/fuxin-2020.toml``)."""
    text = resources.files("siting").joinpath("rules/fuxin-2020.toml").read_text("utf-8")
    return _rulebook_from_dict(tomllib.loads(text), "fuxin-2020.toml")
