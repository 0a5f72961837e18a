"""Land use: survey and plan codes -> siting roles, hazard sources, and the exclusions they make.

A natural-resources bureau holds its candidates as land-survey polygons (三调 / 国土变更调查
图斑, codes in ``DLBM``, names in ``DLMC``) or regulatory-plan parcels (控规地块) coded by the
《国土空间调查、规划、用途管制用地用海分类指南》. :func:`classify_parcels` reads the code (and
name) columns the config names, finds each code in a code table and gives every parcel a
**role**:

``suitable``
    a new facility may be built here (residential, commercial, vacant land);
``co_location``
    public-service land whose buildings may host infant care (community service centres,
    health stations, kindergartens, elderly care: JGJ 39-2016 3.2.2, rulebook BLDG-05);
``excluded``
    not a candidate (farmland, forest, water, transport, utilities, ...);
``hazard:CLASS[:SUBTYPE]``
    not a candidate, and a hazard source for its neighbours (industrial land, dangerous-goods
    stores, refuse sites, pipelines, ...): :func:`hazards_from_landuse` turns these parcels
    into hazard features the rulebook tests;
``unknown``
    the code is not in the table: **never treated as suitable** -- the parcel is excluded
    (``LAND-UNKNOWN``) and the code is counted, warned about and reported until the user maps
    it in their own table.

The default table (``siting/rules/landuse-codes.toml``) covers GB/T 21010-2017 with the
三调 working classes (scheme ``gbt21010``) and the 2023 用地用海 guide with its 2020 试行
variants (scheme ``guide``). The two schemes reuse the same numbers for different land (0804
is 科研用地 in one and 教育用地 in the other), so the scheme is read from the config or
detected from the codes and names (:func:`detect_scheme`). Every row says its source and
confidence; a user table (CSV, Excel or TOML) overrides rows (:func:`read_code_table`).

Classes that are idle land by definition (空闲地) start ``land_status`` = ``"idle"``;
:mod:`siting.idleland` adds status columns and idle-land layers and gives the criterion.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._codetable import (
    ROLES,
    SCHEMES,
    TABLE_COLUMNS,
    default_code_table,
    merge_code_tables,
    normalise_codes,
    read_code_table,
    text,
)
from siting._errors import ConfigError
from siting.hazards import HAZARD_COLUMNS

__all__ = [
    "COLUMNS",
    "EXCLUSIONS",
    "ROLES",
    "ROLE_LABELS",
    "SCHEMES",
    "TABLE_COLUMNS",
    "classify_parcels",
    "column_of",
    "compliance_rows",
    "default_code_table",
    "detect_scheme",
    "exclusion_reasons",
    "hazards_from_landuse",
    "landuse_report",
    "merge_code_tables",
    "merge_exclusions",
    "normalise_codes",
    "read_code_table",
    "role_label",
]

log = logging.getLogger(__name__)

#: Roles whose parcels stay candidates.
CANDIDATE_ROLES = frozenset({"suitable", "co_location"})
#: Columns :func:`classify_parcels` adds to parcels.
COLUMNS = (
    "landuse_code", "landuse_name", "landuse_scheme", "landuse_role", "landuse_match",
    "landuse_confidence", "landuse_source", "landuse_basis", "land_status", "idle_land",
)  # fmt: skip

#: Readable role names ``{role: (zh, en)}``; ``hazard`` stands for every ``hazard:...`` role.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "suitable": ("适宜新建", "suitable for a new facility"),
    "co_location": ("可合建（共享建筑）", "co-location (share a building)"),
    "excluded": ("不宜建设", "excluded"),
    "hazard": ("危险源用地", "hazard source"),
    "unknown": ("代码不在对照表中", "code not in the table"),
}

#: Exclusion reasons this module adds to ``excluded_by`` (beside the rulebook's rule ids).
EXCLUSIONS: dict[str, dict[str, str]] = {
    "LAND-USE": {
        "zh": "地类不宜建设托育设施（如耕地、水域、交通、工业、仓储），或为危险源用地",
        "en": "Land use not for a new facility (farmland, water, transport, industry, "
        "storage, ...), or a hazard source",
        "source": "land-use code table (siting/rules/landuse-codes.toml) or the user's table",
    },
    "LAND-UNKNOWN": {
        "zh": "地类代码不在对照表中：在用户对照表中指定其角色前不参与排序",
        "en": "Land-use code not in the code table: not ranked until the user's table maps it",
        "source": "land-use code table",
    },
}

_NO_CODE = "(empty)"


# --- classification --------------------------------------------------------------------


def _lookup(table: pd.DataFrame, scheme: str) -> dict[str, dict[str, Any]]:
    rows = table[table["scheme"] == scheme]
    return {str(r["code"]): {str(k): v for k, v in r.items()} for r in rows.to_dict("records")}


def _parent(code: str, known: Mapping[str, Any]) -> str | None:
    """Nearest coded parent of an all-digit code (6 -> 4 -> 2 digits) in ``known``."""
    if not code.isdigit():
        return None
    for n in (4, 2):
        if len(code) > n and code[:n] in known:
            return code[:n]
    return None


def _names_match(row: Mapping[str, Any], name: str) -> bool:
    return bool(name) and (name == row["name_zh"] or name in row["aliases"])


def detect_scheme(
    codes: pd.Series, names: pd.Series | None = None, *, table: pd.DataFrame | None = None
) -> str:
    """Which code scheme a layer uses: ``"gbt21010"`` or ``"guide"``.

    The scheme whose names agree with the layer's names (``DLMC``) on most parcels wins;
    without names or on a tie, the scheme that knows most of the codes. When both know the
    codes equally and the codes mean different roles in the two, the scheme cannot be told
    and a :class:`~siting.ConfigError` asks for it.

    Parameters
    ----------
    codes
        Normalised codes (:func:`normalise_codes`).
    names
        The layer's land-use names, aligned with ``codes``.
    table
        Code table; default :func:`default_code_table`.

    Examples
    --------
    >>> detect_scheme(pd.Series(["0701", "1201"]), pd.Series(["城镇住宅用地", "空闲地"]))
    'gbt21010'
    >>> detect_scheme(pd.Series(["080404", "0701"]))
    'guide'
    """
    table = default_code_table() if table is None else table
    lookups = {s: _lookup(table, s) for s in SCHEMES}
    known = {s: int(codes.map(lambda c, k=lookups[s]: c in k).sum()) for s in SCHEMES}
    hits = dict.fromkeys(SCHEMES, 0)
    if names is not None:
        for s in SCHEMES:
            hits[s] = sum(
                c in lookups[s] and _names_match(lookups[s][c], text(n))
                for c, n in zip(codes, names, strict=True)
            )
    for score in (hits, known):
        best = max(score.values())
        winners = [s for s in SCHEMES if score[s] == best]
        if best > 0 and len(winners) == 1:
            return winners[0]
    present = sorted(set(codes) - {""})
    clash = [
        c for c in present
        if c in lookups["gbt21010"] and c in lookups["guide"]
        and lookups["gbt21010"][c]["role"] != lookups["guide"][c]["role"]
    ]  # fmt: skip
    if not clash and max(known.values()) > 0:
        return SCHEMES[0]  # every code means the same role in both schemes
    msg = (
        "cannot tell which land-use code scheme the layer uses: its codes "
        f"{(clash or present)[:8]} exist in both GB/T 21010 (survey, 三调) and the 用地用海 "
        'guide with different meanings; set scheme = "gbt21010" or scheme = "guide" in '
        '[layers.parcels] (or give the name column, code_name = "DLMC")'
    )
    raise ConfigError(msg)


def column_of(frame: pd.DataFrame, column: str, key: str, what: str) -> pd.Series:
    """Return the column a config key names, or raise a :class:`ConfigError` listing the others.

    The message names the key and suggests a column differing only in case (``dlbm`` for
    ``DLBM``).
    """
    if column in frame.columns:
        return frame[column]
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    have = [c for c in frame.columns if c != geom]
    same = [c for c in have if str(c).lower() == column.lower()]
    hint = f" (did you mean {same[0]!r}?)" if same else ""
    msg = (
        f"{what}: {key} = {column!r} is not a column of the layer{hint}; set {key} to one of {have}"
    )
    raise ConfigError(msg)


def classify_parcels(
    parcels: gpd.GeoDataFrame,
    *,
    code: str,
    code_name: str | None = None,
    scheme: str = "auto",
    table: pd.DataFrame | None = None,
    what: str = "parcels",
) -> gpd.GeoDataFrame:
    """Give every parcel the role of its land-use code.

    Parameters
    ----------
    parcels
        The user's parcels with a code column (any CRS). Not modified.
    code
        Column with the land-use code (``DLBM`` in survey data, e.g. ``用地代码`` in plans).
    code_name
        Column with the land-use name (``DLMC``): used to tell the scheme and shown on
        the map; the table's name is used where it is empty.
    scheme
        ``"gbt21010"``, ``"guide"`` or ``"auto"`` (:func:`detect_scheme`).
    table
        Code table (default :func:`default_code_table`; a user's table layered on it with
        :func:`merge_code_tables`).
    what
        What the layer is, for messages.

    Returns
    -------
    GeoDataFrame
        A copy of ``parcels`` with :data:`COLUMNS` (``idle_land`` 1.0 for idle classes such
        as 空闲地, else 0.0; ``land_status`` ``"idle"`` or ``""``). ``landuse_match`` is
        ``"exact"``, ``"parent:XXXX"`` (a third-level code not in the table takes its
        parent's role when that role is not a candidate role) or ``"unknown"``; unknown
        codes get the role ``"unknown"``. Its ``attrs["landuse_scheme"]`` names the scheme.

    Warns
    -----
    UserWarning
        When codes are unknown: how many parcels, which codes. They are never suitable:
        :func:`exclusion_reasons` excludes them (``LAND-UNKNOWN``).

    Raises
    ------
    ConfigError
        If a named column is missing (naming the columns the layer has), the scheme is
        invalid or cannot be detected.
    """
    if scheme not in (*SCHEMES, "auto"):
        msg = f"{what}: scheme = {scheme!r}; use one of {[*SCHEMES, 'auto']}"
        raise ConfigError(msg)
    table = default_code_table() if table is None else table
    codes = normalise_codes(column_of(parcels, code, "code", what))
    names = None if code_name is None else column_of(parcels, code_name, "code_name", what)
    used = detect_scheme(codes, names, table=table) if scheme == "auto" else scheme
    lookup = _lookup(table, used)
    out = parcels.copy()
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    user_names = [""] * len(out) if names is None else [text(n) for n in names]
    for c, given in zip(codes, user_names, strict=True):
        row = lookup.get(c)
        match = "exact"
        if row is None:
            parent = _parent(c, lookup)
            prow = lookup.get(parent) if parent else None
            if prow is not None and prow["role"] not in CANDIDATE_ROLES:
                row, match = prow, f"parent:{parent}"
        if row is None:
            parent = _parent(c, lookup)
            basis = (
                f"code not in the table; its parent {parent} {lookup[parent]['name_zh']} is "
                f"{lookup[parent]['role']}: add the code to your table"
                if parent
                else "code not in the table: add it to your table"
            )
            values = [c, given, used, "unknown", "unknown", "", "", basis, "", 0.0]
        else:
            values = [
                c, given or row["name_zh"], used, row["role"], match,
                row["confidence"] if match == "exact" else "uncertain", row["source"],
                row["basis"], "idle" if row["idle"] else "", 1.0 if row["idle"] else 0.0,
            ]  # fmt: skip
        for col, value in zip(COLUMNS, values, strict=True):
            cols[col].append(value)
    for col in COLUMNS:
        out[col] = cols[col]
    out.attrs["landuse_scheme"] = used
    unknown = out["landuse_role"] == "unknown"
    if unknown.any():
        counts = out.loc[unknown, "landuse_code"].replace("", _NO_CODE).value_counts()
        listed = ", ".join(f"{k!r} x{v}" for k, v in counts.head(10).items())
        more = f" and {len(counts) - 10} more" if len(counts) > 10 else ""
        warnings.warn(
            f"{what}: {int(unknown.sum())} of {len(out)} parcel(s) have land-use codes not "
            f"in the {used} table ({listed}{more}); they are not ranked (LAND-UNKNOWN) until "
            "you give their role in landuse_table (docs/landuse.md)",
            UserWarning,
            stacklevel=2,
        )
    return out


def landuse_report(classified: pd.DataFrame) -> dict[str, Any]:
    """Count parcels per role and per code, and the unknown codes, for the summary.

    Parameters
    ----------
    classified
        From :func:`classify_parcels` (or candidates carrying its columns).

    Returns
    -------
    dict
        ``scheme``, ``parcels``, ``by_role`` (role -> parcels), ``by_code`` (code -> role
        and parcels), ``unknown`` (code -> parcels; ``"(empty)"`` for missing codes),
        ``parent_matches`` (code -> parent used), ``idle`` and ``low_efficiency`` parcels.
        JSON-ready.
    """
    if "landuse_scheme" not in classified.columns:
        return {}
    classified = classified[classified["landuse_scheme"].notna().to_numpy()]
    roles = classified["landuse_role"].fillna("unknown").astype(str)
    codes = classified["landuse_code"].fillna("").astype(str).replace("", _NO_CODE)
    pairs = pd.DataFrame({"code": codes, "role": roles}).value_counts()
    by_code = {
        str(key[0]): {"role": str(key[1]), "parcels": int(n)}  # type: ignore[index]
        for key, n in pairs.items()
    }
    parents = classified["landuse_match"].fillna("").astype(str)
    status = classified.get("land_status", pd.Series("", index=classified.index))
    status = status.fillna("").astype(str)
    scheme = classified["landuse_scheme"].iloc[0] if len(classified) else ""
    return {
        "scheme": str(scheme),
        "parcels": len(classified),
        "by_role": {str(k): int(v) for k, v in roles.value_counts().sort_index().items()},
        "by_code": by_code,
        "unknown": {str(k): int(v) for k, v in codes[roles == "unknown"].value_counts().items()},
        "parent_matches": {
            str(c): p.split(":", 1)[1]
            for c, p in zip(codes, parents, strict=True) if p.startswith("parent:")
        },
        "idle": int((status == "idle").sum()),
        "low_efficiency": int((status == "low_efficiency").sum()),
    }  # fmt: skip


def hazards_from_landuse(classified: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Hazard features from parcels whose land use is a hazard source (``hazard:...``).

    Parameters
    ----------
    classified
        From :func:`classify_parcels` (any CRS).

    Returns
    -------
    GeoDataFrame
        :data:`~siting.hazards.HAZARD_COLUMNS` in the parcels' CRS, one row per hazard
        parcel: ``hazard_class`` and ``subtypes`` from the role, ``name`` = code and name,
        ``osm_id`` ``None``; pipelines have no known substance (``substance_assumed``).
        Merge them with the other hazards (:func:`siting.roles.merge_hazards`).

    Examples
    --------
    >>> import shapely
    >>> p = gpd.GeoDataFrame({"landuse_role": ["hazard:pipeline:unknown", "suitable"],
    ...     "landuse_code": ["1205", "0701"], "landuse_name": ["管道运输用地", "城镇住宅用地"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)], crs=3857)
    >>> hazards_from_landuse(p)[["hazard_class", "subtypes", "substance_assumed"]].values.tolist()
    [['pipeline', 'unknown', True]]
    """
    roles = classified["landuse_role"].fillna("").astype(str)
    rows = classified[roles.str.startswith("hazard:").to_numpy()]
    parts = rows["landuse_role"].astype(str).str.split(":")
    cls = parts.str[1].to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "hazard_class": cls,
            "subtypes": parts.map(lambda p: p[2] if len(p) > 2 else "").to_numpy(dtype=object),
            "osm_id": None,
            "name": (rows["landuse_code"].astype(str) + " " + rows["landuse_name"].astype(str))
            .str.strip()
            .to_numpy(dtype=object),
            "voltage_kv": np.nan,
            "voltage_assumed": False,
            "substance": None,
            "substance_assumed": cls == "pipeline",
        },
        index=range(len(rows)),
    )
    return gpd.GeoDataFrame(
        frame[HAZARD_COLUMNS], geometry=rows.geometry.to_numpy(), crs=classified.crs
    )


# --- exclusions and the compliance card -----------------------------------------------


def exclusion_reasons(candidates: pd.DataFrame) -> pd.Series:
    """Land-use exclusion of each candidate: ``"LAND-USE"``, ``"LAND-UNKNOWN"`` or ``""``.

    Candidates without a land-use role (street blocks, or the rows of a layer without land
    use data) are not excluded; a code missing from the table has the role ``"unknown"``.
    Aligned to ``candidates``.
    """
    if "landuse_role" not in candidates.columns:
        return pd.Series("", index=candidates.index, dtype=object)
    role = candidates["landuse_role"].fillna("").astype(str)
    keep = role.isin(CANDIDATE_ROLES) | (role == "")
    out = np.where(role == "unknown", "LAND-UNKNOWN", np.where(keep, "", "LAND-USE"))
    return pd.Series(out, index=candidates.index, dtype=object)


def merge_exclusions(constraints: pd.DataFrame, *reasons: pd.Series) -> pd.DataFrame:
    """Add exclusion reasons to the output of :func:`siting.constraints.apply_constraints`.

    Parameters
    ----------
    constraints
        With ``excluded_by`` and ``eligible``; not modified.
    reasons
        Series of ``;``-joined reason ids (``""`` for none), aligned with ``constraints``
        (:func:`exclusion_reasons`, :func:`siting.parcel_shape.exclusion_reasons`).

    Returns
    -------
    DataFrame
        A copy with the reasons appended to ``excluded_by`` and ``eligible`` recomputed.

    Examples
    --------
    >>> cons = pd.DataFrame({"excluded_by": ["", "GAS-10", ""], "eligible": [True, False, True]})
    >>> merge_exclusions(cons, pd.Series(["", "LAND-USE", "LAND-UNKNOWN"]))["excluded_by"].tolist()
    ['', 'GAS-10;LAND-USE', 'LAND-UNKNOWN']
    """
    out = constraints.copy()
    parts = [out["excluded_by"].fillna("").astype(str).to_numpy()]
    parts += [r.reindex(out.index).fillna("").astype(str).to_numpy() for r in reasons]
    out["excluded_by"] = [";".join(p for p in row if p) for row in zip(*parts, strict=True)]
    out["eligible"] = out["excluded_by"] == ""
    return out


_CARD_COLUMNS = [
    "parcel_id", "rule_id", "kind", "hard", "n_features", "measured_m", "screening_m",
    "margin_m", "threshold", "threshold_zh", "result", "penalty", "source", "clause",
    "confidence", "zh", "en",
]  # fmt: skip


def role_label(role: str, lang: str = "zh") -> str:
    """Readable name of a role in ``"zh"`` or ``"en"`` (for maps, cards and the report).

    Examples
    --------
    >>> role_label("hazard:industrial"), role_label("co_location", "en")
    ('危险源用地（industrial）', 'co-location (share a building)')
    """
    zh, en = ROLE_LABELS.get(role, ROLE_LABELS["hazard"] if role.startswith("hazard:") else
                             (role, role))  # fmt: skip
    if role.startswith("hazard:"):
        cls = role.split(":")[1]
        return f"{zh}（{cls}）" if lang == "zh" else f"{en} ({cls})"
    return zh if lang == "zh" else en


def compliance_rows(candidates: pd.DataFrame) -> pd.DataFrame:
    """Compliance-card rows for land use (parcels classified by :func:`classify_parcels`).

    Rows have the columns of :func:`siting.constraints.compliance_table`, so they can be
    concatenated to it. Every parcel with a land-use code gets one row: ``LAND-USE``
    (result ``pass`` for a suitable or co-location role, ``fail`` otherwise) or
    ``LAND-UNKNOWN`` (result ``fail``: the code is not in the table). The sharing
    conditions of co-location parcels are :func:`siting.reuse.compliance_rows`.

    Parameters
    ----------
    candidates
        With ``parcel_id`` and the columns of :func:`classify_parcels`.
    """
    if "landuse_scheme" not in candidates.columns:
        return pd.DataFrame(columns=_CARD_COLUMNS)
    candidates = candidates[candidates["landuse_scheme"].notna().to_numpy()]
    role = candidates["landuse_role"].fillna("unknown").astype(str)
    code_name = (
        candidates["landuse_code"].fillna("").astype(str)
        + " "
        + candidates["landuse_name"].fillna("").astype(str)
    )
    label = code_name.str.strip().to_numpy()
    zh = [role_label(r, "zh") for r in role]
    en = [role_label(r, "en") for r in role]
    basis = candidates["landuse_basis"].fillna("").astype(str).to_numpy()
    return pd.DataFrame({
        "parcel_id": candidates["parcel_id"].astype(str).to_numpy(),
        "rule_id": np.where(role == "unknown", "LAND-UNKNOWN", "LAND-USE"),
        "kind": "info", "hard": True, "n_features": 0, "measured_m": np.nan,
        "screening_m": np.nan, "margin_m": np.nan,
        "threshold": "suitable or co-location land", "threshold_zh": "适宜新建或可合建用地",
        "result": np.where(role.isin(CANDIDATE_ROLES), "pass", "fail"), "penalty": 0.0,
        "source": candidates["landuse_source"].fillna("").astype(str).to_numpy(),
        "clause": candidates["landuse_match"].fillna("").astype(str).to_numpy(),
        "confidence": candidates["landuse_confidence"].fillna("").astype(str).to_numpy(),
        "zh": [f"地类 {lb}：{z}" for lb, z in zip(label, zh, strict=True)],
        "en": [f"Land use {lb}: {e}. {b}".strip()
               for lb, e, b in zip(label, en, basis, strict=True)],
    })[_CARD_COLUMNS]  # fmt: skip
