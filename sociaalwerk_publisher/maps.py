"""The report's map: mentions per municipality, and per 100,000 inhabitants, side by side.

Drawn with matplotlib from the bundled boundaries (``data/gemeenten-2026.geojson``, RD New,
about 19 vertices per municipality: see ``data/SOURCE.md``), so no GIS library is needed.
Each panel colours the municipalities in a few classes (none, then five steps); the gouden
gemeenten are outlined. The PNG is reduced to a palette of its few colours, which keeps it
small enough to travel inline in an e-mail.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

from .exceptions import ReportError
from .municipalities import ATTRIBUTION, inhabitants, read_data

__all__ = ["STEPS", "breaks", "map_png"]

#: From few to many mentions; municipalities without any are NONE.
STEPS = ("#FCE3D6", "#F7B899", "#F08A62", "#E2572F", "#A93B1B")
NONE = "#ECE8E2"
EDGE = "#FFFFFF"
GOLDEN_EDGE = "#1B2A4A"
INK = "#1B2A4A"
MUTED = "#6B7280"
DPI = 200

LABELS = {
    "nl": {"mentions": "Vermeldingen per gemeente", "density": "Per 100.000 inwoners", "none": "geen",
           "golden": "gouden gemeente", "decimal": ","},
    "en": {"mentions": "Mentions per municipality", "density": "Per 100,000 inhabitants", "none": "none",
           "golden": "golden municipality", "decimal": "."},
}


@cache
def _shapes() -> dict[str, list[list[list[tuple[float, float]]]]]:
    """CBS code to polygons, each a list of rings (exterior first), in RD New metres."""
    shapes: dict[str, list[list[list[tuple[float, float]]]]] = {}
    for feature in json.loads(read_data("gemeenten-2026.geojson"))["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        shapes[feature["properties"]["code"]] = [[[tuple(p) for p in ring] for ring in polygon]
                                                 for polygon in polygons]
    return shapes


def _nice(value: float, *, up: bool = True) -> float:
    """``value`` rounded up (or down) to 1, 2 or 5 times a power of ten (at least 1)."""
    if value <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    steps = [step * power for step in (1, 2, 5, 10)]
    return next(s for s in steps if s >= value) if up else max(s for s in steps if s <= value)


def _floor(value: float) -> float:
    """``value`` rounded down to what the legend shows (a whole number from 10, else one decimal)."""
    return float(math.floor(value)) if value >= 10 else math.floor(value * 10) / 10


def breaks(values: Sequence[float]) -> tuple[float, ...]:
    """Lower bounds of the five classes for ``values`` above 0: round numbers that split them
    roughly into fifths (fewer classes when there are few different values).

    Every bound is a number as the legend shows it, so two classes never read alike
    ("0,3-0,3"): the lowest is rounded down, the others are round and above it."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return ()
    bounds = [_floor(positive[0])]
    for share in (0.2, 0.4, 0.6, 0.8):
        candidate = positive[min(len(positive) - 1, int(share * len(positive)))]
        if candidate >= 1:  # rounded up, or down where up would pass the largest value
            candidate = _nice(candidate) if _nice(candidate) <= positive[-1] else _nice(candidate, up=False)
        else:
            candidate = round(candidate, 1)
        if bounds[-1] < candidate <= positive[-1]:
            bounds.append(candidate)
    return tuple(bounds)


def _class(value: float, bounds: Sequence[float]) -> int:
    """-1 for 0, else the index of the class ``value`` falls in."""
    if value <= 0 or not bounds:
        return -1
    return max(i for i, low in enumerate(bounds) if value >= low)


def _number(value: float, language: str) -> str:
    text = f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return text.replace(",", "\x00").replace(".", LABELS[language]["decimal"]).replace(
        "\x00", "." if language == "nl" else ",")


def _legend(bounds: Sequence[float], top: float, language: str, whole: bool) -> list[str]:
    labels = []
    for i, low in enumerate(bounds):
        high = bounds[i + 1] if i + 1 < len(bounds) else None
        if high is None:
            labels.append(f"{_number(low, language)}+" if low < top else _number(low, language))
        elif whole and high - 1 <= low:
            labels.append(_number(low, language))
        elif whole:
            labels.append(f"{_number(low, language)}–{_number(high - 1, language)}")
        else:
            labels.append(f"{_number(low, language)}–{_number(high, language)}")
    return labels


def map_png(counts: Mapping[str, int], *, golden: Collection[str] = (), only: Collection[str] | None = None,
            language: str = "nl") -> bytes:
    """Two choropleths of ``counts`` (mentions per CBS code) as one PNG, about 1000 px wide.

    Args:
        golden: CBS codes to outline (the gouden gemeenten).
        only: draw just these municipalities (e.g. a member's region); default all 342.
        language: nl or en, for the titles and the legend.

    Raises:
        ReportError: matplotlib or Pillow is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import PathCollection
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
        from matplotlib.path import Path
        from PIL import Image
    except ImportError as e:
        raise ReportError("matplotlib is needed to draw the report's map: pip install matplotlib") from e

    words = LABELS[language if language in LABELS else "nl"]
    shapes = _shapes()
    codes = [c for c in shapes if only is None or c in only]
    people = inhabitants()
    density = {c: 100_000 * counts.get(c, 0) / people[c] for c in codes}
    paths = {}
    for code in codes:
        vertices: list[tuple[float, float]] = []
        kinds: list[int] = []
        for polygon in shapes[code]:
            for ring in polygon:
                vertices += ring
                kinds += [int(Path.MOVETO)] + [int(Path.LINETO)] * (len(ring) - 2) + [int(Path.CLOSEPOLY)]
        paths[code] = Path(vertices, kinds)
    xs = [x for c in codes for p in shapes[c] for x, _ in p[0]]
    ys = [y for c in codes for p in shapes[c] for _, y in p[0]]
    width, height = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0

    figure = Figure(figsize=(5.0, 2.5 * height / width + 0.8), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    panels: list[tuple[str, Mapping[str, float], bool]] = [
        (words["mentions"], {c: float(counts.get(c, 0)) for c in codes}, True), (words["density"], density, False)]
    for index, (title, values, whole) in enumerate(panels):
        axes = figure.add_axes((index * 0.5 + 0.005, 0.16, 0.49, 0.76))
        axes.set_axis_off()
        axes.set_aspect("equal")
        bounds = breaks(list(values.values()))
        if whole:
            bounds = tuple(dict.fromkeys(math.ceil(b) for b in bounds))
        # fewer classes than steps: spread them over the ramp from its dark end, so the class
        # of the most mentioned is always the darkest, also when it is the only one
        last = len(STEPS) - 1
        ramp = [STEPS[last - round((len(bounds) - 1 - i) * last / max(1, len(bounds) - 1))]
                for i in range(len(bounds))]
        colours = [NONE if _class(values[c], bounds) < 0 else ramp[_class(values[c], bounds)] for c in codes]
        axes.add_collection(PathCollection([paths[c] for c in codes], facecolors=colours, edgecolors=EDGE,
                                           linewidths=0.25))
        outlined = [paths[c] for c in codes if c in golden]
        if outlined:
            axes.add_collection(PathCollection(outlined, facecolors="none", edgecolors=GOLDEN_EDGE, linewidths=1.1))
        margin = 0.02 * max(width, height)
        axes.set_xlim(min(xs) - margin, max(xs) + margin)
        axes.set_ylim(min(ys) - margin, max(ys) + margin)
        axes.set_title(title, fontsize=10, color=INK, fontweight="bold", loc="left", pad=4)
        handles = [Patch(facecolor=NONE, edgecolor="none", label=words["none"])]
        handles += [Patch(facecolor=ramp[i], edgecolor="none", label=label)
                    for i, label in enumerate(_legend(bounds, max(values.values(), default=0), language, whole))]
        if outlined and index == 1:
            handles.append(Patch(facecolor="white", edgecolor=GOLDEN_EDGE, linewidth=1.1, label=words["golden"]))
        figure.legend(handles=handles, loc="lower left", bbox_to_anchor=(index * 0.5 + 0.005, 0.03), ncol=3,
                      frameon=False, fontsize=8, handlelength=1.1, handleheight=0.9, columnspacing=0.7,
                      handletextpad=0.4, labelcolor=INK)
    figure.text(0.995, 0.005, ATTRIBUTION, ha="right", va="bottom", fontsize=6.5, color=MUTED)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return _palette(buffer.getvalue(), Image)


def _palette(png: bytes, image_module: Any) -> bytes:
    """``png`` with a palette of 256 colours: a third of the size, and the same to the eye (the
    octree keeps every flat colour, also those of a few small municipalities)."""
    with image_module.open(io.BytesIO(png)) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=image_module.Quantize.FASTOCTREE, dither=0)
        out = io.BytesIO()
        reduced.save(out, format="PNG", optimize=True)
        return out.getvalue()
