"""Location metadata in the places phones, editors and converters put it: each is removed
from the stored original, the image data is kept byte for byte, and what cannot be removed
is refused rather than stored."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, IptcImagePlugin

from tests import images
from tracker.config import Settings
from tracker.ingest import ImageFormat, Limits, Rejected, ingest
from tracker.ingest.location import remaining_location, strip_location

CITY, COUNTRY, CAPTION = (2, 90), (2, 101), (2, 120)


@pytest.fixture
def limits() -> Limits:
    return Limits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]


def _chunks(png: bytes, kind: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos + 12 <= len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        if png[pos + 4 : pos + 8] == kind:
            out.append(png[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return out


def _exif_payload() -> bytes:
    return b"Exif\x00\x00" + images.exif_bytes()


@pytest.mark.parametrize(("zipped", "itxt"), [(True, True), (False, True), (True, False), (False, False)])
def test_xmp_location_in_any_png_text_chunk_is_removed(zipped: bool, itxt: bool, limits: Limits) -> None:
    xmp = images.XMP_WITH_LOCATION
    data = images.png_with_text(images.quadrants(), "XML:com.adobe.xmp", xmp, zip=zipped, itxt=itxt)
    assert "GPSLatitude" in Image.open(io.BytesIO(data)).text["XML:com.adobe.xmp"], "fixture must carry it"
    result = ingest(data, "x.png", limits)
    kept = Image.open(io.BytesIO(result.original))
    xmp = kept.text["XML:com.adobe.xmp"]
    assert "GPS" not in xmp and "London" not in xmp
    assert xmp.startswith("<?xpacket") and "rdf:Description" in xmp  # still an XMP packet
    assert _chunks(result.original, b"IDAT") == _chunks(data, b"IDAT")  # image data untouched
    assert np.array_equal(np.asarray(kept.convert("RGB")), np.asarray(images.quadrants()))


@pytest.mark.parametrize("zipped", [True, False])
def test_imagemagick_raw_exif_profile_loses_gps_and_keeps_the_date(zipped: bool, limits: Limits) -> None:
    text = images.raw_profile("exif", _exif_payload())
    data = images.png_with_text(images.quadrants(), "Raw profile type exif", text, zip=zipped)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "Pillow reads GPS from the fixture"
    result = ingest(data, "converted.png", limits)
    kept = Image.open(io.BytesIO(result.original)).getexif()
    assert kept.get_ifd(0x8825) == {}
    assert kept.get_ifd(0x8769).get(0x9003) == images.EXIF_DATE and kept.get(0x010F) == "TestCam"
    assert result.taken_at is not None
    assert _chunks(result.original, b"IDAT") == _chunks(data, b"IDAT")


def test_iptc_place_names_are_blanked_and_other_iptc_kept(limits: Limits) -> None:
    jpeg = images.encode(images.noisy(), "JPEG", gps=False)
    fields = {CITY: b"Lisbon", COUNTRY: b"Portugal", CAPTION: b"cheek, week 3"}
    data = images.jpeg_with_iptc(jpeg, fields)
    assert IptcImagePlugin.getiptcinfo(Image.open(io.BytesIO(data)))[CITY] == b"Lisbon"
    result = ingest(data, "edited.jpg", limits)
    info = IptcImagePlugin.getiptcinfo(Image.open(io.BytesIO(result.original)))
    assert info[CITY].strip() == b"" and info[COUNTRY].strip() == b""
    assert info[CAPTION] == b"cheek, week 3"
    assert len(result.original) == len(data)
    scan = data.index(b"\xff\xda")  # from the start of scan on, the compressed pixels
    assert result.original[scan:] == data[scan:]


def test_bare_iptc_in_a_raw_profile_is_blanked() -> None:
    payload = images.iptc_datasets({CITY: b"Lisbon", CAPTION: b"ok"})
    text = images.raw_profile("iptc", payload)
    data = images.png_with_text(images.quadrants(), "Raw profile type iptc", text, zip=True)
    found = remaining_location(data, ImageFormat.PNG, None)
    assert found == ["location in the PNG text chunk 'Raw profile type iptc'"]
    cleaned = strip_location(data, ImageFormat.PNG, None)
    assert remaining_location(cleaned, ImageFormat.PNG, None) == []
    kept = Image.open(io.BytesIO(cleaned)).text["Raw profile type iptc"]
    hexed = "".join(kept.split("\n")[3:])
    assert bytes.fromhex(hexed) == images.iptc_datasets({CITY: b"      ", CAPTION: b"ok"})


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_what_remains_is_reported_before_and_nothing_after(fmt: str) -> None:
    data = images.encode(images.quadrants(), fmt, xmp=fmt != "HEIF")
    kind = ImageFormat[fmt]
    exif = Image.open(io.BytesIO(data)).info.get("exif")
    before = remaining_location(data, kind, exif)
    assert "GPS position in EXIF" in before
    xmp_found = any(r == "location in XMP" or "'XML:com.adobe.xmp'" in r for r in before)
    assert xmp_found == (fmt != "HEIF")
    cleaned = strip_location(data, kind, exif)
    assert remaining_location(cleaned, kind, exif) == []
    assert strip_location(cleaned, kind, exif) == cleaned  # a second pass finds nothing to do


def test_a_text_chunk_that_inflates_past_the_limit_is_refused(limits: Limits) -> None:
    bomb = zlib.compress(b"<x:xmpmeta " + b" " * (9 * 1024 * 1024), 9)
    png = images.encode(images.quadrants(), "PNG", gps=False)
    chunk_data = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + bomb
    chunk = struct.pack(">I", len(chunk_data)) + b"iTXt" + chunk_data
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + chunk_data) & 0xFFFFFFFF)
    data = png[:33] + chunk + png[33:]  # right after IHDR
    with pytest.raises(Rejected, match="larger than 1 MB"):  # our own guard, before any decoder
        strip_location(data, ImageFormat.PNG, None)
    with pytest.raises(Rejected, match="larger than 1 MB"):
        ingest(data, "odd.png", limits)


def test_a_raw_profile_that_is_not_hex_is_cleaned_as_plain_text() -> None:
    text = "\nxmp\n     300\n" + images.XMP_WITH_LOCATION  # a broken profile: XMP where hex belongs
    data = images.png_with_text(images.quadrants(), "Raw profile type xmp", text, zip=True)
    assert remaining_location(data, ImageFormat.PNG, None)
    cleaned = strip_location(data, ImageFormat.PNG, None)
    assert remaining_location(cleaned, ImageFormat.PNG, None) == []
    kept = Image.open(io.BytesIO(cleaned)).text["Raw profile type xmp"]
    assert kept.startswith("\nxmp\n     300\n<?xpacket") and "London" not in kept  # not re-encoded as hex
