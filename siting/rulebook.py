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
from collections.abc import Callable, Iterable, Mapping
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
    "column_key",
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
#: Rule keys each kind does not allow (``dist_by_kv`` is read by setback rules only;
#: a crossing ban has no distance).
_FORBIDDEN_BY_KIND: dict[str, tuple[str, ...]] = {
    "setback": (),
    "no_cross": ("dist_m", "dist_by_kv"),
    "adjacent": ("dist_by_kv",),
    "info": ("dist_by_kv",),
}
#: Criterion words whose ``dist_<word>_m`` columns sit next to the rule columns in a study
#: (see :mod:`siting.study`); a rule id may not become one of them.
_RESERVED_KEYS = ("public", "stop", "main_road", "childcare")


@dataclass(frozen=True)
class _ParamSpec:
    """What the code needs of a parameter it reads."""

    key: str  # "value" (one number) or "values" (a list)
    ok: Callable[[float], bool]  # test of the number (each number for "values")
    need: str  # the requirement, for messages
    example: str  # a valid setting, for messages
    meaning: str


def _is_int(v: float) -> bool:
    return float(v).is_integer()


#: Parameters the code reads (see siting.study) and the values it can work with.
_PARAM_SPECS: dict[str, _ParamSpec] = {
    "walk_m": _ParamSpec("value", lambda v: v > 0, "> 0", "300", "catchment walk in metres"),
    "walk_speed_m_per_min": _ParamSpec(
        "value", lambda v: v > 0, "> 0", "60", "walking speed in metres per minute"
    ),
    "under3_share": _ParamSpec(
        "value", lambda v: 0 <= v <= 1, "between 0 and 1", "0.012",
        "share of residents under 3, a fraction not a percentage",
    ),
    "m2_per_child": _ParamSpec(
        "value", lambda v: v > 0, "> 0", "8", "usable floor area per child in m²"
    ),
    "class_sizes": _ParamSpec(
        "values", lambda v: v > 0 and _is_int(v), "a positive whole number", "[10, 15, 20]",
        "children per class",
    ),
    "max_classes": _ParamSpec(
        "value", lambda v: v >= 1 and _is_int(v), "a whole number ≥ 1", "10",
        "classes per facility",
    ),
    "target_slots_per_1000": _ParamSpec(
        "value", lambda v: v >= 0, "≥ 0", "4.5", "childcare slots per 1,000 residents"
    ),
    "coverage_target": _ParamSpec(
        "value", lambda v: 0 <= v <= 1, "between 0 and 1", "0.5",
        "share of residential communities, a fraction not a percentage",
    ),
    "new_area_slots_per_1000": _ParamSpec(
        "value", lambda v: v >= 0, "≥ 0", "6", "slots per 1,000 residents in new areas"
    ),
    "carer_ratios": _ParamSpec(
        "values", lambda v: v > 0, "> 0", "[3, 5, 7]", "children per carer by class type"
    ),
}  # fmt: skip


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


def _subtypes(raw: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """Subtype names, stripped and lower-cased (hazards store them that way)."""
    if "subtypes" not in raw:
        return None
    names = tuple(s.strip().lower() for s in _str_list(raw["subtypes"], f"{where}: subtypes"))
    if not names:
        msg = (
            f"{where}: subtypes = [] matches no feature, so the rule would never apply; "
            'list at least one subtype (e.g. subtypes = ["lpg"]) or leave `subtypes` out '
            "to apply the rule to every feature of its hazard_class"
        )
        raise ConfigError(msg)
    if "" in names:
        msg = f"{where}: subtypes has an empty name in {raw['subtypes']!r}; remove it"
        raise ConfigError(msg)
    return tuple(dict.fromkeys(names))


def _rule_from_dict(
    raw: dict[str, Any],
    where: str,
    *,
    override: Mapping[str, Any] | None = None,
    base_kind: str | None = None,
) -> Rule:
    """Validate one rule table.

    ``override`` and ``base_kind`` are given when ``raw`` is a base rule merged with a user
    file's entry (``override``), so that messages can say where a key came from.
    """
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
    for key in _FORBIDDEN_BY_KIND[kind]:
        if key in raw:
            raise _forbidden_key(where, rid, kind, key, override=override, base_kind=base_kind)
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
    subtypes = _subtypes(raw, where)
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
    if weight is not None and soft is None:
        msg = (
            f"{where}: weight = {weight:g} has no effect on a hard rule without `soft_dist_m`; "
            "add soft_dist_m (the penalty band in metres, larger than the hard threshold) "
            "or remove `weight`"
        )
        raise ConfigError(msg)
    if soft is not None and kind != "info":
        _check_soft_band(where, kind, soft, dist if hard else None, table if hard else ())
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
        dist_m=dist, dist_by_kv=table, hard=hard, soft_dist_m=soft, weight=weight,
        confidence=confidence, enabled=_bool(raw, "enabled", where), **texts,
    )  # fmt: skip


def _forbidden_key(
    where: str,
    rid: str,
    kind: str,
    key: str,
    *,
    override: Mapping[str, Any] | None,
    base_kind: str | None,
) -> ConfigError:
    why = {
        "dist_m": "a no_cross rule has no distance (it fails when a feature intersects the parcel)",
        "dist_by_kv": "`dist_by_kv` is only read by setback rules",
    }[key]
    switched = override is not None and base_kind is not None and base_kind != kind
    if override is not None and key not in override:
        # the key comes from the base rule, which an override cannot delete
        head = f"this file switches kind from {base_kind!r} to {kind!r}, so " if switched else ""
        fix = (
            f"{head}`{key}` must be removed, but it comes from the base rule and an override "
            f"cannot remove a key: set enabled = false on {rid} and add a complete local rule "
            f"with a new id and kind = {kind!r} (without `{key}`)"
            + (f", or keep kind = {base_kind!r}" if switched else "")
        )
    elif switched:
        fix = (
            f"this file switches kind from {base_kind!r} to {kind!r}, so `{key}` must be "
            f"removed: remove it from the {rid} entry of this file, or keep kind = {base_kind!r}"
        )
    else:
        fix = f"remove `{key}`" + (' or use kind = "setback"' if kind != "setback" else "")
    return ConfigError(f"{where}: {key} is not allowed on a {kind} rule: {why}; {fix}")


def _check_soft_band(
    where: str, kind: str, soft: float, dist: float | None, table: tuple[tuple[float, float], ...]
) -> None:
    """Refuse a penalty band that does not reach beyond the hard threshold (0 for soft rules)."""
    if kind == "no_cross":
        hard_m, what = 0.0, "the crossing ban (0 m)"
    elif table:
        hard_m = max(m for _, m in table)
        what = f"the largest dist_by_kv distance ({hard_m:g} m)"
    elif dist is not None:
        hard_m, what = dist, f"the hard dist_m ({dist:g} m)"
    else:  # a soft-only rule
        hard_m, what = 0.0, "0 m"
    if soft <= hard_m:
        msg = (
            f"{where}: soft_dist_m = {soft:g} must be larger than {what}, or the penalty band "
            f"never applies; set soft_dist_m above {hard_m:g}"
            + (" (or lower the hard distance)" if hard_m else "")
        )
        raise ConfigError(msg)


def column_key(rule_id: str) -> str:
    """Column-safe form of a rule id; the same as :func:`siting.constraints.rule_key`."""
    return rule_id.lower().replace("-", "_").replace(" ", "_")


def _check_column_keys(rules: Iterable[Rule], where: str) -> None:
    """Refuse enabled rules whose column names (``dist_<key>_m``, …) would clash."""
    seen: dict[str, str] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        key = column_key(rule.id)
        if key in _RESERVED_KEYS or key in HAZARD_CLASSES:
            what = "criterion" if key in _RESERVED_KEYS else "hazard class"
            msg = (
                f"{where}: rule id {rule.id!r} becomes the column key {key!r}, which is the "
                f"{what} {key!r} (column dist_{key}_m); give the rule another id, e.g. "
                f"'LOC-{rule.id.upper()}'"
            )
            raise ConfigError(msg)
        if key in seen:
            msg = (
                f"{where}: rules {seen[key]!r} and {rule.id!r} both become the column key "
                f"{key!r} (ids are compared lower-cased, with '-' and ' ' read as '_'); rename "
                f"one of them, or use the exact id {seen[key]!r} to change that rule"
            )
            raise ConfigError(msg)
        seen[key] = rule.id


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
    spec = _PARAM_SPECS.get(name)
    try:
        value, nums = _param_numbers(name, raw, where)
    except ConfigError as err:
        if spec is None:
            raise
        msg = f"{err}; set [parameters.{name}] {spec.key} = {spec.example} ({spec.meaning})"
        raise ConfigError(msg) from None
    if spec is not None:
        _check_parameter(name, value, nums, where)
    texts = {k: str(raw.get(k, "")) for k in ("id", "unit", "zh", "en", "source", "clause")}
    return Parameter(value=value, values=nums, confidence=str(raw.get("confidence", "")), **texts)


def _param_numbers(
    name: str, raw: dict[str, Any], where: str
) -> tuple[float | None, tuple[float, ...]]:
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
    return value, nums


def _check_parameter(name: str, value: float | None, values: tuple[float, ...], where: str) -> None:
    """Check a parameter the code reads against what the code can work with."""
    spec = _PARAM_SPECS[name]
    fix = f"set [parameters.{name}] {spec.key} = {spec.example} ({spec.meaning})"
    if (spec.key == "value") != (value is not None):
        given, shape = ("values", "one number") if spec.key == "value" else ("value", "a list")
        msg = (
            f"{where}: parameter {name!r} needs `{spec.key}` ({shape}), got `{given}`; "
            f"{fix}, without `{given}`"
        )
        raise ConfigError(msg)
    nums = values if value is None else (value,)
    if any(not spec.ok(v) for v in nums):
        each = "each number " if spec.key == "values" else ""
        got = "[" + ", ".join(f"{v:g}" for v in nums) + "]" if value is None else f"{value:g}"
        msg = f"{where}: parameter {name!r} {spec.key}: {each}must be {spec.need}, got {got}; {fix}"
        raise ConfigError(msg)


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
    rules = tuple(_rule_from_dict(r, where) for r in raw_rules)
    _check_column_keys(rules, where)
    return Rulebook(
        id=str(head.get("id", Path(where).stem)),
        version=str(head.get("version", "0")),
        name_zh=str(head.get("name_zh", "")),
        name_en=str(head.get("name_en", "")),
        rules=rules,
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
        rule id, a soft rule without a weight, inconsistent rule keys (``subtypes = []``,
        ``dist_by_kv`` on a rule that is not a setback, ``dist_m`` on a crossing ban, a soft
        band inside the hard distance, a ``weight`` without ``soft_dist_m``), two enabled
        rules whose ids give the same column key (or a reserved one), or a parameter the code
        reads with a value it cannot use (e.g. ``walk_m <= 0``). Parameters may be omitted.
    """
    path = Path(path)
    return _rulebook_from_dict(_read_toml(path), str(path))


def overlay_rulebook(base: Rulebook, path: str | Path) -> Rulebook:
    """Layer a user's rule file on top of a rulebook.

    A ``[[rules]]`` entry whose ``id`` exists in ``base`` changes only the keys it gives
    (``enabled = false`` switches the rule off); a new ``id`` adds a complete local rule;
    ``[parameters.NAME]`` entries change the keys they give of a parameter of ``base`` (other
    names are refused, so that a typo is not silently ignored). The merged rules and
    parameters are validated as :func:`load_rulebook` does.

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
    overrides: dict[str, dict[str, Any]] = {}
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
            overrides[rid] = raw
            merged[rid] = merged[rid] | raw
        else:
            merged[str(rid)] = raw
    base_kinds = {r.id: r.kind for r in base.rules}
    rules = tuple(
        _rule_from_dict(r, where, override=overrides.get(rid), base_kind=base_kinds.get(rid))
        for rid, r in merged.items()
    )
    _check_column_keys(rules, where)
    params = {name: _param_to_dict(p) for name, p in base.parameters.items()}
    for name, raw in user_params.items():
        if name not in params:
            msg = (
                f"{where}: unknown parameter [parameters.{name}]; a user file may only change "
                f"the parameters of {base.id}: {sorted(params)}; fix the name (e.g. a typo) "
                "or remove the table"
            )
            raise ConfigError(msg)
        if not isinstance(raw, dict):
            _param_from_dict(name, raw, where)  # raises with the right message
        base_p = params[name]
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
