"""Inlined assets of ``map.html``: Leaflet (from its package) and siting's own JS and CSS.

Leaflet 1.9.4 (BSD-2-Clause, © Volodymyr Agafonkin and contributors) is read at run time from
the installed ``django-js-lib-leaflet`` wheel, so no third-party code is committed here.

The map's controls are written for siting, in this module, instead of taking Leaflet plugins
(leaflet.fullscreen, leaflet-measure, leaflet-search are published on npm only, and a pip user
would have no way to get them at install time):

- ``SitingDots``: a canvas layer drawing many points (parcels beyond the polygon budget,
  demand) from packed arrays, with click hit-testing; far lighter than one Leaflet marker per
  point.
- fullscreen button (Fullscreen API, or a full-window fallback inside a notebook iframe);
- measure tool (distance along clicked points, geodesic on the sphere; area once three points
  are placed);
- search by parcel id (exact, case-insensitive, or up to eight partial matches), also from the
  page address ``map.html#parcel=ID``.

Every text taken from data is put into the page with ``textContent`` (never ``innerHTML``):
OSM names and parcel ids are untrusted input.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

__all__ = ["APP_CSS", "APP_JS", "leaflet_assets"]


@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's CSS (images inlined as data URIs) and JS, from the installed package.

    Returns
    -------
    tuple of str
        ``(css, js)`` of Leaflet 1.9.4, ready to inline into ``<style>`` and ``<script>``.
    """
    root = resources.files("js_lib_leaflet").joinpath("static", "js_lib_leaflet")
    css = root.joinpath("leaflet.css").read_text("utf-8")

    def inline(match: re.Match[str]) -> str:
        data = root.joinpath(match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode()})"

    css = re.sub(r"url\((images/[\w\-.]+\.png)\)", inline, css)
    js = root.joinpath("leaflet.js").read_text("utf-8")
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return css, js


#: Styles of the title, legend, popups and siting's controls.
APP_CSS = """
.siting-title{position:absolute;top:10px;left:54px;z-index:1000;background:#fff;
 padding:6px 10px;border-radius:4px;font:bold 15px sans-serif;
 box-shadow:0 1px 4px rgba(0,0,0,.4);max-width:60%}
.siting-title small{display:block;font-weight:normal;font-size:11px;color:#8a3b00}
.siting-legend{position:absolute;bottom:28px;right:12px;z-index:1000;background:#fff;
 padding:8px 10px;border-radius:4px;font:12px/1.4 sans-serif;
 box-shadow:0 1px 4px rgba(0,0,0,.4);max-width:260px;max-height:55%;overflow:auto}
.siting-legend i{display:inline-block;width:14px;height:10px;margin-right:6px;opacity:.85}
.siting-legend .note{margin-top:4px;color:#555}
.siting-card{border-collapse:collapse;margin:4px 0;font-size:11px}
.siting-card td,.siting-card th{border:1px solid #ccc;padding:2px 4px;vertical-align:top}
.siting-card .fail{color:#b2182b;font-weight:bold}.siting-card .penalty{color:#b35806}
.siting-card .quiet{color:#555}.siting-card .check{color:#8a6d00}
.siting-popup .quiet{color:#555;font-size:11px}.siting-reuse{color:#01665e}
.leaflet-popup-content{max-height:360px;overflow:auto;font-size:12px}
.siting-bar a{display:flex!important;align-items:center;justify-content:center;cursor:pointer}
.siting-bar a.on{background:#fde725}
.siting-search{background:#fff;padding:4px;font:12px sans-serif}
.siting-search input{width:150px;font-size:12px}
.siting-search .msg{color:#555;max-width:190px}
.siting-search .msg a{display:block;cursor:pointer;color:#0050a0}
.siting-measure-panel{background:#fff;padding:4px 8px;font:12px sans-serif;display:none}
.siting-fs{position:fixed!important;left:0;top:0;width:100vw!important;height:100vh!important;
 z-index:10000}
@media print{.siting-bar,.siting-search,.leaflet-control-layers{display:none}}
"""

#: siting's map code: ``sitingApp(map, data)`` draws every layer from the packed data.
APP_JS = r"""
(function () {
"use strict";
var L = window.L;

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) { e.className = cls; }
  if (text !== undefined && text !== null) { e.textContent = String(text); }
  return e;
}
function fmt(v, digits) {
  if (v === null || v === undefined) { return "\u2013"; }
  if (v === "inf") { return "\u221e"; }
  if (typeof v !== "number") { return String(v); }
  return v.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
}
function fill(template, value) { return template.replace("{v}", value); }

// Packed geometry: integer coordinates (degrees x scale), first vertex absolute, then deltas.
function ring(flat, scale) {
  var out = [], x = 0, y = 0;
  for (var i = 0; i < flat.length; i += 2) {
    x += flat[i]; y += flat[i + 1];
    out.push([y / scale, x / scale]);
  }
  return out;
}
function decode(g, scale) {
  if (g[0] === "pt") { return L.latLng(g[1][1] / scale, g[1][0] / scale); }
  if (g[0] === "ln") { return g[1].map(function (r) { return ring(r, scale); }); }
  return g[1].map(function (poly) { return poly.map(function (r) { return ring(r, scale); }); });
}

// --- A canvas layer for many points --------------------------------------------------------
var pickers = [];  // canvas layers that answer map clicks (shapes, then dots)
var SitingDots = L.Layer.extend({
  initialize: function (spec, scale, onClick) {
    var n = spec.x.length;
    this._n = n;
    this._mx = new Float64Array(n); this._my = new Float64Array(n);
    this._lat = new Float64Array(n); this._lon = new Float64Array(n);
    var x = 0, y = 0;
    for (var i = 0; i < n; i++) {
      x += spec.x[i]; y += spec.y[i];   // delta-coded like the rings
      var lon = x / scale, lat = y / scale;
      this._lon[i] = lon; this._lat[i] = lat;
      var s = Math.sin(lat * Math.PI / 180);
      this._mx[i] = (lon + 180) / 360;
      this._my[i] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
    }
    this._color = spec.c; this._palette = spec.palette;
    this._r = spec.r || null; this._r0 = spec.r0 || 3;
    this._onClick = onClick;
    this._order = [];
    for (var k = 0; k < spec.palette.length; k++) { this._order.push([]); }
    for (var j = 0; j < n; j++) { this._order[spec.c[j]].push(j); }
  },
  onAdd: function (map) {
    this._map = map;
    this._canvas = L.DomUtil.create("canvas", "siting-dots leaflet-zoom-hide");
    this._canvas.style.pointerEvents = "none";
    map.getPane("overlayPane").appendChild(this._canvas);
    map.on("moveend zoomend resize viewreset", this._redraw, this);
    pickers.push(this);
    this._redraw();
  },
  onRemove: function (map) {
    L.DomUtil.remove(this._canvas);
    map.off("moveend zoomend resize viewreset", this._redraw, this);
    pickers.splice(pickers.indexOf(this), 1);
  },
  _xy: function (i, scale, ox, oy) {
    return [this._mx[i] * scale - ox, this._my[i] * scale - oy];
  },
  _frame: function () {
    var map = this._map, size = map.getSize();
    var scale = 256 * Math.pow(2, map.getZoom());
    var org = map.getPixelOrigin(), off = map.layerPointToContainerPoint([0, 0]);
    return {w: size.x, h: size.y, scale: scale, ox: org.x - off.x, oy: org.y - off.y};
  },
  _redraw: function () {
    if (!this._map) { return; }
    var f = this._frame(), dpr = window.devicePixelRatio || 1, c = this._canvas;
    c.width = f.w * dpr; c.height = f.h * dpr;
    c.style.width = f.w + "px"; c.style.height = f.h + "px";
    L.DomUtil.setPosition(c, this._map.containerPointToLayerPoint([0, 0]));
    var ctx = c.getContext("2d"), zoom = this._map.getZoom();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // zoomed out, dots are small squares and one per pixel is enough (cheap to rasterise)
    var coarse = zoom < 15, seen = coarse ? new Uint8Array(f.w * f.h) : null;
    var shrink = zoom < 13 ? 0.6 : 1;
    for (var k = 0; k < this._order.length; k++) {
      var idx = this._order[k];
      ctx.fillStyle = this._palette[k];
      ctx.strokeStyle = "rgba(40,40,40,0.6)";
      ctx.lineWidth = 0.5;
      ctx.beginPath();
      for (var t = 0; t < idx.length; t++) {
        var i = idx[t], r = (this._r ? this._r[i] : this._r0) * shrink;
        var x = this._mx[i] * f.scale - f.ox, y = this._my[i] * f.scale - f.oy;
        if (x < -r || y < -r || x > f.w + r || y > f.h + r) { continue; }
        if (coarse) {
          var px = x | 0, py = y | 0;
          if (px >= 0 && py >= 0 && px < f.w && py < f.h) {
            if (seen[py * f.w + px]) { continue; }
            seen[py * f.w + px] = 1;
          }
          ctx.rect(x - r, y - r, 2 * r, 2 * r);
        } else {
          ctx.moveTo(x + r, y);
          ctx.arc(x, y, r, 0, 2 * Math.PI);
        }
      }
      ctx.globalAlpha = 0.8;
      ctx.fill();
      if (!this._r && !coarse) { ctx.globalAlpha = 1; ctx.stroke(); }
    }
  },
  nearest: function (cp) {
    var f = this._frame(), best = -1, bestD = Infinity;
    for (var i = 0; i < this._n; i++) {
      var dx = this._mx[i] * f.scale - f.ox - cp.x, dy = this._my[i] * f.scale - f.oy - cp.y;
      var d = dx * dx + dy * dy, r = (this._r ? this._r[i] : this._r0) + 3;
      if (d <= r * r && d < bestD) { best = i; bestD = d; }
    }
    return {i: best, d: bestD};
  },
  latLng: function (i) { return L.latLng(this._lat[i], this._lon[i]); },
  pick: function (cp) {
    var hit = this.nearest(cp), self = this;
    if (hit.i < 0) { return null; }
    return {d: hit.d, latlng: this.latLng(hit.i),
      content: function () { return self._onClick(hit.i); }};
  }
});

// --- A canvas layer for many polygons, drawn in batches of one colour -----------------------
function merc(lat, lon) {
  var s = Math.sin(lat * Math.PI / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}
function unmerc(x, y) {
  var lat = 90 - 360 * Math.atan(Math.exp((y - 0.5) * 2 * Math.PI)) / Math.PI;
  return L.latLng(lat, x * 360 - 180);
}
var SitingShapes = L.Layer.extend({
  // items: [{rings: [[lat, lon]...]..., color: palette index}], drawn large first
  initialize: function (items, palette, onClick, tip) {
    this._palette = palette; this._onClick = onClick; this._tip = tip;
    var shapes = items.map(function (it) {
      var rings = [], b = [Infinity, Infinity, -Infinity, -Infinity];
      it.rings.forEach(function (r) {
        var a = new Float64Array(2 * r.length);
        for (var k = 0; k < r.length; k++) {
          var m = merc(r[k][0], r[k][1]);
          a[2 * k] = m[0]; a[2 * k + 1] = m[1];
          if (m[0] < b[0]) { b[0] = m[0]; } if (m[1] < b[1]) { b[1] = m[1]; }
          if (m[0] > b[2]) { b[2] = m[0]; } if (m[1] > b[3]) { b[3] = m[1]; }
        }
        rings.push(a);
      });
      return {key: it.key, rings: rings, bbox: b, color: it.color,
        size: (b[2] - b[0]) * (b[3] - b[1])};
    });
    shapes.sort(function (a, b) { return b.size - a.size; });
    this._shapes = shapes;
    this._byKey = {};
    for (var i = 0; i < shapes.length; i++) { this._byKey[shapes[i].key] = shapes[i]; }
  },
  onAdd: function (map) {
    this._map = map;
    this._canvas = L.DomUtil.create("canvas", "siting-shapes leaflet-zoom-hide");
    this._canvas.style.pointerEvents = "none";
    map.getPane("overlayPane").appendChild(this._canvas);
    map.on("moveend zoomend resize viewreset", this._redraw, this);
    map.on("mousemove", this._hover, this);
    pickers.unshift(this);
    this._redraw();
  },
  onRemove: function (map) {
    L.DomUtil.remove(this._canvas);
    map.off("moveend zoomend resize viewreset", this._redraw, this);
    map.off("mousemove", this._hover, this);
    pickers.splice(pickers.indexOf(this), 1);
    if (this._tooltip) { map.closeTooltip(this._tooltip); }
  },
  _frame: SitingDots.prototype._frame,
  _redraw: function () {
    if (!this._map) { return; }
    var f = this._frame(), dpr = window.devicePixelRatio || 1, c = this._canvas;
    c.width = f.w * dpr; c.height = f.h * dpr;
    c.style.width = f.w + "px"; c.style.height = f.h + "px";
    L.DomUtil.setPosition(c, this._map.containerPointToLayerPoint([0, 0]));
    var ctx = c.getContext("2d"), S = f.scale, ox = f.ox, oy = f.oy;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.lineWidth = 0.6; ctx.strokeStyle = "#333"; ctx.lineJoin = "round";
    var x0 = ox / S, y0 = oy / S, x1 = (ox + f.w) / S, y1 = (oy + f.h) / S;
    var shapes = this._shapes, run = -1, self = this, outline = this._map.getZoom() >= 14;
    function flush() {
      if (run < 0) { return; }
      ctx.globalAlpha = 0.7; ctx.fillStyle = self._palette[run]; ctx.fill("evenodd");
      if (outline) { ctx.globalAlpha = 1; ctx.stroke(); }
    }
    for (var i = 0; i < shapes.length; i++) {
      var sh = shapes[i], b = sh.bbox;
      if (b[2] < x0 || b[0] > x1 || b[3] < y0 || b[1] > y1) { continue; }
      if (sh.color !== run) { flush(); ctx.beginPath(); run = sh.color; }
      for (var r = 0; r < sh.rings.length; r++) {
        var a = sh.rings[r], px = a[0] * S - ox, py = a[1] * S - oy;
        ctx.moveTo(px, py);
        for (var k = 2; k < a.length; k += 2) {
          var qx = a[k] * S - ox, qy = a[k + 1] * S - oy;
          if (Math.abs(qx - px) + Math.abs(qy - py) < 0.7 && k < a.length - 2) { continue; }
          ctx.lineTo(qx, qy); px = qx; py = qy;
        }
        ctx.closePath();
      }
    }
    flush();
  },
  _hit: function (cp) {
    var f = this._frame(), x = (cp.x + f.ox) / f.scale, y = (cp.y + f.oy) / f.scale;
    var best = null;
    for (var i = 0; i < this._shapes.length; i++) {
      var sh = this._shapes[i], b = sh.bbox;
      if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) { continue; }
      var inside = false;
      for (var r = 0; r < sh.rings.length; r++) {
        var a = sh.rings[r], n = a.length / 2;
        for (var k = 0, j = n - 1; k < n; j = k++) {
          var yi = a[2 * k + 1], yj = a[2 * j + 1];
          if ((yi > y) !== (yj > y) &&
              x < (a[2 * j] - a[2 * k]) * (y - yi) / (yj - yi) + a[2 * k]) { inside = !inside; }
        }
      }
      if (inside && (!best || sh.size <= best.size)) { best = sh; }
    }
    return best;
  },
  pick: function (cp) {
    var sh = this._hit(cp), self = this;
    if (!sh) { return null; }
    return {d: -1, latlng: this._map.containerPointToLatLng(cp),
      content: function () { return self._onClick(sh.key); }};
  },
  _hover: function (e) {
    var self = this;
    if (this._pending) { return; }
    this._pending = true;
    L.Util.requestAnimFrame(function () {
      self._pending = false;
      if (!self._map) { return; }
      var sh = self._hit(e.containerPoint);
      self._map.getContainer().style.cursor = sh ? "pointer" : "";
      if (!sh) {
        if (self._tooltip) { self._map.closeTooltip(self._tooltip); self._tooltip = null; }
        return;
      }
      if (!self._tooltip) { self._tooltip = L.tooltip({direction: "top", offset: [0, -6]}); }
      self._tooltip.setLatLng(e.latlng).setContent(self._tip(sh.key));
      if (!self._map.hasLayer(self._tooltip)) { self._map.openTooltip(self._tooltip); }
    });
  },
  bounds: function (key) {
    var b = this._byKey[key].bbox;
    return L.latLngBounds(unmerc(b[0], b[3]), unmerc(b[2], b[1]));
  },
  center: function (key) {
    var b = this._byKey[key].bbox, sh = this._byKey[key];
    var f = {x: (b[0] + b[2]) / 2, y: (b[1] + b[3]) / 2};
    return unmerc(f.x, f.y);
  },
  has: function (key) { return key in this._byKey; }
});

// --- Controls -------------------------------------------------------------------------------
var ICONS = {
  fullscreen: "M3 9V3h6M15 3h6v6M21 15v6h-6M9 21H3v-6",
  measure: "M2 16 16 2l6 6L8 22zM6 12l2 2M9 9l3 3M12 6l2 2M15 3l0 0"
};
function icon(path) {
  var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("width", "18");
  svg.setAttribute("height", "18"); svg.style.verticalAlign = "middle";
  var p = document.createElementNS(ns, "path");
  p.setAttribute("d", path); p.setAttribute("fill", "none"); p.setAttribute("stroke", "#333");
  p.setAttribute("stroke-width", "2"); p.setAttribute("stroke-linejoin", "round");
  svg.appendChild(p);
  return svg;
}
function button(bar, name, title, onClick) {
  var a = L.DomUtil.create("a", "siting-" + name, bar);
  a.href = "#"; a.appendChild(icon(ICONS[name])); a.title = title;
  a.setAttribute("role", "button"); a.setAttribute("aria-label", title);
  L.DomEvent.on(a, "click", function (e) { L.DomEvent.preventDefault(e); onClick(a); });
  return a;
}

function fullscreenControl(map, T) {
  var Ctl = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var bar = L.DomUtil.create("div", "leaflet-bar siting-bar siting-fullscreen");
      L.DomEvent.disableClickPropagation(bar);
      var box = map.getContainer();
      button(bar, "fullscreen", T.fullscreen, function (a) {
        var doc = document;
        if (doc.fullscreenElement) { doc.exitFullscreen(); return; }
        if (L.DomUtil.hasClass(box, "siting-fs")) {
          L.DomUtil.removeClass(box, "siting-fs"); L.DomUtil.removeClass(a, "on");
          map.invalidateSize(); return;
        }
        var fallback = function () {
          L.DomUtil.addClass(box, "siting-fs"); L.DomUtil.addClass(a, "on");
          map.invalidateSize();
        };
        if (box.requestFullscreen && doc.fullscreenEnabled) {
          box.requestFullscreen().then(function () { map.invalidateSize(); }, fallback);
        } else { fallback(); }
      });
      document.addEventListener("fullscreenchange", function () { map.invalidateSize(); });
      return bar;
    }
  });
  return new Ctl().addTo(map);
}

// Area of a polygon on the sphere (radius R), from the trapezoid formula in lon/lat radians.
function sphericalArea(lls) {
  var R = 6378137, s = 0, n = lls.length, d = Math.PI / 180;
  for (var i = 0; i < n; i++) {
    var a = lls[i], b = lls[(i + 1) % n];
    s += (b.lng - a.lng) * d * (2 + Math.sin(a.lat * d) + Math.sin(b.lat * d));
  }
  return Math.abs(s * R * R / 2);
}
function lengthText(m) { return m < 1000 ? fmt(m, 0) + " m" : fmt(m / 1000, 2) + " km"; }
function areaText(m2) {
  return m2 < 1e5 ? fmt(m2, 0) + " m\u00b2" : fmt(m2 / 1e6, 3) + " km\u00b2";
}

function measureControl(map, T, state) {
  var pts = [], line = null, poly = null, panel = null, btn = null;
  function redraw() {
    if (line) { map.removeLayer(line); line = null; }
    if (poly) { map.removeLayer(poly); poly = null; }
    if (pts.length > 2) {
      poly = L.polygon(pts, {color: "#e7298a", weight: 1, dashArray: "4 4", fillOpacity: 0.1,
        interactive: false}).addTo(map);
    }
    if (pts.length) {
      line = L.polyline(pts, {color: "#e7298a", weight: 3, interactive: false}).addTo(map);
    }
    var total = 0;
    for (var i = 1; i < pts.length; i++) { total += map.distance(pts[i - 1], pts[i]); }
    var text = pts.length ? T.distance + ": " + lengthText(total) : T.measure_hint;
    var area = pts.length > 2 ? sphericalArea(pts) : 0;
    if (pts.length > 2) { text += " \u00b7 " + T.area_label + ": " + areaText(area); }
    panel.textContent = text;
    panel.dataset.meters = String(total);
    panel.dataset.squareMeters = String(area);
  }
  function stop() {
    state.measuring = false; pts = []; redraw();
    panel.style.display = "none"; L.DomUtil.removeClass(btn, "on");
    map.doubleClickZoom.enable(); map.getContainer().style.cursor = "";
  }
  var Ctl = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var box = L.DomUtil.create("div", "siting-measure-box");
      var bar = L.DomUtil.create("div", "leaflet-bar siting-bar siting-measure-bar", box);
      panel = L.DomUtil.create("div", "siting-measure-panel leaflet-bar", box);
      L.DomEvent.disableClickPropagation(box);
      btn = button(bar, "measure", T.measure, function () {
        if (state.measuring) { stop(); return; }
        state.measuring = true; map.closePopup(); map.doubleClickZoom.disable();
        panel.style.display = "block"; L.DomUtil.addClass(btn, "on");
        map.getContainer().style.cursor = "crosshair"; redraw();
      });
      return box;
    }
  });
  map.on("click", function (e) {
    if (!state.measuring) { return; }
    pts.push(e.latlng); redraw();
  });
  map.on("keydown", function (e) {
    if (e.originalEvent.key === "Escape" && state.measuring) { stop(); }
  });
  var ctl = new Ctl().addTo(map);
  ctl.addPoint = function (ll) { pts.push(L.latLng(ll)); redraw(); };
  ctl.toggle = function () { btn.click(); };
  return ctl;
}

function searchControl(map, T, find) {
  var Ctl = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var box = L.DomUtil.create("form", "leaflet-bar siting-search");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var input = L.DomUtil.create("input", "", box);
      input.type = "search"; input.placeholder = T.search_placeholder;
      input.setAttribute("aria-label", T.search_placeholder);
      var msg = L.DomUtil.create("div", "msg", box);
      L.DomEvent.on(box, "submit", function (e) {
        L.DomEvent.preventDefault(e);
        msg.textContent = "";
        var res = find(input.value.trim());
        if (res.found) { return; }
        if (!res.suggestions.length) { msg.textContent = T.not_found; return; }
        res.suggestions.forEach(function (id) {
          var a = el("a", "", id);
          L.DomEvent.on(a, "click", function () {
            input.value = id; find(id); msg.textContent = "";
          });
          msg.appendChild(a);
        });
      });
      return box;
    }
  });
  return new Ctl().addTo(map);
}

// --- Popups ---------------------------------------------------------------------------------
function row(table, cells, cls) {
  var tr = el("tr");
  cells.forEach(function (c, k) {
    var td = el("td", (cls && cls[k]) || "", c);
    tr.appendChild(td);
  });
  table.appendChild(tr);
}
function header(table, cells) {
  var tr = el("tr");
  cells.forEach(function (c) { tr.appendChild(el("th", "", c)); });
  table.appendChild(tr);
}

function parcelPopup(D, P, i) {
  var T = D.labels, box = el("div", "siting-popup");
  var b = el("b", "", T.parcel + " " + P.id[i]);
  box.appendChild(b); box.appendChild(el("br"));
  box.appendChild(document.createTextNode(
    T.area + ": " + fmt(P.area[i], 0) + " m\u00b2 \u00b7 " + T.capacity + ": " + fmt(P.cap[i], 0)));
  box.appendChild(el("br"));
  if (P.lu && P.lu[i] !== null && P.lu[i] !== undefined) {
    box.appendChild(document.createTextNode(T.land_use + ": " + D.roles[P.lu[i]]));
    box.appendChild(el("br"));
  }
  if (P.reuse && P.reuse[i]) {
    var ru = P.reuse[i];
    box.appendChild(el("b", "siting-reuse", "\u267b " + T.reuse + ": " +
      [ru[0], ru[1]].filter(function (x) { return x; }).join(" \u00b7 ") +
      (ru[2] === null ? "" : " \u00b7 " + T.usable_area + " " + fmt(ru[2], 0) + " m\u00b2")));
    box.appendChild(el("br"));
  }
  if (P.eligible[i]) {
    box.appendChild(document.createTextNode(T.score + ": "));
    box.appendChild(el("b", "", fmt(P.score[i], 1)));
    box.appendChild(document.createTextNode(" \u00b7 " + T.rank + ": "));
    box.appendChild(el("b", "", fmt(P.rank[i], 0)));
    if (P.p_top_k) {
      box.appendChild(
        document.createTextNode(" \u00b7 " + T.p_top_k + ": " + fmt(P.p_top_k[i], 2)));
    }
    if (P.sel[i]) {
      box.appendChild(el("br")); box.appendChild(el("b", "", "\u2605 " + T.selected));
    }
  } else {
    box.appendChild(el("b", "", T.excluded_by + ": " + P.excl[i]));
    String(P.excl[i]).split(";").forEach(function (id) {
      if (D.reasons[id]) { box.appendChild(el("div", "quiet", D.reasons[id])); }
    });
  }
  // Compliance card: the rules with features in the study, then the quiet ones in one line.
  var card = el("table", "siting-card");
  header(card, [T.rule, "", T.threshold, T.measured, T.result]);
  var given = {};
  (P.card[i] || []).forEach(function (e) { given[e[0]] = e; });
  D.rules.forEach(function (r, k) {
    var e = given[k], measured, res;
    if (!e) {
      measured = fill(T.none_within, fmt(r.screening, 0)); res = "no_feature";
    } else {
      res = D.results[e[3]];
      var dist = e[1], margin = e[2];
      if (r.kind === "no_cross") {
        measured = res === "fail" ? T.crosses : T.not_crosses;
      } else if (dist === null || dist === "inf") {
        measured = fill(T.none_within, fmt(r.screening, 0));
      } else if (r.kind === "setback" && typeof margin === "number") {
        measured = fmt(dist, 1) + " m \u00b7 " +
          fill(margin >= 0 ? T.margin : T.inside, fmt(Math.abs(margin), 1));
      } else {
        measured = fmt(dist, 1) + " m";
      }
    }
    var tr = el("tr"), td = el("td", "", r.id);
    td.title = r.source + " " + r.clause;
    tr.appendChild(td);
    tr.appendChild(el("td", "", r.text));
    tr.appendChild(el("td", "", r.threshold));
    tr.appendChild(el("td", "", measured));
    tr.appendChild(el("td", res === "fail" || res === "penalty" ? res : "", T[res] || res));
    card.appendChild(tr);
  });
  // checks outside the rulebook: land use, size and shape, reused buildings
  (P.note[i] || []).forEach(function (e) {
    var res = D.results[e[4]], tr = el("tr");
    tr.appendChild(el("td", "", D.notes[e[0]]));
    tr.appendChild(el("td", "", D.notes[e[1]]));
    tr.appendChild(el("td", "", D.notes[e[2]]));
    tr.appendChild(el("td", "", typeof e[3] === "number" ? fmt(e[3], 1) + " m" : "\u2013"));
    tr.appendChild(el("td", res === "fail" || res === "check" ? res : "", T[res] || res));
    card.appendChild(tr);
  });
  if (D.quiet) {
    var tr = el("tr"), td = el("td", "quiet", D.quiet + ": " + T.none_in_study);
    td.colSpan = 5; tr.appendChild(td); card.appendChild(tr);
  }
  box.appendChild(card);
  if (!P.eligible[i]) { return box; }
  var bd = P.bd[i];
  if (!bd) { return box; }
  var scores = el("table", "siting-card");
  header(scores, [T.criterion, T.value, T.points]);
  var full = P.full[i];
  D.terms.forEach(function (term, k) {
    row(scores, full ? [term, fmt(bd[2 * k], 1), fmt(bd[2 * k + 1], 1)]
      : [term, "\u2013", fmt(bd[k], 1)]);
  });
  (P.pen[i] || []).forEach(function (p) {
    row(scores, [D.penalties[p[0]] + " " + T.soft_penalty, fmt(p[1], 2), fmt(p[2], 1)]);
  });
  box.appendChild(scores);
  if (!P.full[i]) { box.appendChild(el("div", "quiet", T.light_note)); }
  return box;
}

function tablePopup(head, values) {
  var box = el("div", "siting-popup"), table = el("table", "siting-card");
  head.forEach(function (h, k) { row(table, [h, values[k]]); });
  box.appendChild(table);
  return box;
}

function textPopup(lines) {
  var box = el("div", "siting-popup");
  lines.forEach(function (t, k) {
    if (k) { box.appendChild(el("br")); }
    box.appendChild(k === 0 ? el("b", "", t) : document.createTextNode(t));
  });
  return box;
}

// --- The app --------------------------------------------------------------------------------
function sitingApp(map, D) {
  var T = D.labels, S = D.scale, state = {measuring: false};
  ["siting-title", "siting-legend"].forEach(function (id) {
    var e = document.getElementById(id);
    if (e) { map.getContainer().appendChild(e); L.DomEvent.disableClickPropagation(e);
      L.DomEvent.disableScrollPropagation(e); }
  });
  var renderer = D.canvas ? L.canvas({padding: 0.3, tolerance: 3}) : undefined;
  var overlays = {}, layerByKey = {};
  var styleBase = {renderer: renderer};

  function vec(geom, style) {
    var g = decode(geom, S), opts = L.extend({}, styleBase, style);
    if (geom[0] === "pt") {
      return L.circleMarker(g, L.extend({radius: 6, fillOpacity: 0.9}, opts));
    }
    if (geom[0] === "ln") { return L.polyline(g, L.extend({fill: false}, opts)); }
    return L.polygon(g, opts);
  }
  function tip(layer, text) { layer.bindTooltip(function () { return el("span", "", text); }); }

  // basemap
  var basemap = L.layerGroup();
  (D.tiles || []).forEach(function (t) {
    basemap.addLayer(L.tileLayer(t.url, {attribution: t.attribution,
      subdomains: t.subdomains || "abc", maxZoom: t.max_zoom || 19}));
  });
  basemap.addTo(map);
  map.attributionControl.addAttribution(D.data_attribution);

  // setback zones, hazards, catchments, facilities, selected: one layer group each
  function group(key, name, show) {
    var g = L.featureGroup();
    overlays[name] = g; layerByKey[key] = g;
    if (show) { g.addTo(map); }
    return g;
  }
  var Z = D.zones, zg = group("zones", T.zones, true);
  Z.geom.forEach(function (g, i) {
    var l = vec(g, {color: "#d7191c", weight: 1, fillOpacity: 0.12, dashArray: "4 3"});
    tip(l, Z.rule_id[i]); l.addTo(zg);
  });
  var H = D.hazards, hg = group("hazards", T.hazards, true);
  H.geom.forEach(function (g, i) {
    var c = D.hazard_colors[H.cls[i]] || "#000";
    var l = vec(g, {color: c, fillColor: c, weight: 3, fillOpacity: g[0] === "pt" ? 0.9 : 0.4});
    tip(l, H.label[i]); l.addTo(hg);
  });

  // demand: dots
  var Dm = D.demand;
  Dm.dots.r = Dm.under3.map(function (u) { return 1.5 + 3 * Math.sqrt(Math.max(u || 0, 0)); });
  var demandDots = new SitingDots(Dm.dots, S, function (i) {
    return textPopup([T.demand, T.under3 + " \u2248 " + fmt(Dm.under3[i], 2),
      T.unmet_value + " \u2248 " + fmt(Dm.unmet[i], 2)]);
  });
  overlays[T.demand] = demandDots; layerByKey.demand = demandDots;

  // parcels: polygons within the budget, dots beyond it; excluded and scored in two layers
  var P = D.parcels, idIndex = new Map(), polyOf = {}, dotOf = {};
  P.eligible = P.f.map(function (f) { return f & 1; });
  P.sel = P.f.map(function (f) { return (f >> 1) & 1; });
  P.full = P.f.map(function (f) { return (f >> 2) & 1; });
  P.cls = P.score.map(function (s) { return s === null ? 0 : Math.min(Math.floor(s / 20), 4); });
  var excl = group("excluded", T.excluded, true), scored = group("candidates", T.candidates, true);
  var polyItems = {excluded: [], candidates: []};
  P.geom.forEach(function (g, i) {
    idIndex.set(String(P.id[i]), i);
    if (!g) { return; }
    var rings = [];
    decode(g, S).forEach(function (poly) { poly.forEach(function (r) { rings.push(r); }); });
    polyItems[P.eligible[i] ? "candidates" : "excluded"].push(
      {key: i, rings: rings, color: P.eligible[i] ? P.cls[i] : 0});
  });
  function parcelTip(i) {
    return el("span", "", P.id[i] + (P.eligible[i] ? " \u00b7 " + fmt(P.score[i], 1) : " \u2715"));
  }
  var shapesOf = {
    excluded: new SitingShapes(polyItems.excluded, [D.excluded_color],
      function (i) { return parcelPopup(D, P, i); }, parcelTip),
    candidates: new SitingShapes(polyItems.candidates, D.score_colors,
      function (i) { return parcelPopup(D, P, i); }, parcelTip)
  };
  excl.addLayer(shapesOf.excluded); scored.addLayer(shapesOf.candidates);
  Object.keys(polyItems).forEach(function (k) {
    polyItems[k].forEach(function (it) { polyOf[it.key] = shapesOf[k]; });
  });
  var dotSets = [["excluded", excl, P.dots_excluded], ["candidates", scored, P.dots_scored]];
  dotSets.forEach(function (d) {
    if (!d[2] || !d[2].x.length) { return; }
    var rows = d[2].rows;
    var dots = new SitingDots(d[2], S, function (k) { return parcelPopup(D, P, rows[k]); });
    dots._rows = rows;
    rows.forEach(function (r, k) { dotOf[r] = [dots, k]; });
    d[1].addLayer(dots);
  });

  // reused buildings: an outline over their parcel colour
  if (P.reuse) {
    var rg = group("reuse", T.reuse_layer, true);
    P.geom.forEach(function (g, i) {
      if (!g || !P.reuse[i]) { return; }
      var l = vec(g, {color: D.reuse_color, weight: 3, dashArray: "6 4", fillOpacity: 0,
        bubblingMouseEvents: false});
      tip(l, "\u267b " + T.reuse + ": " + (P.reuse[i][1] || P.reuse[i][0] || P.id[i]));
      l.bindPopup(function () { return parcelPopup(D, P, i); }, {maxWidth: 460});
      l.addTo(rg);
    });
  }
  // new residential areas: red where no facility serves them
  var N = D.new_areas;
  if (N) {
    var ng = group("new_areas", T.new_areas, true);
    N.geom.forEach(function (g, i) {
      if (!g) { return; }
      var c = N.colors[N.flagged[i]];
      var l = vec(g, {color: c, fillColor: c, weight: N.flagged[i] ? 3 : 2,
        fillOpacity: N.flagged[i] ? 0.3 : 0.15, dashArray: N.flagged[i] ? null : "5 4",
        bubblingMouseEvents: false});
      tip(l, T.new_areas + ": " + N.label[i]);
      l.bindPopup(function () { return tablePopup(N.head, N.rows[i]); }, {maxWidth: 460});
      l.addTo(ng);
    });
  }

  var C = D.catchments, cg = group("catchments", T.catchments, true);
  C.geom.forEach(function (g, i) {
    var l = vec(g, {color: "#e7298a", weight: 1, fillOpacity: 0.08});
    tip(l, C.label[i]); l.addTo(cg);
  });
  var Se = D.selected, sg = group("selected", T.selected, true);
  Se.geom.forEach(function (g, i) {
    var l = vec(g, {color: "#e7298a", weight: 4, fillOpacity: 0, bubblingMouseEvents: false});
    tip(l, Se.label[i]);
    var row_ = idIndex.get(String(Se.id[i]));
    if (row_ !== undefined) {
      l.bindPopup(function () { return parcelPopup(D, P, row_); }, {maxWidth: 460});
    }
    l.addTo(sg);
  });
  var F = D.facilities, fg = group("facilities", T.facilities, true);
  F.geom.forEach(function (g, i) {
    var c = F.childcare[i] ? "#1b7837" : "#5aae61";
    var l = vec(g, {color: c, fillColor: c, weight: 2, fillOpacity: F.childcare[i] ? 0.9 : 0.4});
    tip(l, F.label[i]); l.addTo(fg);
  });

  // one click handler for every dots layer on the map: the nearest dot wins
  map.on("click", function (e) {
    if (state.measuring) { return; }
    var best = null;
    pickers.forEach(function (layer) {
      if (!layer._map) { return; }
      var hit = layer.pick(e.containerPoint);
      if (hit && (!best || hit.d < best.d)) { best = hit; }
    });
    if (best) {
      L.popup({maxWidth: 460}).setLatLng(best.latlng).setContent(best.content()).openOn(map);
    }
  });

  var order = [T.zones, T.hazards, T.demand, T.excluded, T.candidates, T.reuse_layer,
    T.new_areas, T.catchments, T.selected, T.facilities];
  var ordered = {};
  order.forEach(function (k) { if (overlays[k]) { ordered[k] = overlays[k]; } });
  var base = {};
  if (D.tiles && D.tiles.length) { base[D.basemap_name] = basemap; }
  L.control.layers(base, ordered, {collapsed: false}).addTo(map);
  L.control.scale({imperial: false}).addTo(map);

  function find(query) {
    var i = idIndex.get(query);
    if (i === undefined) {
      var q = query.toLowerCase(), sugg = [];
      for (var [id, k] of idIndex) {
        var low = id.toLowerCase();
        if (low === q) { i = k; break; }
        if (q && low.indexOf(q) >= 0 && sugg.length < 8) { sugg.push(id); }
      }
      if (i === undefined) { return {found: false, suggestions: sugg}; }
    }
    var group_ = P.eligible[i] ? scored : excl;
    if (!map.hasLayer(group_)) { group_.addTo(map); }
    var content = parcelPopup(D, P, i);
    if (polyOf[i]) {
      map.fitBounds(polyOf[i].bounds(i), {maxZoom: 18, animate: false});
      L.popup({maxWidth: 460}).setLatLng(polyOf[i].center(i)).setContent(content).openOn(map);
    } else {
      var ll = dotOf[i][0].latLng(dotOf[i][1]);
      map.setView(ll, Math.max(map.getZoom(), 17), {animate: false});
      L.popup({maxWidth: 460}).setLatLng(ll).setContent(content).openOn(map);
    }
    return {found: true, index: i};
  }
  fullscreenControl(map, T);
  var measure = measureControl(map, T, state);
  searchControl(map, T, find);

  function fromHash() {
    var m = /(?:^#|&)parcel=([^&]*)/.exec(window.location.hash || "");
    if (m) { find(decodeURIComponent(m[1])); }
  }
  window.addEventListener("hashchange", fromHash);
  if (D.bounds) { map.fitBounds(D.bounds, {animate: false}); }
  fromHash();
  var api = {map: map, layers: layerByKey, find: find, measure: measure,
    counts: {polygons: Object.keys(polyOf).length, dots: Object.keys(dotOf).length,
      demand: Dm.dots.x.length}};
  window.siting = api;
  document.documentElement.setAttribute("data-siting-ready", "1");
  return api;
}
window.sitingApp = sitingApp;
window.SitingDots = SitingDots;
window.SitingShapes = SitingShapes;
})();
"""
