"""Benchmarks for siting: ``python -m benchmarks [--quick] [--parcels N] [--hazards M]``.

Modules: :mod:`benchmarks.data` (deterministic test data tiled from the demo OSM areas),
:mod:`benchmarks.constraints` (the constraint stage against the buffer-and-union GIS recipe
and against the GeoPackage read floor). See ``benchmarks/README.md``.
"""
