"""A real browser for the reports: headless Chromium renders ``report.html`` as a person would see it — the DOM after
rendering (with what the browser measured of every image) and a screenshot.

Chromium comes from the system (Debian's ``chromium`` package; ``.ci/run`` installs it), not from a download at run
time: ``find_chromium`` returns ``None`` where there is none, and the tests that need it skip. It is started with the
flags a closed network needs (no background networking, no component updates, no sync, no QUIC) and a fresh profile
directory, sandboxless only when running as root (Chromium refuses root with its sandbox on).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RenderedPage", "find_chromium", "render"]

_FLAGS = ("--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--hide-scrollbars")
_PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(i => `${i.naturalWidth}x${i.naturalHeight}`);
  document.body.setAttribute("data-images", images.join(","));
  document.body.setAttribute("data-rows", document.querySelectorAll("tbody tr").length);
  document.body.setAttribute("data-width", document.documentElement.scrollWidth);
});
</script>"""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on this machine, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass(frozen=True)
class RenderedPage:
    """What the browser made of a page: ``images`` ((width, height) of every ``<img>`` as decoded: (0, 0) for one
    that failed), ``table_rows`` (``<tbody>`` rows), ``width`` (the document's scroll width, px), ``dom`` (the HTML
    after rendering), ``screenshot`` (the PNG's path, when asked for)."""

    images: tuple[tuple[int, int], ...]
    table_rows: int
    width: int
    dom: str
    screenshot: Path | None


def _command(chromium: str, profile: str) -> list[str]:
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    return [chromium, *_FLAGS, *sandbox, f"--user-data-dir={profile}"]


def render(page: str | Path, screenshot: str | Path | None = None, window: tuple[int, int] = (1280, 2400),
           chromium: str | None = None, timeout: float = 60.0) -> RenderedPage:
    """Render ``page`` (an HTML file) in headless Chromium: read back its DOM with every image's decoded size (a probe
    script is added to a temporary copy; the file itself is not touched) and, with ``screenshot``, write a PNG of
    ``window`` (width, height) pixels.

    Raises:
        FileNotFoundError: no Chromium (``find_chromium``) or no ``page``; ``subprocess.CalledProcessError`` /
            ``TimeoutExpired`` when the browser fails; ``ValueError`` when the probe's attributes are missing.
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium on this machine (install Debian's chromium package)")
    page = Path(page).resolve()
    text = page.read_text()
    with tempfile.TemporaryDirectory(prefix="hedgegym-browser-") as work:
        probed = Path(work) / page.name
        probed.write_text(text.replace("</body>", _PROBE + "</body>") if "</body>" in text else text + _PROBE)
        profile = str(Path(work) / "profile")
        dom = subprocess.run([*_command(chromium, profile), "--virtual-time-budget=5000", "--dump-dom",
                              probed.as_uri()], check=True, capture_output=True, text=True, timeout=timeout).stdout
        if screenshot is not None:
            screenshot = Path(screenshot).resolve()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([*_command(chromium, profile), f"--window-size={window[0]},{window[1]}",
                            f"--screenshot={screenshot}", page.as_uri()], check=True, capture_output=True,
                           timeout=timeout)
    match = re.search(r'<body[^>]*data-images="([^"]*)"[^>]*>', dom)
    body = re.search(r"<body([^>]*)>", dom)
    attributes = dict(re.findall(r'(data-[a-z]+)="([^"]*)"', body.group(1))) if body else {}
    if match is None or "data-rows" not in attributes:
        raise ValueError("the browser ran no probe: the page's DOM lacks its data-images / data-rows attributes")
    images = tuple(tuple(int(x) for x in size.split("x")) for size in attributes["data-images"].split(",") if size)
    return RenderedPage(images, int(attributes["data-rows"]), int(attributes.get("data-width", 0)), dom,
                        screenshot)
