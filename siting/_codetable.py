"""Land-use code tables: the shipped default, a user's table, and layering one on the other.

The public functions are re-exported by :mod:`siting.landuse`; see its docstring and
``docs/landuse.md`` for the roles and the table's columns.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting._errors import ConfigError, DataSourceError
from siting.rulebook import HAZARD_CLASSES

__all__ = [
    "ROLES",
    "SCHEMES",
    "TABLE_COLUMNS",
    "check_role",
    "default_code_table",
    "merge_code_tables",
    "normalise_codes",
    "read_code_table",
    "text",
]

#: Code schemes of the default table.
SCHEMES = ("gbt21010", "guide")
#: Roles a code can have (besides ``hazard:CLASS[:SUBTYPE]``); ``unknown`` marks codes not in
#: the table.
ROLES = ("suitable", "co_location", "excluded")
#: Columns of a code table.
TABLE_COLUMNS = [
    "scheme", "code", "name_zh", "name_en", "role", "idle", "source", "confidence", "basis",
    "aliases",
]  # fmt: skip

_TABLE_FILE = "rules/landuse-codes.toml"


def check_role(role: object, where: str) -> str:
    """Return a valid role or raise ConfigError naming ``where``."""
    text = str(role).strip() if role is not None else ""
    if text in ROLES:
        return text
    if text.startswith("hazard:"):
        parts = text.split(":")
        if len(parts) in {2, 3} and parts[1] in HAZARD_CLASSES and all(parts[1:]):
            return text
        msg = (
            f"{where}: role {text!r} names no hazard class; use hazard:CLASS or "
            f"hazard:CLASS:SUBTYPE with CLASS one of {list(HAZARD_CLASSES)}"
        )
        raise ConfigError(msg)
    msg = (
        f"{where}: role {text!r} is not one of {list(ROLES)} or hazard:CLASS[:SUBTYPE] "
        "(e.g. hazard:industrial, hazard:pipeline:unknown)"
    )
    raise ConfigError(msg)


def _rows_from_toml(raw: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """Flatten a table file's ``[[group]]`` (and ``[[codes]]``) entries into rows."""
    unknown = set(raw) - {"table", "group", "codes"}
    if unknown:
        msg = f"{where}: unknown table(s) {sorted(unknown)}; allowed: table, group, codes"
        raise ConfigError(msg)
    rows: list[dict[str, Any]] = []
    for g, group in enumerate(raw.get("group", [])):
        extra = set(group) - {"scheme", "source", "confidence", "rows"}
        if extra:
            msg = f"{where}: [[group]] {g + 1} has unknown key(s) {sorted(extra)}"
            raise ConfigError(msg)
        for row in group.get("rows", []):
            rows.append({k: v for k, v in group.items() if k != "rows"} | row)
    rows.extend(raw.get("codes", []))
    renamed = []
    for row in rows:
        out = dict(row)
        for short, full in (("zh", "name_zh"), ("en", "name_en")):
            if short in out:
                out[full] = out.pop(short)
        renamed.append(out)
    return renamed


def _table_frame(rows: list[dict[str, Any]], where: str, *, default_source: str) -> pd.DataFrame:
    """Check rows of a code table and return them as a frame with :data:`TABLE_COLUMNS`."""
    checked = []
    for i, row in enumerate(rows):
        here = f"{where}, row {i + 1}"
        extra = set(row) - set(TABLE_COLUMNS)
        if extra:
            msg = f"{here}: unknown column(s) {sorted(extra)}; a code table has {TABLE_COLUMNS}"
            raise ConfigError(msg)
        code = normalise_codes(pd.Series([row.get("code")])).iloc[0]
        if not code:
            msg = f"{here}: no code"
            raise ConfigError(msg)
        scheme = row.get("scheme")
        scheme = (
            ""
            if scheme is None or (isinstance(scheme, float) and math.isnan(scheme))
            else str(scheme).strip()
        )
        if scheme and scheme not in SCHEMES:
            msg = f"{here}: scheme {scheme!r} is not one of {list(SCHEMES)} (or empty for both)"
            raise ConfigError(msg)
        aliases = row.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [a.strip() for a in aliases.split("|") if a.strip()]
        idle = row.get("idle", False)
        if isinstance(idle, str):
            idle = idle.strip().lower() in {"true", "1", "yes", "是"}
        checked.append({
            "scheme": scheme, "code": code,
            "name_zh": text(row.get("name_zh")), "name_en": text(row.get("name_en")),
            "role": check_role(row.get("role"), f"{here} (code {code})"),
            "idle": bool(idle) if not pd.isna(idle) else False,
            "source": text(row.get("source")) or default_source,
            "confidence": text(row.get("confidence")) or "user",
            "basis": text(row.get("basis")), "aliases": tuple(aliases),
        })  # fmt: skip
    frame = pd.DataFrame(checked, columns=TABLE_COLUMNS)
    dup = frame.duplicated(["scheme", "code"])
    if dup.any():
        first = frame[dup].iloc[0]
        msg = f"{where}: code {first['code']!r} appears twice for scheme {first['scheme']!r}"
        raise ConfigError(msg)
    return frame


def text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def default_code_table() -> pd.DataFrame:
    """Load the shipped code table (``siting/rules/landuse-codes.toml``).

    Returns
    -------
    DataFrame
        :data:`TABLE_COLUMNS`, one row per scheme and code.

    Examples
    --------
    >>> t = default_code_table().set_index(["scheme", "code"])
    >>> t.loc[("guide", "080404"), ["name_zh", "role"]].tolist()
    ['幼儿园用地', 'co_location']
    >>> vacant = t.loc[("gbt21010", "1201")]
    >>> vacant["name_zh"], vacant["role"], bool(vacant["idle"])
    ('空闲地', 'suitable', True)
    """
    raw = tomllib.loads(resources.files("siting").joinpath(_TABLE_FILE).read_text("utf-8"))
    return _table_frame(_rows_from_toml(raw, _TABLE_FILE), _TABLE_FILE, default_source="")


def read_code_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a user's code table: CSV (UTF-8 or GB18030), Excel or TOML.

    Columns (CSV/Excel header, or keys of TOML ``[[codes]]`` tables / ``[[group]]`` rows as
    in the default table): ``code`` and ``role`` (required); ``scheme`` (``gbt21010`` or
    ``guide``; empty = both), ``name_zh``, ``name_en``, ``idle`` (true for idle land),
    ``source``, ``confidence``, ``basis``, ``aliases`` (other names, ``|``-separated).
    Numeric codes that lost their leading zero in Excel (``701``) are padded back.

    Raises
    ------
    DataSourceError
        If the file is missing or unreadable.
    ConfigError
        On unknown columns, a missing code, an invalid role or scheme, or duplicate codes.
    """
    from siting.readers import read_table

    path = Path(path)
    where = f"land-use table {path}"
    if path.suffix.lower() == ".toml":
        if not path.is_file():
            msg = f"{where}: file not found"
            raise DataSourceError(msg)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            msg = f"could not read {where}: {err}"
            raise DataSourceError(msg) from err
        rows = _rows_from_toml(raw, where)
    else:
        table = read_table(path, what="land-use table", encoding=encoding)
        table.columns = [str(c).strip() for c in table.columns]
        missing = [c for c in ("code", "role") if c not in table.columns]
        if missing:
            msg = f"{where} lacks column(s) {missing}; it has {list(table.columns)}"
            raise ConfigError(msg)
        rows = [
            {str(k): v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v))}
            for rec in table.to_dict(orient="records")
        ]
    return _table_frame(rows, where, default_source=f"user table {path.name}")


def merge_code_tables(base: pd.DataFrame, override: pd.DataFrame) -> pd.DataFrame:
    """Layer a user table on a base table: its rows replace the base rows of the same code.

    A user row without ``scheme`` applies to both schemes.

    Examples
    --------
    >>> user = pd.DataFrame([{"scheme": "", "code": "16", "role": "suitable"}])
    >>> t = merge_code_tables(default_code_table(), user)
    >>> t[t["code"] == "16"][["scheme", "role"]].values.tolist()
    [['gbt21010', 'suitable'], ['guide', 'suitable']]
    """
    over = override.copy()
    for col in TABLE_COLUMNS:
        if col not in over.columns:
            fill: object = () if col == "aliases" else (False if col == "idle" else "")
            over[col] = pd.Series([fill] * len(over), index=over.index, dtype=object)
    both = over["scheme"].fillna("") == ""
    over = pd.concat(
        [over[~both], *(over[both].assign(scheme=s) for s in SCHEMES)], ignore_index=True
    )
    keys = set(zip(over["scheme"], over["code"], strict=True))
    keep = [k not in keys for k in zip(base["scheme"], base["code"], strict=True)]
    return pd.concat([base[keep], over[TABLE_COLUMNS]], ignore_index=True)


def normalise_codes(values: pd.Series) -> pd.Series:
    """Codes as upper-case text; numbers that lost their leading zero are padded back.

    A code stored as a number (``701``, ``80404.0``) is padded to an even number of digits
    (``"0701"``, ``"080404"``); text is kept as written (so a 二调 ``"071"`` stays unknown
    rather than turning into ``"0071"``). Missing values become ``""``.

    Examples
    --------
    >>> normalise_codes(pd.Series([701, "0701 ", 80404.0, "08h1", None, "071"])).tolist()
    ['0701', '0701', '080404', '08H1', '', '071']
    """

    def one(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return ""
        if isinstance(v, bool):
            return str(v)
        if isinstance(v, int | np.integer | float | np.floating):
            if float(v) != int(v):
                return str(v)
            digits = str(int(v))
            return digits.zfill(len(digits) + len(digits) % 2)
        return str(v).strip().upper()

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)
