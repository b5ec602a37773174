"""The Record page's face diagram: measured on the drawn pixels, not on the code that draws."""

from __future__ import annotations

import base64
import functools
import io

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from tracker.domain import FaceRegion
from tracker.ui.face_diagram import (
    BACKGROUND,
    FACE_HEIGHT,
    describe,
    draw_face_diagram,
    shapes_px,
)
from tracker.ui.inline import png_data_uri
from tracker.ui.zone_drawing import REFERENCE_COLOUR, TREATED_COLOUR

WIDTH = 400
F = FaceRegion


FACE_PX = round(FACE_HEIGHT * WIDTH / 100)  # the face part's height; the legend is below


@functools.cache
def _mask(region: FaceRegion, erode: int = 5) -> NDArray[np.bool_]:
    """The region's inside in the face part, shrunk by `erode` px so smoothed edges are not
    counted."""
    img = Image.new("L", (WIDTH, FACE_PX), 0)
    pen = ImageDraw.Draw(img)
    for shape in shapes_px(WIDTH)[region]:
        pen.polygon(shape, fill=255)
    for _ in range(erode):
        img = img.filter(ImageFilter.MinFilter(3))
    return np.asarray(img) > 0


def _share(out: NDArray[np.uint8], mask: NDArray[np.bool_], colour: tuple[int, int, int]) -> float:
    """Of the pixels under `mask`, the share that has `colour`. The rest is the region's
    name: up to a third of the small area around the mouth; an outline alone gives ~0."""
    pixels = out[mask].astype(int)
    return float((np.abs(pixels - np.array(colour)).max(axis=1) <= 3).mean())


def _draw(treated: list[FaceRegion], reference: list[FaceRegion] | None) -> NDArray[np.uint8]:
    out = np.asarray(draw_face_diagram(treated, reference, width=WIDTH).convert("RGB"))
    assert out.shape[0] > FACE_PX and out.shape[1] == WIDTH
    return out


@pytest.mark.parametrize("region", list(FaceRegion))
def test_a_treated_region_is_filled_with_the_treated_colour_and_the_rest_stay_white(
    region: FaceRegion,
) -> None:
    face = _draw([region], None)[:FACE_PX]
    assert _share(face, _mask(region), TREATED_COLOUR) > 0.6
    for other in FaceRegion:
        if other is not region:
            assert _share(face, _mask(other), BACKGROUND) > 0.7, other


def test_the_reference_has_its_own_colour_and_a_region_given_as_both_is_drawn_treated() -> None:
    face = _draw([F.LEFT_CHEEK, F.RIGHT_CHEEK], [F.FOREHEAD, F.LEFT_CHEEK])[:FACE_PX]
    assert _share(face, _mask(F.FOREHEAD), REFERENCE_COLOUR) > 0.6
    assert _share(face, _mask(F.LEFT_CHEEK), TREATED_COLOUR) > 0.6
    assert _share(face, _mask(F.CHIN), BACKGROUND) > 0.7


def _has(out: NDArray[np.uint8], colour: tuple[int, int, int]) -> bool:
    return bool((np.abs(out.astype(int) - np.array(colour)).max(axis=2) <= 3).any())


def test_an_automatic_reference_colours_nothing_blue_and_the_legend_follows_the_choice() -> None:
    automatic = _draw([F.LEFT_CHEEK], None)
    assert not _has(automatic, REFERENCE_COLOUR)
    chosen = _draw([F.LEFT_CHEEK], [F.NECK])
    legend = chosen[FACE_PX:]
    assert _has(legend, REFERENCE_COLOUR) and _has(legend, TREATED_COLOUR)  # both swatches
    assert chosen.shape[0] > automatic.shape[0]  # one more legend row: "Not treated"


def test_the_clients_left_is_on_the_right_of_the_picture() -> None:
    """A frontal view: the client faces the viewer, so their left cheek is on our right."""
    middle = WIDTH / 2
    shapes = shapes_px(WIDTH)
    assert all(x > middle for shape in shapes[F.LEFT_CHEEK] for x, _ in shape)
    assert all(x < middle for shape in shapes[F.RIGHT_CHEEK] for x, _ in shape)
    face = _draw([F.LEFT_CHEEK], None)[:FACE_PX]
    assert _share(face, _mask(F.LEFT_CHEEK), TREATED_COLOUR) > 0.6
    assert not _has(face[:, : WIDTH // 2], TREATED_COLOUR)  # nothing magenta on the picture's left
    mirrored = [(WIDTH - x, y) for x, y in shapes[F.LEFT_CHEEK][0]]  # the two cheeks are mirror images
    assert np.allclose(sorted(mirrored), sorted(shapes[F.RIGHT_CHEEK][0]))


def test_regions_do_not_overlap() -> None:
    count = sum(_mask(r, erode=0).astype(int) for r in FaceRegion)
    assert count.max() == 1


def test_the_diagram_in_words() -> None:
    assert describe([F.RIGHT_CHEEK, F.FOREHEAD], None) == (
        "Treated: Forehead, Right cheek. Reference: chosen automatically from untreated skin in each photo."
    )
    assert describe([F.NOSE], [F.CHIN]) == "Treated: Nose. Reference: Chin."


def test_the_picture_is_inlined_as_a_small_png() -> None:
    picture = draw_face_diagram([F.NOSE], None, width=640)
    uri = png_data_uri(picture)
    assert uri.startswith("data:image/png;base64,") and len(uri) < 80_000
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decoded.size == picture.size
