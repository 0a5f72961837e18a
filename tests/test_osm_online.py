"""Tests for the online path: :func:`siting.sources.layers_from_osmnx` and area_from_place.

Never live: ``requests.get``/``requests.post`` (what osmnx calls) are replaced by a fake
Overpass and Nominatim serving pyrosm's real Karhula extract, and DNS lookups by a stub.
The fake Overpass evaluates osmnx's features query itself (each ``[key]`` or
``[key=value]`` statement on nodes, ways and relations in the polygon, with ``(._;>;)``
recursion), so a tag the query forgets is missing from the answer and the layers then
differ from those of the extract read offline for the same area.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import pytest
import requests
import shapely
from shapely.geometry import LineString, Polygon, mapping

from siting import DataSourceError, InputDataError
from siting.boundary import area_from_place
from siting.sources import LAYER_NAMES, OVERPASS_TAGS, layers_from_osm, layers_from_osmnx

#: Study area inside Karhula (the same quadrilateral as in test_sources).
AREA = Polygon([(26.935, 60.522), (26.962, 60.523), (26.966, 60.537), (26.940, 60.535)])
STATUS = (
    "Connected as: 1\nCurrent time: 2024-01-01T00:00:00Z\nAnnounced endpoint: none\n"
    "Rate limit: 2\n2 slots available now.\nCurrently running queries:\n"
)
_STATEMENT = re.compile(
    r"\((node|way|relation)\[(['\"])(.*?)\2(?:=(['\"])(.*?)\4)?\]"
    r"\(poly:(['\"])(.*?)\6\);\(\._;>;\);\);"
)
_KIND = {"node": "n", "way": "w", "relation": "r"}
_NAME = {"n": "node", "w": "way", "r": "relation"}


def _response(url: str, status: int, *, payload: Any = None, text: str = "") -> Any:
    response = requests.Response()
    response.status_code = status
    response.url = url
    response.reason = "OK" if status == 200 else "Internal Server Error"
    response._content = (json.dumps(payload) if payload is not None else text).encode()
    response.encoding = "utf-8"
    return response


class FakeWeb:
    """Overpass and Nominatim answering from one OSM extract, counting the requests."""

    def __init__(self, pbf: Path) -> None:
        self.nodes: dict[int, tuple[float, float, dict[str, str]]] = {}
        self.ways: dict[int, tuple[list[int], dict[str, str]]] = {}
        self.relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]] = {}
        for obj in osmium.FileProcessor(str(pbf)):
            tags = {t.k: t.v for t in obj.tags}
            if obj.is_node():
                self.nodes[obj.id] = (obj.location.lon, obj.location.lat, tags)
            elif obj.is_way():
                self.ways[obj.id] = ([n.ref for n in obj.nodes], tags)
            else:
                members = [(m.type, m.ref, m.role) for m in obj.members]
                self.relations[obj.id] = (members, tags)
        self.requests: list[tuple[str, str, Any]] = []
        self.overpass: Any = None  # None: answer the query; else a (status, payload, text)
        self.places: list[dict[str, Any]] = [self.place(AREA)]
        self.queried_keys: set[str] = set()

    @staticmethod
    def place(geometry: Any) -> dict[str, Any]:
        left, bottom, right, top = geometry.bounds
        centre = geometry.centroid
        return {
            "place_id": 1,
            "osm_type": "relation",
            "osm_id": 424242,
            "boundingbox": [str(bottom), str(top), str(left), str(right)],
            "lat": str(centre.y),
            "lon": str(centre.x),
            "display_name": "Karhula, Kotka, Finland",
            "class": "boundary",
            "type": "administrative",
            "importance": 0.5,
            "geojson": mapping(geometry),
        }

    # --- HTTP ---------------------------------------------------------------------

    def get(self, url: str, params: Any = None, **_: Any) -> Any:
        self.requests.append(("GET", url, params))
        if url.endswith("/status"):
            return _response(url, 200, text=STATUS)
        if url.endswith("/search"):
            return _response(url, 200, payload=self.places)
        msg = f"unexpected GET {url}"
        raise AssertionError(msg)

    def post(self, url: str, data: Any = None, **_: Any) -> Any:
        self.requests.append(("POST", url, data))
        if not url.endswith("/interpreter"):
            msg = f"unexpected POST {url}"
            raise AssertionError(msg)
        if self.overpass is not None:
            status, payload, text = self.overpass
            if isinstance(status, Exception):
                raise status
            return _response(url, status, payload=payload, text=text)
        return _response(url, 200, payload=self.answer(data["data"]))

    # --- a small Overpass ---------------------------------------------------------

    def _matches(self, tags: dict[str, str], key: str, value: str | None) -> bool:
        return key in tags and (value is None or tags[key] == value)

    def _way_line(self, way: int) -> Any:
        refs = [r for r in self.ways[way][0] if r in self.nodes]
        coords = [self.nodes[r][:2] for r in refs]
        return LineString(coords) if len(coords) >= 2 else None

    def answer(self, query: str) -> dict[str, Any]:
        statements = _STATEMENT.findall(query)
        assert statements, query
        out: set[tuple[str, int]] = set()
        for kind, _, key, equals, text, _, poly_text in statements:
            self.queried_keys.add(key)
            value = text if equals else None  # [key] or [key=value]
            numbers = [float(v) for v in poly_text.split()]
            poly = Polygon(list(zip(numbers[1::2], numbers[0::2], strict=True)))
            if kind == "node":
                for nid, (lon, lat, tags) in self.nodes.items():
                    if self._matches(tags, key, value) and poly.covers(shapely.Point(lon, lat)):
                        out.add(("n", nid))
            elif kind == "way":
                for wid, (_, tags) in self.ways.items():
                    if self._matches(tags, key, value):
                        line = self._way_line(wid)
                        if line is not None and line.intersects(poly):
                            out |= {("w", wid)} | {("n", r) for r in self.ways[wid][0]}
            else:
                for rid, (members, tags) in self.relations.items():
                    if not self._matches(tags, key, value):
                        continue
                    inside = False
                    for mtype, ref, _ in members:
                        if mtype == "n" and ref in self.nodes:
                            inside |= poly.covers(shapely.Point(*self.nodes[ref][:2]))
                        elif mtype == "w" and ref in self.ways:
                            line = self._way_line(ref)
                            inside |= line is not None and line.intersects(poly)
                    if inside:
                        out.add(("r", rid))
                        for mtype, ref, _ in members:
                            out.add((mtype, ref))
                            if mtype == "w" and ref in self.ways:
                                out |= {("n", r) for r in self.ways[ref][0]}
        return {"version": 0.6, "generator": "fake", "elements": self._elements(out)}

    def _elements(self, keys: set[tuple[str, int]]) -> list[dict[str, Any]]:
        elements = []
        for kind, oid in sorted(keys, key=lambda k: ("nwr".index(k[0]), k[1])):
            if kind == "n" and oid in self.nodes:
                lon, lat, tags = self.nodes[oid]
                elements.append({"type": "node", "id": oid, "lat": lat, "lon": lon, "tags": tags})
            elif kind == "w" and oid in self.ways:
                refs, tags = self.ways[oid]
                elements.append({"type": "way", "id": oid, "nodes": refs, "tags": tags})
            elif kind == "r" and oid in self.relations:
                members, tags = self.relations[oid]
                listed = [{"type": _NAME[t], "ref": r, "role": role} for t, r, role in members]
                elements.append({"type": "relation", "id": oid, "members": listed, "tags": tags})
        for element in elements:
            if not element["tags"]:
                del element["tags"]
        return elements


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch, karhula_pbf: Path) -> Iterator[FakeWeb]:
    fake = FakeWeb(karhula_pbf)
    monkeypatch.setattr(requests, "get", fake.get)
    monkeypatch.setattr(requests, "post", fake.post)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        msg = "tests never touch the network"
        raise AssertionError(msg)

    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)  # osmnx replaces it
    yield fake


@pytest.fixture(scope="module")
def offline(karhula_pbf: Path) -> dict[str, gpd.GeoDataFrame]:
    return layers_from_osm(karhula_pbf, area=AREA)


def _canonical(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(layer.drop(columns="geometry")).astype(object)
    frame = frame.where(frame.notna(), None).astype(str)
    frame["wkb"] = shapely.to_wkb(layer.geometry.to_numpy(), hex=True)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _assert_same_layers(
    got: dict[str, gpd.GeoDataFrame], want: dict[str, gpd.GeoDataFrame]
) -> None:
    assert set(got) == set(want) == set(LAYER_NAMES)
    for name, layer in want.items():
        assert list(got[name].columns) == list(layer.columns), name
        pd.testing.assert_frame_equal(_canonical(got[name]), _canonical(layer), obj=name)


def _settings() -> dict[str, Any]:
    keys = ("use_cache", "cache_folder", "overpass_url", "nominatim_url", "requests_timeout")
    return {k: getattr(ox.settings, k) for k in keys}


# --- the same layers as offline ----------------------------------------------------------


def test_online_layers_equal_the_extracts(
    web: FakeWeb, offline: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    layers = layers_from_osmnx(AREA, cache_folder=tmp_path / "cache")
    _assert_same_layers(layers, offline)
    amenities = layers["amenities"]
    assert (amenities["amenity"] == "fuel").sum() == (
        offline["amenities"]["amenity"] == "fuel"
    ).sum()
    assert (amenities["amenity"] == "fuel").sum() >= 1
    assert len(layers["power"]) == len(offline["power"]) >= 1
    assert len(layers["walk_edges"]) > 400
    assert web.queried_keys == set(OVERPASS_TAGS)
    posts = [r for r in web.requests if r[0] == "POST"]
    assert len(posts) == 1
    assert posts[0][1] == ox.settings.overpass_url.rstrip("/") + "/interpreter"


def test_online_by_place_name(
    web: FakeWeb, offline: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    layers = layers_from_osmnx("Karhula, Kotka, Finland", cache_folder=tmp_path / "cache")
    _assert_same_layers(layers, offline)
    searches = [r for r in web.requests if r[1].endswith("/search")]
    assert len(searches) == 1
    assert searches[0][2]["q"] == "Karhula, Kotka, Finland"


def test_area_from_place(web: FakeWeb, tmp_path: Path) -> None:
    area = area_from_place("Karhula, Kotka, Finland", cache_folder=tmp_path)
    assert list(area.columns) == ["name", "osm_type", "osm_id", "geometry"]
    assert area.crs.to_epsg() == 4326
    assert area["name"].iloc[0] == "Karhula, Kotka, Finland"
    assert area.geometry.iloc[0].equals_exact(AREA, 1e-12)


def test_saved_pbf_reads_back(
    web: FakeWeb, offline: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    saved = tmp_path / "out" / "karhula-online.osm.pbf"
    layers_from_osmnx(AREA, cache_folder=tmp_path / "cache", save_pbf=saved)
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]
    _assert_same_layers(layers_from_osm(saved, area=AREA), offline)


# --- osmnx's cache ---------------------------------------------------------------------


def test_cache_answers_a_repeat(
    web: FakeWeb, offline: dict[str, gpd.GeoDataFrame], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = layers_from_osmnx("Karhula", cache_folder=cache)
    asked = len(web.requests)
    assert asked >= 2  # the geocoder, the status endpoint, the query
    cached = sorted(cache.glob("*.json"))
    assert len(cached) == 2  # the Nominatim and the Overpass answers
    second = layers_from_osmnx("Karhula", cache_folder=cache)
    assert len(web.requests) == asked  # nothing asked again
    _assert_same_layers(second, first)
    _assert_same_layers(second, offline)


def test_without_cache_nothing_is_saved(web: FakeWeb, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    layers_from_osmnx(AREA, cache_folder=cache, use_cache=False)
    layers_from_osmnx(AREA, cache_folder=cache, use_cache=False)
    assert len([r for r in web.requests if r[0] == "POST"]) == 2
    assert not cache.exists() or list(cache.iterdir()) == []


def test_settings_restored(web: FakeWeb, tmp_path: Path) -> None:
    before = _settings()
    layers_from_osmnx(AREA, cache_folder=tmp_path, overpass_url="https://example.org/api")
    assert _settings() == before
    assert web.requests[-1][1] == "https://example.org/api/interpreter"
    web.overpass = (500, None, "<html>busy</html>")
    with pytest.raises(DataSourceError):
        layers_from_osmnx(AREA, cache_folder=tmp_path / "other", timeout_s=5)
    assert _settings() == before


# --- errors: one clear error, nothing written ----------------------------------------------


def test_http_error(web: FakeWeb, tmp_path: Path) -> None:
    web.overpass = (500, None, "<html>Internal Server Error</html>")
    saved = tmp_path / "saved.osm.pbf"
    with pytest.raises(DataSourceError, match="Overpass API") as info:
        layers_from_osmnx(AREA, cache_folder=tmp_path / "cache", save_pbf=saved)
    assert "500" in str(info.value)
    assert isinstance(info.value, OSError)
    assert not saved.exists()
    assert list((tmp_path / "cache").glob("*.json")) == []


def test_connection_error(web: FakeWeb, tmp_path: Path) -> None:
    web.overpass = (requests.ConnectionError("no route to host"), None, "")
    with pytest.raises(DataSourceError, match="internet connection"):
        layers_from_osmnx(AREA, cache_folder=tmp_path)


def test_overpass_timeout_remark(web: FakeWeb, tmp_path: Path) -> None:
    poly = " ".join(f"{lat:.6f} {lon:.6f}" for lon, lat in AREA.exterior.coords)
    partial = web.answer(f"((node['amenity'](poly:'{poly}');(._;>;);););out;")
    assert partial["elements"]
    partial["remark"] = 'runtime error: Query timed out in "query" at line 1 after 180 seconds.'
    web.overpass = (200, partial, "")
    saved = tmp_path / "saved.osm.pbf"
    with pytest.raises(DataSourceError, match="stopped the query"):
        layers_from_osmnx(AREA, cache_folder=tmp_path / "cache", save_pbf=saved)
    assert not saved.exists()


def test_area_without_osm_data(web: FakeWeb, tmp_path: Path) -> None:
    fuxin = (121.5, 41.9, 121.8, 42.1)
    with pytest.raises(InputDataError, match="no OSM data inside the study area"):
        layers_from_osmnx(fuxin, cache_folder=tmp_path)


def test_unknown_place(web: FakeWeb, tmp_path: Path) -> None:
    web.places = []
    with pytest.raises(InputDataError, match="found no place 'Atlantis'"):
        layers_from_osmnx("Atlantis", cache_folder=tmp_path)
    assert not [r for r in web.requests if r[0] == "POST"]


def test_place_known_only_as_a_point(web: FakeWeb, tmp_path: Path) -> None:
    web.places = [FakeWeb.place(shapely.Point(26.95, 60.53))]
    with pytest.raises(InputDataError, match="only as a point"):
        area_from_place("Karhula bus stop", cache_folder=tmp_path)


def test_fake_overpass_answers_only_what_is_asked(web: FakeWeb) -> None:
    # the check behind the tests above: a query without `power` gets no power lines
    poly = " ".join(f"{lat:.6f} {lon:.6f}" for lon, lat in AREA.exterior.coords)
    answer = web.answer(f"((way['highway'](poly:'{poly}');(._;>;);););out;")
    tags = [e.get("tags", {}) for e in answer["elements"] if e["type"] == "way"]
    assert tags
    assert all("highway" in t for t in tags)
    assert not any("power" in t for t in tags)
    nodes = np.array([(e["lon"], e["lat"]) for e in answer["elements"] if e["type"] == "node"])
    assert len(nodes) > 100
