"""report.html as a user sees it: rendered by headless Chromium (skipped where the machine has none; ``.ci/run``
installs Debian's), every table row and every image present and decoded, and a screenshot."""

from __future__ import annotations

import pytest

from hedgegym.config import parse_config
from hedgegym.evaluation.browser import find_chromium, render
from hedgegym.evaluation.reports import compare, write_outputs

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium on this machine (apt install chromium)")

CONFIG = {"name": "browser_check", "market": {"model": "gbm"},
          "book": [{"strike": 100, "maturity": 0.1, "quantity": -5}],
          "hedging": {"hedge_options": [{"strike": 105, "maturity": 0.2}]},
          "simulation": {"n_steps": 10}, "costs": {"proportional": {"stock": 0.001, "options": 0.01}}}


def test_report_renders_in_a_real_browser_with_its_tables_and_figures(tmp_path):
    comparison = compare(parse_config(CONFIG), n_paths=300, bootstrap=50)
    written = write_outputs(comparison, tmp_path / "out")
    page = render(tmp_path / "out" / "report.html", screenshot=tmp_path / "report.png", window=(1280, 1600))
    figures = [path for path in written if path.suffix == ".png"]
    assert len(page.images) == len(figures) >= 5
    assert all(width > 400 and height > 200 for width, height in page.images)  # each decoded, not a broken icon
    versions = 8  # the versions table: python and seven packages
    assert page.table_rows == len(comparison.table) + versions
    for name in comparison.table.index:
        assert f"<td>{name}</td>" in page.dom
    shot = page.screenshot.read_bytes()
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 50_000


def test_a_broken_image_is_seen_as_broken(tmp_path):
    """The check above can fail: an image the browser cannot decode reads 0 × 0."""
    page_path = tmp_path / "broken.html"
    page_path.write_text("<!DOCTYPE html><html><body><img src='data:image/png;base64,AAAA'></body></html>")
    assert render(page_path).images == ((0, 0),)
