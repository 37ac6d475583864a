"""Render the fixture report to an HTML file and photograph it at phone and desktop width.

    python scripts/screenshot_report.py [--out-dir /tmp] [--language nl|en]

Writes report.html, report-phone.png (390 px wide) and report-desktop.png (1280 px wide) to
the output folder, with headless Chromium (Debian package ``chromium``). The screenshots
are cut off below the end of the page, so they show the whole report and nothing more.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sociaalwerk_publisher.reports import render_report  # noqa: E402
from tests.fixtures.report_data import make_report  # noqa: E402

WIDTHS = {"phone": 390, "desktop": 1280}
#: tall enough for the whole fixture report at phone width; the empty rest is cut off
HEIGHT = 9000
BACKGROUND = (243, 240, 235)  # the e-mail's page colour, #F3F0EB


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("chromium is missing: apt-get update && apt-get install -y --no-install-recommends chromium")


def screenshot(html: Path, png: Path, width: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={width},{HEIGHT}",
             f"--screenshot={png}", html.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    trim(png)


def trim(png: Path) -> None:
    """Cut the page colour off below the report, leaving a margin."""
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        bottom = height
        while bottom > 1 and all(rgb.getpixel((x, bottom - 1)) == BACKGROUND for x in range(0, width, 7)):
            bottom -= 1
        if bottom >= height:
            print(f"warning: {png} may be cut off; raise HEIGHT", file=sys.stderr)
        rgb.crop((0, 0, width, min(height, bottom + 24))).save(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--language", default="nl", choices=("nl", "en"))
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    html = args.out_dir / "report.html"
    html.write_text(render_report(make_report(args.language), for_file=True).html, encoding="utf-8")
    for name, width in WIDTHS.items():
        png = args.out_dir / f"report-{name}.png"
        screenshot(html, png, width)
        print(png)


if __name__ == "__main__":
    main()
