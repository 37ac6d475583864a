"""The report's map: every municipality, coloured by its mentions, small and quick to draw."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from sociaalwerk_publisher.maps import GOLDEN_EDGE, NONE, STEPS, breaks, map_png
from sociaalwerk_publisher.municipalities import inhabitants, municipalities


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    with Image.open(io.BytesIO(png)) as image:
        return {colour for _, colour in image.convert("RGB").getcolors(1 << 20)}


def _near(colour: tuple[int, int, int], colours: set[tuple[int, int, int]]) -> bool:
    return any(all(abs(a - b) <= 3 for a, b in zip(colour, c)) for c in colours)


def test_the_bundled_boundaries_and_inhabitants_cover_all_342_municipalities() -> None:
    from sociaalwerk_publisher.maps import _shapes

    assert set(_shapes()) == set(municipalities()) == set(inhabitants())
    assert len(municipalities()) == 342 and sum(inhabitants().values()) == 17_942_942


def test_a_national_map_is_small_and_drawn_quickly() -> None:
    counts = {code: i % 40 for i, code in enumerate(sorted(municipalities()))}
    map_png({}, language="nl")  # the boundaries are read once per process
    started = time.perf_counter()
    png = map_png(counts, golden={"GM0479", "GM0363"})
    took = time.perf_counter() - started
    assert png.startswith(b"\x89PNG") and len(png) <= 150 * 1024
    assert took < 2.0


def test_municipalities_without_mentions_are_grey_and_the_most_mentioned_darkest() -> None:
    colours = _colours(map_png({"GM0363": 40, "GM0193": 1}))
    assert _near(_rgb(NONE), colours) and _near(_rgb(STEPS[-1]), colours) and _near(_rgb(STEPS[0]), colours)


def test_one_class_alone_is_the_darkest_not_the_palest() -> None:
    colours = _colours(map_png({"GM0363": 1, "GM0193": 1}))  # each 1 mention: the most there is
    assert _near(_rgb(STEPS[-1]), colours) and not _near(_rgb(STEPS[0]), colours)


def test_the_gouden_gemeenten_are_outlined() -> None:
    with_outline = _colours(map_png({}, golden={"GM0479"}))
    assert _near(_rgb(GOLDEN_EDGE), with_outline)
    assert len(with_outline) > len(_colours(map_png({})))  # the outline and its legend entry


def test_a_map_of_some_municipalities_draws_just_those() -> None:
    whole = map_png({"GM0479": 3})
    region = map_png({"GM0479": 3}, only={"GM0479", "GM0363", "GM0453"})
    assert region != whole and region.startswith(b"\x89PNG")


@pytest.mark.parametrize("values, expected", [
    ([0, 0, 0], ()),
    ([1, 1, 1], (1,)),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], (1, 5, 10)),  # quintiles 3, 5, 7, 9 rounded up to 5 and 10
    ([0.5, 0.5, 3.2, 12.0, 40.0], (0.5, 5, 20)),  # never above the largest value
    ([0.27, 0.77], (0.2, 0.3)),  # legend "0,2-0,3" and "0,3+", never "0,3-0,3" and "0,3+"
    ([12.4, 30.0], (12, 20)),
    ([1, 40], (1, 20)),  # 50 would pass 40: rounded down, so 1 and 40 never share a class
])
def test_the_classes_split_the_values_into_round_steps(values: list[float], expected: tuple[float, ...]) -> None:
    assert breaks(values) == expected


def test_english_maps_have_english_words() -> None:
    assert map_png({"GM0363": 2}, language="en") != map_png({"GM0363": 2}, language="nl")
