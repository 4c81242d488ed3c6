"""The screenshot of the main job's report in a real browser: ``benchmarks/report.png``.

    python scripts/screenshot_report.py [--config configs/desk_call.yaml] [--out benchmarks/report.png] [--replace]

Runs ``hedgegym compare`` on the config (into a temporary directory), renders its ``report.html`` in headless
Chromium (``hedgegym.evaluation.browser``: Debian's ``chromium`` package), checks that every figure was decoded and
every table row is there, and writes the screenshot (an existing file is refused unless ``--replace``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "desk_call.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "report.png")
    parser.add_argument("--replace", action="store_true", help="write over an existing screenshot")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.replace:
        parser.error(f"{args.out} exists: pass --replace to take a new one")

    from hedgegym import zoo
    from hedgegym.config import load_config
    from hedgegym.evaluation.browser import render
    from hedgegym.evaluation.reports import compare, default_hedgers, write_outputs

    config = load_config(args.config)
    hedgers = default_hedgers(config) + [zoo.load(entry, config) for entry in zoo.entries_for(config)]
    settings = config.evaluation
    comparison = compare(config, hedgers, settings.n_paths, settings.seed, settings.bootstrap, settings.cao_hull_c)
    comparison.command = f"hedgegym compare --config {args.config.relative_to(ROOT)}"
    with tempfile.TemporaryDirectory() as work:
        written = write_outputs(comparison, Path(work) / "out")
        page = render(Path(work) / "out" / "report.html", screenshot=args.out, window=(1280, 2600))
    figures = sum(path.suffix == ".png" for path in written)
    if len(page.images) != figures or not all(w > 0 and h > 0 for w, h in page.images):
        raise SystemExit(f"the browser decoded {page.images} for {figures} figures")
    print(f"{args.out}: {len(comparison.table)} hedgers, {figures} figures decoded, page {page.width} px wide")
    return 0


if __name__ == "__main__":
    sys.exit(main())
