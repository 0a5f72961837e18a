"""QGIS styles embedded in ``results.gpkg``: the ``layer_styles`` table QGIS reads by default.

QGIS looks for a table ``layer_styles`` in a GeoPackage and applies the row with
``useAsDefault`` of the layer being opened (matched on ``f_table_name`` and
``f_geometry_column``, with empty ``f_table_catalog`` and ``f_table_schema``), so
``results.gpkg`` opens styled: parcels in five score classes (viridis, as on the map) with the
excluded ones grey, setback zones, hazards by class, walking catchments, selected sites,
demand points and new residential areas (red where no facility serves them). The table has
the columns QGIS itself creates (``id`` as primary key, then
``f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML,
styleSLD, useAsDefault, description, owner, ui, update_time``) and is registered in
``gpkg_contents`` as an attribute table, as QGIS does.

Each style is a QML document (QGIS's own XML style format) with a rule-based renderer; symbol
layers carry their properties both as ``<Option>`` maps (QGIS >= 3.16) and as ``<prop>``
elements (older 3.x).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from siting._errors import OutputError
from siting._i18n import t

__all__ = [
    "LAYER_STYLES_COLUMNS",
    "NEW_AREA_COLORS",
    "STYLED_LAYERS",
    "Rule",
    "layer_qml",
    "style_rules",
    "write_layer_styles",
]

#: Columns of QGIS's ``layer_styles`` table, in QGIS's order (after the ``id`` key).
LAYER_STYLES_COLUMNS = (
    "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
    "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time",
)  # fmt: skip
#: Layers of ``results.gpkg`` that get a style.
STYLED_LAYERS = (
    "candidates", "selected", "hazard_zones", "catchments", "hazards", "demand", "new_areas",
)  # fmt: skip
_SCORE_COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
_EXCLUDED = "#9e9e9e"
_PINK = "#e7298a"
#: New residential areas: red where no facility serves them, blue where one does.
NEW_AREA_COLORS = {"flagged": "#d7191c", "served": "#2c7bb6"}
_GEOMETRY_TYPE = {"marker": 0, "line": 1, "fill": 2}


@dataclass(frozen=True)
class Rule:
    """One rule of a rule-based renderer: a QGIS filter expression and its symbol.

    Attributes
    ----------
    label
        Legend text.
    filter
        QGIS expression (fields in double quotes); empty for "every feature".
    kind
        ``"fill"``, ``"line"`` or ``"marker"``.
    color
        ``#rrggbb`` fill (or line/marker) colour.
    opacity
        0-1 for the whole symbol.
    outline, width, dashed, size, shape
        Outline colour, line or outline width (mm), dashed line, marker size (mm) and
        shape (``circle``, ``triangle``).
    """

    label: str
    filter: str
    kind: str
    color: str
    opacity: float = 1.0
    outline: str = "#232323"
    width: float = 0.26
    dashed: bool = False
    size: float = 2.4
    shape: str = "circle"
    no_fill: bool = False


def _rgba(color: str, alpha: int = 255) -> str:
    c = color.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _props(rule: Rule) -> dict[str, str]:
    if rule.kind == "fill":
        return {
            "color": _rgba(rule.color, 0 if rule.no_fill else 255),
            "style": "no" if rule.no_fill else "solid",
            "outline_color": _rgba(rule.outline),
            "outline_style": "dash" if rule.dashed else "solid",
            "outline_width": f"{rule.width:g}",
            "outline_width_unit": "MM",
            "joinstyle": "bevel",
            "offset": "0,0",
            "offset_unit": "MM",
        }
    if rule.kind == "line":
        return {
            "line_color": _rgba(rule.color),
            "line_style": "dash" if rule.dashed else "solid",
            "line_width": f"{rule.width:g}",
            "line_width_unit": "MM",
            "capstyle": "square",
            "joinstyle": "bevel",
            "offset": "0",
            "offset_unit": "MM",
        }
    return {
        "name": rule.shape,
        "color": _rgba(rule.color),
        "outline_color": _rgba(rule.outline),
        "outline_style": "solid",
        "outline_width": f"{rule.width:g}",
        "outline_width_unit": "MM",
        "size": f"{rule.size:g}",
        "size_unit": "MM",
        "angle": "0",
        "offset": "0,0",
        "offset_unit": "MM",
        "scale_method": "diameter",
    }


def _symbol(name: str, rule: Rule) -> str:
    cls = {"fill": "SimpleFill", "line": "SimpleLine", "marker": "SimpleMarker"}[rule.kind]
    props = _props(rule)
    options = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in props.items()
    )
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<symbol type="{rule.kind}" name="{name}" alpha="{rule.opacity:g}" '
        'clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{options}</Option>{legacy}</layer></symbol>'
    )


def layer_qml(rules: Sequence[Rule], *, geometry: str) -> str:
    """Write a QML style document with a rule-based renderer.

    Parameters
    ----------
    rules
        Drawn in order; a feature is drawn by every rule whose filter it matches.
    geometry
        ``"fill"``, ``"line"`` or ``"marker"``: the layer's main geometry type (QGIS's
        ``layerGeometryType``); a mixed layer uses geometry-type filters in its rules.

    Returns
    -------
    str
        The QML text.
    """

    def key(text: str) -> str:
        return quoteattr("{" + str(uuid.uuid5(uuid.NAMESPACE_OID, text)) + "}")

    items = "".join(
        f"<rule key={key(f'{i} {r.label} {r.filter}')}"
        f' symbol="{i}" label={quoteattr(r.label)}'
        + (f" filter={quoteattr(r.filter)}" if r.filter else "")
        + "/>"
        for i, r in enumerate(rules)
    )
    symbols = "".join(_symbol(str(i), r) for i, r in enumerate(rules))
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        '<qgis version="3.28.0" styleCategories="Symbology">'
        '<renderer-v2 type="RuleRenderer" forceraster="0" symbollevels="0" '
        'enableorderby="0" referencescale="-1">'
        f'<rules key="{{{uuid.uuid5(uuid.NAMESPACE_OID, "root")}}}">{items}</rules>'
        f"<symbols>{symbols}</symbols></renderer-v2>"
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        f"<layerOpacity>1</layerOpacity><layerGeometryType>{_GEOMETRY_TYPE[geometry]}"
        "</layerGeometryType></qgis>"
    )


def _single_layer_rules(lang: str) -> dict[str, tuple[list[Rule], str]]:
    """Rules of the layers drawn in one or two fixed styles."""
    red, blue = NEW_AREA_COLORS["flagged"], NEW_AREA_COLORS["served"]
    return {
        "selected": (
            [Rule(t("selected", lang), "", "fill", _PINK, outline=_PINK, width=1.2, no_fill=True)],
            "fill",
        ),
        "hazard_zones": (
            [Rule(t("zones", lang), "", "fill", "#d7191c", 0.25, outline="#d7191c", width=0.3,
                  dashed=True)],
            "fill",
        ),
        "catchments": (
            [Rule(t("catchments", lang), "", "fill", _PINK, 0.15, outline=_PINK, width=0.4,
                  dashed=True)],
            "fill",
        ),
        "demand": (
            [Rule(t("unmet", lang), '"unmet_under3" > 0.5 * "under3"', "marker", "#e66101",
                  0.7, size=1.6, width=0),
             Rule(t("met_demand", lang), '"unmet_under3" <= 0.5 * "under3"', "marker",
                  "#2166ac", 0.7, size=1.6, width=0)],
            "marker",
        ),
        "new_areas": (
            [Rule(t("new_area_flagged", lang), '"flagged" = 1', "fill", red, 0.35, outline=red,
                  width=0.8),
             Rule(t("new_area_served", lang), '"flagged" = 0', "fill", blue, 0.2, outline=blue,
                  width=0.5, dashed=True)],
            "fill",
        ),
    }  # fmt: skip


def style_rules(layer: str, *, lang: str = "zh") -> tuple[list[Rule], str]:
    """Give the renderer rules and main geometry type of one ``results.gpkg`` layer.

    Raises
    ------
    KeyError
        If ``layer`` is not one of :data:`STYLED_LAYERS`.
    """
    if layer == "candidates":
        rules = [Rule(t("excluded", lang), '"eligible" = 0', "fill", _EXCLUDED, 0.8, width=0.1)]
        for k, color in enumerate(_SCORE_COLORS):
            lo, hi = 20 * k, 20 * (k + 1)
            upper = f' AND "score" < {hi}' if k < 4 else ""
            rules.append(
                Rule(f"{t('score', lang)} {lo}–{hi}",
                     f'"eligible" = 1 AND "score" >= {lo}{upper}', "fill", color, 0.8,
                     width=0.1)
            )  # fmt: skip
        return rules, "fill"
    simple = _single_layer_rules(lang)
    if layer in simple:
        return simple[layer]
    if layer == "hazards":
        from siting.maps import HAZARD_COLORS

        rules = []
        for cls, color in HAZARD_COLORS.items():
            name = t(cls, lang)
            is_cls = f"\"hazard_class\" = '{cls}'"
            rules += [
                Rule(name, f"{is_cls} AND geometry_type($geometry) = 'Polygon'", "fill", color,
                     0.5, outline=color),
                Rule(name, f"{is_cls} AND geometry_type($geometry) = 'Line'", "line", color,
                     width=0.8),
                Rule(name, f"{is_cls} AND geometry_type($geometry) = 'Point'", "marker", color,
                     size=3.0, shape="triangle"),
            ]  # fmt: skip
        return rules, "fill"
    raise KeyError(layer)


def _geometry_columns(con: sqlite3.Connection) -> dict[str, str]:
    rows = con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
    return {str(a): str(b) for a, b in rows}


_DDL = (
    "CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
    "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
    "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
    "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
    "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)


def write_layer_styles(
    gpkg: str | Path, *, layers: Iterable[str] = STYLED_LAYERS, lang: str = "zh"
) -> int:
    """Embed QGIS default styles for ``layers`` of a GeoPackage (replacing earlier ones).

    Parameters
    ----------
    gpkg
        A GeoPackage holding the layers (``results.gpkg``).
    layers
        Layer names from :data:`STYLED_LAYERS`; layers missing from the file are skipped.
    lang
        Language of the legend labels.

    Returns
    -------
    int
        Number of styles written.

    Raises
    ------
    OutputError
        If the file cannot be opened or written as a GeoPackage.
    """
    path = Path(gpkg)
    if not path.is_file():
        msg = f"cannot embed QGIS styles: {path} does not exist; write the GeoPackage first"
        raise OutputError(msg)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    try:
        con = sqlite3.connect(path)
        with con:
            geom_cols = _geometry_columns(con)
            exists = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='layer_styles'"
            ).fetchone()
            if not exists:
                con.execute(_DDL)
                con.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description,"
                    " last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)",
                    (now,),
                )
            n = 0
            for layer in layers:
                if layer not in geom_cols:
                    continue
                rules, geometry = style_rules(layer, lang=lang)
                con.execute(
                    "DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                    (layer, layer),
                )
                con.execute(
                    f"INSERT INTO layer_styles ({', '.join(LAYER_STYLES_COLUMNS)}) "
                    "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '', ?)",
                    (layer, geom_cols[layer], layer, layer_qml(rules, geometry=geometry),
                     f"siting default style of {layer}", now),
                )  # fmt: skip
                n += 1
        con.close()
    except sqlite3.Error as err:
        msg = f"cannot embed QGIS styles in {path}: {err}; is it a GeoPackage written by siting?"
        raise OutputError(msg) from err
    return n
