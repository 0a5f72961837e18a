"""Map benchmark: ``map.html`` of a 100,000-parcel study, its size and how it behaves in Chromium.

``map_100k``
    The study: ``scripts/make_big_study.py`` (the two real-OSM demo studies, with building
    plots as extra candidates, tiled to N parcels; real criteria, compliance cards, hazards,
    demand). *Ours*: :func:`siting.maps.result_map` (``basemap="none"``) saved to a file:
    build time, size (target <= 15 MB), then in headless Chromium with the network cut off
    (``benchmarks/browser.py``): load time until the map is drawn (navigation to
    ``window.siting`` ready, median of ``--repeat`` page loads), the time of a zoom step in,
    in, out and of a pan until the next two animation frames (median), and of a search by
    parcel id that opens a popup. *Peer*: what an analyst gets from geopandas,
    ``candidates[["parcel_id", "score", "geometry"]].explore(column="score")`` (one Folium
    GeoJSON of every parcel, Leaflet inlined the same way so that it can load offline): build
    time, size and load time. Agreement: both pages draw every parcel (ours: polygons + dots
    == N; the peer: its GeoJSON features == N).

Run: ``python -m benchmarks --case map [--parcels 100000] [--repeat 3] [--no-peer]``.
Results: ``benchmarks/results-map.json``; the pages stay in ``out/bench-map/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.browser import PageError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_MB = 15.0

__all__ = ["main", "measure_page", "run"]

_ZOOM_PAN = """(async () => {
  const m = window.siting.map, out = [], frame = () => new Promise(
    r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const z = m.getZoom();
  for (const target of [z + 1, z + 2, z]) {
    const t0 = performance.now(); m.setZoom(target, {animate: false}); await frame();
    out.push(performance.now() - t0);
  }
  const t0 = performance.now(); m.panBy([300, 200], {animate: false}); await frame();
  out.push(performance.now() - t0);
  return out;
})()"""


def measure_page(
    page: Path,
    *,
    ready: str,
    repeat: int,
    interact: bool,
    search_id: str = "",
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Load ``page`` ``repeat`` times in a fresh headless Chromium and time it."""
    from benchmarks.browser import Chromium

    loads, steps, search = [], [], []
    errors: list[str] = []
    requests: list[str] = []
    counts = None
    for _ in range(repeat):
        with Chromium(width=1280, height=860) as browser:
            loads.append(browser.open(page.as_uri(), ready=ready, timeout=timeout))
            if interact:
                steps.append(browser.evaluate(_ZOOM_PAN))
                t0 = time.perf_counter()
                assert browser.evaluate(f"window.siting.find({json.dumps(search_id)}).found")
                search.append(time.perf_counter() - t0)
                counts = browser.evaluate("window.siting.counts")
            else:
                counts = browser.evaluate(
                    "(() => { let n = 0; for (const k in window) { const v = window[k];"
                    " if (k.startsWith('geo_json_') && v && v.getLayers)"
                    " n += v.getLayers().length; } return {features: n}; })()"
                )
            errors += browser.errors()
            requests += [u for u in browser.requests() if u != page.as_uri()]
    out: dict[str, Any] = {
        "load_s": [round(x, 3) for x in loads],
        "load_median_s": round(statistics.median(loads), 3),
        "counts": counts,
        "console_errors": errors[:10],
        "other_requests": requests[:10],
    }
    if interact:
        zoom = [ms for run in steps for ms in run[:3]]
        pan = [run[3] for run in steps]
        out.update(
            zoom_step_ms=[round(x, 1) for x in zoom],
            zoom_step_median_ms=round(statistics.median(zoom), 1),
            pan_ms=[round(x, 1) for x in pan],
            pan_median_ms=round(statistics.median(pan), 1),
            search_popup_median_s=round(statistics.median(search), 3),
        )
    return out


def _peer_page(result: Any, path: Path) -> float:
    """geopandas' explore() of every parcel, with Leaflet inlined instead of CDN links."""
    from branca.element import Element

    from siting.maps import leaflet_assets

    t0 = time.perf_counter()
    cand = result.candidates[["parcel_id", "score", "geometry"]]
    fmap = cand.explore(column="score", tiles=None, tooltip=["parcel_id", "score"], legend=False)
    fmap.default_js = []
    fmap.default_css = []
    for child in fmap._children.values():  # folium keeps its children here
        child_js = getattr(child, "default_js", None)
        if child_js:
            child.default_js = []
            child.default_css = []
    css, js = leaflet_assets()
    fmap.get_root().header.add_child(Element(f"<style>{css}</style><script>{js}</script>"))
    html = fmap.get_root().render()
    html = html.replace('<script src="https://cdn.jsdelivr.net/npm/jquery', "<!-- ")
    path.write_text(html, encoding="utf-8")
    return time.perf_counter() - t0


def run(
    n_parcels: int, *, repeat: int, peer: bool, out_dir: Path, peer_budget: float = 600.0
) -> dict[str, Any]:
    """Build the study and both pages, and measure them."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_big_study import big_study

    from siting.maps import result_map

    t0 = time.perf_counter()
    result = big_study(n_parcels)
    build_study = time.perf_counter() - t0
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "map.html"
    t0 = time.perf_counter()
    result_map(result, basemap="none").save(str(page))
    build = time.perf_counter() - t0
    size_mb = page.stat().st_size / 1e6
    print(f"  ours: map.html {size_mb:.2f} MB, built in {build:.1f} s; loading in Chromium …")
    low = result.candidates.sort_values("rank", na_position="last")["parcel_id"]
    ours = measure_page(page, ready="window.siting && window.siting.map", repeat=repeat,
                        interact=True, search_id=str(low.iloc[len(low) // 2]))  # fmt: skip
    ours.update(build_s=round(build, 2), size_mb=round(size_mb, 2), page=str(page))
    case: dict[str, Any] = {
        "study": {"parcels": len(result.candidates), "eligible": int(result.candidates[
            "eligible"].sum()), "demand_points": len(result.demand),
            "hazards": len(result.hazards), "build_s": round(build_study, 1)},
        "ours": ours,
        "target_mb": TARGET_MB,
        "met": size_mb <= TARGET_MB and not ours["console_errors"],
    }  # fmt: skip
    drawn = (ours["counts"] or {}).get("polygons", 0) + (ours["counts"] or {}).get("dots", 0)
    case["agreement"] = {"parcels": len(result.candidates), "ours_drawn": drawn}
    if peer:
        ppage = out_dir / "peer-explore.html"
        pbuild = _peer_page(result, ppage)
        psize = ppage.stat().st_size / 1e6
        print(f"  peer: explore() {psize:.2f} MB, built in {pbuild:.1f} s; loading …")
        try:
            theirs = measure_page(ppage, ready="document.querySelector('.leaflet-interactive')",
                                  repeat=1, interact=False, timeout=peer_budget)  # fmt: skip
        except PageError as err:
            theirs = {"load_median_s": None, "counts": None, "not_ready": str(err)[:300],
                      "budget_s": peer_budget}  # fmt: skip
        theirs.update(build_s=round(pbuild, 2), size_mb=round(psize, 2), page=str(ppage))
        case["peer"] = theirs
        case["agreement"]["peer_drawn"] = (theirs["counts"] or {}).get("features")
        case["ratio_size"] = round(psize / size_mb, 2)
        if theirs["load_median_s"] is not None:
            case["ratio_load"] = round(theirs["load_median_s"] / ours["load_median_s"], 2)
    return case


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks --case map", description=__doc__)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="page loads of ours (median)")
    ap.add_argument("--no-peer", action="store_true", help="skip geopandas explore()")
    ap.add_argument("--peer-budget", type=float, default=600.0, help="seconds the peer may load")
    ap.add_argument("--out", type=Path, default=HERE / "results-map.json")
    args = ap.parse_args(argv)
    from benchmarks.__main__ import machine, versions

    started = dt.datetime.now(dt.UTC)
    print(f"map_100k: {args.parcels:,} parcels")
    case = run(args.parcels, repeat=args.repeat, peer=not args.no_peer,
               out_dir=ROOT / "out" / "bench-map", peer_budget=args.peer_budget)  # fmt: skip
    o = case["ours"]
    print(
        f"  => ours {o['size_mb']:.2f} MB (target <= {TARGET_MB:g} MB: "
        f"{'met' if case['met'] else 'NOT met'}), load {o['load_median_s']:.2f} s (median of "
        f"{len(o['load_s'])}), zoom step {o['zoom_step_median_ms']:.0f} ms, pan "
        f"{o['pan_median_ms']:.0f} ms, search + popup {o['search_popup_median_s']:.2f} s; "
        f"drawn {case['agreement']['ours_drawn']:,} of {case['agreement']['parcels']:,}"
    )
    if "peer" in case:
        p = case["peer"]
        load = (
            f"load {p['load_median_s']:.2f} s; ours loads {case['ratio_load']}x faster"
            if p["load_median_s"] is not None
            else f"not drawn within {p['budget_s']:g} s"
        )
        print(
            f"  => peer explore() {p['size_mb']:.2f} MB ({case['ratio_size']}x ours), {load};"
            f" peer drew {case['agreement']['peer_drawn']} features"
        )
    record = {
        "benchmark": "siting map: map.html of a large study",
        "started_utc": started.isoformat(timespec="seconds"),
        "command": "python -m benchmarks --case map "
        + " ".join(sys.argv[3:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "cases": {"map_100k": case},
    }
    args.out.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}")
    return 0 if case["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
