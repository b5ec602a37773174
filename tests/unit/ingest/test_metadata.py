"""Metadata by allow-list: the stored original keeps capture time, orientation, camera and
colour profile and nothing else; derivatives keep nothing; the check after the scrub is
its own reader; a HEIF is turned by its own transform only; black and white saved as
colour is refused like greyscale."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from tests import images
from tracker.config import Settings
from tracker.ingest import ImageFormat, Limits, Rejected, ingest
from tracker.ingest.decode import BLACK_AND_WHITE
from tracker.ingest.metacheck import foreign_metadata

EMAIL = b"jane.doe@example.com"
UPRIGHT_CORNERS = [images.RED, images.GREEN, images.BLUE, images.WHITE]


@pytest.fixture
def limits() -> Limits:
    return Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]


def _segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def _rich_exif() -> bytes:
    """EXIF as a phone writes it: the kept tags and many that must go."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    exif[0x0131] = "17.4.1"
    exif[0x013B] = "Jane Doe"  # Artist
    exif[0x8298] = "(c) jane.doe@example.com"  # Copyright
    exif[0x010E] = "left cheek, Rua Augusta 12"  # ImageDescription
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = images.EXIF_DATE
    sub[0x9011] = "+01:00"
    sub[0x927C] = b"Apple iOS\x00maker note with a place"  # MakerNote
    sub[0xA430] = "Jane Doe"  # CameraOwnerName
    sub[0xA431] = "SN-123456"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 26.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    return exif.tobytes()


def _corners(rgb: np.ndarray) -> list[tuple[int, ...]]:
    h, w = rgb.shape[:2]
    points = [(h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)]
    return [tuple(int(v) for v in rgb[y, x]) for y, x in points]


def _upright(rgb: np.ndarray) -> bool:
    """Red, green, blue and white corners where images.quadrants() has them (by the
    strongest channel: a colour profile may have shifted the exact values)."""
    tl, tr, bl, br = _corners(rgb)
    return (
        int(np.argmax(tl)) == 0
        and int(np.argmax(tr)) == 1
        and int(np.argmax(bl)) == 2
        and min(br) > 200
        and min(tl) < 120
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_only_the_allowed_metadata_is_kept(fmt: str, limits: Limits) -> None:
    out = io.BytesIO()
    stored = images.stored_for_orientation(images.quadrants(), 6)
    params: dict[str, object] = {"exif": _rich_exif(), "icc_profile": images.display_p3_icc()}
    stored.save(out, format=fmt, **params, **({"lossless": True} if fmt == "WEBP" else {}))
    data = out.getvalue()
    assert foreign_metadata(data, ImageFormat[fmt]), "the fixture carries more than is allowed"
    result = ingest(data, "phone", limits)
    assert foreign_metadata(result.original, ImageFormat[fmt]) == []
    kept = Image.open(io.BytesIO(result.original))
    exif = kept.getexif()
    expected_ifd0 = {0x010F: "Apple", 0x0110: "iPhone 15", 0x0131: "17.4.1", 0x8769: exif.get(0x8769)}
    if fmt != "HEIF":  # libheif reports a HEIF's orientation as 1: it applies its own transform
        expected_ifd0[0x0112] = 6
    assert {k: v for k, v in exif.items() if k != 0x0112 or fmt != "HEIF"} == expected_ifd0
    assert dict(exif.get_ifd(0x8769)) == {0x9003: images.EXIF_DATE, 0x9011: "+01:00"}
    assert kept.info.get("icc_profile") == images.display_p3_icc()
    for secret in (EMAIL, b"Jane Doe", b"Rua Augusta", b"SN-123456", b"maker note"):
        assert secret not in result.original
    assert result.camera == "Apple iPhone 15 17.4.1" and result.icc_profile == "Display P3 (test)"
    assert _upright(result.rgb)
    uploaded = Image.open(io.BytesIO(data))
    assert np.array_equal(np.asarray(kept.convert("RGB")), np.asarray(uploaded.convert("RGB")))


def test_jpeg_keeps_jfif_icc_and_adobe_and_drops_every_other_segment(limits: Limits) -> None:
    jpeg = images.encode(images.quadrants(), "JPEG", icc=images.display_p3_icc())
    adobe = _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")
    extra = [
        _segment(0xFE, b"call me: " + EMAIL),
        _segment(0xE5, b"RMETA\x00 vendor block " + EMAIL),
        _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x08\x1c\x02\x5a\x00\x03Rio"),
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + EMAIL + b"</x:xmpmeta>"),
        _segment(0xEF, b"unknown"),
    ]
    data = jpeg[:2] + adobe + b"".join(extra) + jpeg[2:] + b"\x1c\x02\x5a\x00\x06Lisbon"  # IPTC after EOI
    result = ingest(data, "edited.jpg", limits)
    assert EMAIL not in result.original and b"Lisbon" not in result.original and b"Rio" not in result.original
    assert adobe in result.original and b"\xff\xe0\x00\x10JFIF\x00" in result.original
    assert Image.open(io.BytesIO(result.original)).info.get("icc_profile") == images.display_p3_icc()
    assert images.image_data(result.original, "JPEG") == images.image_data(jpeg, "JPEG")


def test_the_check_is_its_own_reader_and_names_what_it_finds() -> None:
    """Blocks the scrubber has never heard of are reported by kind, not by name."""
    jpeg = images.encode(images.quadrants(), "JPEG", gps=False)
    odd = jpeg[:2] + _segment(0xE7, b"a vendor's own block") + jpeg[2:]
    assert "an APP7 segment" in foreign_metadata(odd, ImageFormat.JPEG)
    assert "data after the end of the image" in foreign_metadata(jpeg + b"tail", ImageFormat.JPEG)
    png = images.png_with_text(images.quadrants(), "Anything", "any text", zip=False)
    assert "a PNG 'tEXt' chunk" in foreign_metadata(png, ImageFormat.PNG)
    exif = Image.Exif()
    exif[0x013B] = "Jane Doe"
    tagged = images.encode(images.quadrants(), "JPEG", gps=False)
    out = io.BytesIO()
    Image.open(io.BytesIO(tagged)).save(out, format="JPEG", exif=exif.tobytes())
    assert "EXIF tag 0x013B" in foreign_metadata(out.getvalue(), ImageFormat.JPEG)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_derivatives_carry_no_metadata_not_even_a_comment(fmt: str, limits: Limits) -> None:
    data = images.encode(images.quadrants(), fmt, icc=images.display_p3_icc(), xmp=True)
    if fmt == "JPEG":
        data = data[:2] + _segment(0xFE, b"contact " + EMAIL) + data[2:]
        assert Image.open(io.BytesIO(data)).info["comment"] == b"contact " + EMAIL
    result = ingest(data, "x", limits)
    for derivative in (result.display_jpeg, result.thumbnail_jpeg):
        image = Image.open(io.BytesIO(derivative))
        assert EMAIL not in derivative and b"London" not in derivative
        assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progressive"}
        assert foreign_metadata(derivative, ImageFormat.JPEG) == []
        assert not image.getexif()


def _heif_with_rotation(orientation_in_exif: int | None, xmp: bytes | None = None) -> bytes:
    """A HEIF whose own transform (irot, written by pillow_heif from EXIF orientation 6)
    turns the stored pixels upright; its EXIF then says `orientation_in_exif` (None:
    no orientation tag at all) and its XMP says whatever `xmp` says."""
    stored = images.stored_for_orientation(images.quadrants(), 6)
    out = io.BytesIO()
    params: dict[str, object] = {"exif": images.exif_bytes(orientation=6, gps=False), "quality": 92}
    if xmp is not None:
        params["xmp"] = xmp
    stored.save(out, format="HEIF", **params)
    data = bytearray(out.getvalue())
    assert b"irot" in data
    entry = struct.pack(">HHIH", 0x0112, 3, 1, 6)  # pillow_heif writes big-endian EXIF
    at = data.index(entry)
    if orientation_in_exif is None:
        data[at : at + 2] = struct.pack(">H", 0x0128)  # the tag becomes ResolutionUnit
    else:
        data[at + 8 : at + 10] = struct.pack(">H", orientation_in_exif)
    return bytes(data)


@pytest.mark.parametrize("exif_says", [1, 3, 6, 8])
def test_a_heif_is_turned_by_its_own_transform_whatever_its_exif_says(exif_says: int, limits: Limits) -> None:
    result = ingest(_heif_with_rotation(exif_says), "phone.heic", limits)
    assert _upright(result.rgb)
    assert _upright(np.asarray(Image.open(io.BytesIO(result.display_jpeg))))


def test_a_heif_orientation_in_xmp_does_not_turn_it_again(limits: Limits) -> None:
    """EXIF without an orientation and XMP that says 8 (a form pillow_heif does not clear,
    which Pillow's exif_transpose then applied on top of the HEIF's own rotation)."""
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/"><tiff:Orientation>8 </tiff:Orientation>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    data = _heif_with_rotation(None, xmp)
    result = ingest(data, "phone.heic", limits)
    assert (result.width, result.height) == (640, 480)
    assert _upright(result.rgb)
    assert _upright(np.asarray(Image.open(io.BytesIO(result.display_jpeg))))


def _skin(saturation: float, seed: int = 1) -> Image.Image:
    """A face-like patch: skin tone with shading and pores, its colour scaled towards grey."""
    rng = np.random.default_rng(seed)
    h, w = 480, 640
    shade = np.linspace(0.75, 1.05, w)[None, :, None] * np.linspace(0.9, 1.0, h)[:, None, None]
    rgb = np.array([205.0, 150.0, 130.0]) * shade + rng.normal(0, 4, (h, w, 1))
    grey = rgb.mean(axis=2, keepdims=True)
    out = grey + saturation * (rgb - grey)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "HEIF"])
def test_black_and_white_saved_as_colour_is_refused_like_greyscale(fmt: str, limits: Limits) -> None:
    mono = _skin(0.0).convert("L").convert("RGB")  # a Mono filter: three equal channels
    data = images.encode(mono, fmt, gps=False)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    with pytest.raises(Rejected) as refused:
        ingest(data, "mono.jpg", limits)
    assert str(refused.value) == BLACK_AND_WHITE


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_a_very_desaturated_colour_photo_is_accepted(fmt: str, limits: Limits) -> None:
    pale = _skin(0.12)  # about an eighth of a normal skin's colour
    result = ingest(images.encode(pale, fmt, gps=False), "pale.jpg", limits)
    assert result.rgb[..., 0].mean() > result.rgb[..., 2].mean()
