from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from tests import images
from tracker.config import Settings
from tracker.ingest import ImageFormat, Limits, Rejected, ingest

FORMATS = ["JPEG", "PNG", "WEBP", "HEIF"]
LOSSLESS = {"PNG", "WEBP"}


@pytest.fixture
def limits() -> Limits:
    return Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]


def _decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _corner_colours(rgb: np.ndarray) -> list[tuple[int, ...]]:
    h, w = rgb.shape[:2]
    points = [(h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    return [tuple(int(v) for v in rgb[y, x]) for y, x in points]


def _close(actual: list[tuple[int, ...]], expected: list[tuple[int, int, int]], tol: int = 12) -> bool:
    return all(
        abs(a - e) <= tol
        for pa, pe in zip(actual, expected, strict=True)
        for a, e in zip(pa, pe, strict=True)
    )


UPRIGHT_CORNERS = [images.RED, images.GREEN, images.BLUE, images.WHITE]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_accepted_and_decoded_exactly(fmt: str, limits: Limits) -> None:
    source = images.noisy(640, 480) if fmt in LOSSLESS else images.quadrants(640, 480)
    data = images.encode(source, fmt)
    result = ingest(data, f"photo.{fmt.lower()}", limits)
    assert result.format is ImageFormat(fmt.lower())
    assert (result.width, result.height) == (640, 480)
    # The analysis decode equals an independent decode of what was uploaded.
    assert np.array_equal(result.rgb, np.asarray(_decode(data).convert("RGB")))
    if fmt in LOSSLESS:
        assert np.array_equal(result.rgb, np.asarray(source))
    # The stored original decodes to the very same pixels: reducing metadata altered no pixel.
    assert np.array_equal(np.asarray(_decode(result.original).convert("RGB")), result.rgb)
    assert images.image_data(result.original, fmt) == images.image_data(data, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_ends_upright(fmt: str, orientation: int, limits: Limits) -> None:
    stored = images.stored_for_orientation(images.quadrants(640, 480), orientation)
    data = images.encode(stored, fmt, orientation=orientation)
    result = ingest(data, "phone.jpg", limits)
    assert (result.width, result.height) == (640, 480)
    assert _close(_corner_colours(result.rgb), UPRIGHT_CORNERS)
    for derivative in (result.display_jpeg, result.thumbnail_jpeg):
        image = _decode(derivative)
        assert image.width > image.height
        assert image.getexif().get(0x0112) in (None, 1)
        assert _close(_corner_colours(np.asarray(image)), UPRIGHT_CORNERS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_gps_is_removed_and_capture_time_kept(fmt: str, limits: Limits) -> None:
    data = images.encode(images.quadrants(), fmt, xmp=fmt != "HEIF")
    assert _decode(data).getexif().get_ifd(0x8825), "fixture must carry GPS"
    result = ingest(data, "x.jpg", limits)
    assert result.taken_at == datetime(2026, 5, 4, 9, 41, 27)
    kept = _decode(result.original).getexif()
    assert kept.get_ifd(0x8825) == {}
    assert kept.get_ifd(0x8769).get(0x9003) == images.EXIF_DATE  # capture date survives
    assert kept.get(0x010F) == "TestCam"  # and the rest of the metadata
    assert b"GPSLatitude" not in result.original and b"London" not in result.original
    for derivative in (result.display_jpeg, result.thumbnail_jpeg):
        assert not _decode(derivative).getexif()


def test_capture_time_is_none_without_exif_date(limits: Limits) -> None:
    data = images.encode(images.quadrants(), "JPEG", date=None)
    assert ingest(data, "x.jpg", limits).taken_at is None


def test_unset_camera_clock_is_ignored(limits: Limits) -> None:
    data = images.encode(images.quadrants(), "JPEG", date="0000:00:00 00:00:00")
    assert ingest(data, "x.jpg", limits).taken_at is None


def test_display_p3_photo_is_converted_to_srgb(limits: Limits) -> None:
    colour = pytest.importorskip("colour")
    p3 = (180, 120, 100)
    data = images.encode(Image.new("RGB", (400, 300), p3), "PNG", icc=images.display_p3_icc())
    result = ingest(data, "p3.png", limits)
    expected = colour.RGB_to_RGB(
        np.array(p3) / 255, "Display P3", "sRGB", apply_cctf_decoding=True, apply_cctf_encoding=True
    )
    assert np.abs(result.rgb[150, 200] - expected * 255).max() <= 1.5
    assert result.icc_profile == "Display P3 (test)"
    # The original keeps its profile: it is the provenance record.
    assert _decode(result.original).info.get("icc_profile") == images.display_p3_icc()


def test_derivatives_are_bounded_jpegs(limits: Limits) -> None:
    data = images.encode(images.noisy(3000, 2000), "PNG")
    result = ingest(data, "big.png", limits)
    display, thumb = _decode(result.display_jpeg), _decode(result.thumbnail_jpeg)
    assert display.format == thumb.format == "JPEG"
    assert max(display.size) == limits.display_long_edge
    assert max(thumb.size) == limits.thumbnail_long_edge
    assert display.size[0] / display.size[1] == pytest.approx(1.5, abs=0.01)


def test_transparent_png_is_flattened_on_white(limits: Limits) -> None:
    rgba = Image.new("RGBA", (300, 300), (10, 20, 30, 0))  # transparent right half
    rgba.paste((200, 120, 100, 255), (0, 0, 150, 300))  # an opaque skin tone on the left
    result = ingest(images.encode(rgba, "PNG", gps=False), "a.png", limits)
    assert tuple(result.rgb[5, 295]) == (255, 255, 255)
    assert tuple(result.rgb[5, 5]) == (200, 120, 100)


def test_decompression_bomb_warning_is_an_error_not_a_print(limits: Limits) -> None:
    # 70 MP is above the 64 MP limit but below Pillow's hard 2x error threshold: only the
    # warning fires, and it must still stop the decode.
    data = images.png_claiming(10_000, 7_000)
    with pytest.raises(Rejected, match="10000 × 7000 px"):
        ingest(data, "bomb.png", limits)


def test_greyscale_photo_is_refused(limits: Limits) -> None:
    grey = Image.new("L", (400, 300), 128)
    with pytest.raises(Rejected, match="black-and-white"):
        ingest(images.encode(grey, "PNG", gps=False), "g.png", limits)
