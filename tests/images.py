"""Real image files for tests, made with real encoders (Pillow, pillow-heif).

`quadrants()` is an upright picture whose four corners have different colours, so any
wrong rotation or mirror is visible; `encode()` writes it in a given format with EXIF
(orientation, capture date, GPS) and XMP as a phone would.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pillow_heif
from PIL import Image, PngImagePlugin

pillow_heif.register_heif_opener()

RED, GREEN, BLUE, WHITE = (220, 30, 30), (30, 200, 40), (30, 40, 210), (245, 245, 245)
TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_INVERSE = {
    Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
}
XMP_WITH_LOCATION = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
    'exif:GPSLatitude="51,30.0N" exif:GPSLongitude="0,7.5W" photoshop:City="London">'
    "<exif:GPSAltitude>12/1</exif:GPSAltitude>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>" + " " * 200 + '<?xpacket end="w"?>'
)
EXIF_DATE = "2026:05:04 09:41:27"


def quadrants(width: int = 640, height: int = 480) -> Image.Image:
    arr = np.empty((height, width, 3), np.uint8)
    h2, w2 = height // 2, width // 2
    arr[:h2, :w2], arr[:h2, w2:] = RED, GREEN
    arr[h2:, :w2], arr[h2:, w2:] = BLUE, WHITE
    return Image.fromarray(arr)


def noisy(width: int = 640, height: int = 480, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores so that applying `orientation` shows `upright`."""
    if orientation == 1:
        return upright
    method = TRANSPOSE_FOR_ORIENTATION[orientation]
    return upright.transpose(_INVERSE.get(method, method))


def exif_bytes(orientation: int = 1, date: str | None = EXIF_DATE, gps: bool = True) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    if date:
        exif.get_ifd(0x8769)[0x9003] = date
    if gps:
        exif[0x8825] = {
            0: b"\x02\x02\x00\x00",
            1: "N",
            2: (51.0, 30.0, 26.5),
            3: "W",
            4: (0.0, 7.0, 39.0),
            6: 12.5,
        }
    return exif.tobytes()


def encode(
    image: Image.Image,
    fmt: str,
    *,
    orientation: int = 1,
    date: str | None = EXIF_DATE,
    gps: bool = True,
    xmp: bool = False,
    icc: bytes | None = None,
    quality: int = 92,
) -> bytes:
    """`fmt` is a Pillow format name: JPEG, PNG, WEBP or HEIF."""
    out = io.BytesIO()
    params: dict[str, object] = {"exif": exif_bytes(orientation, date, gps)}
    if fmt in ("JPEG", "WEBP", "HEIF"):
        params["quality"] = quality
    if fmt == "WEBP":
        params["lossless"] = True
        params.pop("quality")
    if xmp and fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP_WITH_LOCATION)
        params["pnginfo"] = info
    elif xmp:
        params["xmp"] = XMP_WITH_LOCATION.encode()
    if icc:
        params["icc_profile"] = icc
    image.save(out, format=fmt, **params)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height` (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def animated(fmt: str, frames: int = 3) -> bytes:
    images = [quadrants(320, 320).rotate(90 * i) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def display_p3_icc() -> bytes:
    """A minimal ICC v2 Display P3 profile (D50-adapted colorants, sRGB tone curve).

    Built here rather than shipped so the test has no opaque binary fixture; the
    colorants are the Bradford-adapted P3 primaries published in Apple's profile.
    """

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\x00" * 4 + s15(x) + s15(y) + s15(z)

    # parametric curve type 3: the sRGB transfer function exactly
    para = b"para" + b"\x00" * 4 + struct.pack(">HH", 3, 0)
    para += b"".join(s15(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    desc_text = b"Display P3 (test)\x00"
    desc = b"desc" + b"\x00" * 4 + struct.pack(">I", len(desc_text)) + desc_text
    desc += b"\x00" * 4 + b"\x00" * 4 + b"\x00" * 2 + b"\x00" + b"\x00" * 67
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.964203, 1.0, 0.824905)),
        (b"rXYZ", xyz(0.515121, 0.241196, -0.001053)),
        (b"gXYZ", xyz(0.291977, 0.692245, 0.041885)),
        (b"bXYZ", xyz(0.157104, 0.066574, 0.784073)),
        (b"rTRC", para),
        (b"gTRC", para),
        (b"bTRC", para),
        (b"cprt", b"text" + b"\x00" * 4 + b"public domain\x00"),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        pad = (-len(data)) % 4
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\x00" * pad
    size = 128 + table_len + len(body)
    header = struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\x00" * 12 + b"acsp" + b"APPL" + b"\x00" * 4
    header += b"\x00" * 8 + b"\x00" * 8 + struct.pack(">I", 0)
    header += s15(0.9642) + s15(1.0) + s15(0.8249) + b"\x00" * 4
    header += b"\x00" * (128 - len(header))
    return header + table + body


def png_with_text(image: Image.Image, keyword: str, text: str, *, zip: bool, itxt: bool = False) -> bytes:
    """A PNG carrying one text chunk (tEXt, zTXt or iTXt, compressed or not)."""
    info = PngImagePlugin.PngInfo()
    if itxt:
        info.add_itxt(keyword, text, zip=zip)
    else:
        info.add_text(keyword, text, zip=zip)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def raw_profile(name: str, payload: bytes) -> str:
    """ImageMagick's "Raw profile type <name>" text: name, length, then hex in lines of 72."""
    hexed = payload.hex()
    lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    return f"\n{name}\n{len(payload):8d}\n{lines}\n"


def iptc_datasets(fields: dict[tuple[int, int], bytes]) -> bytes:
    return b"".join(b"\x1c" + bytes(key) + struct.pack(">H", len(v)) + v for key, v in fields.items())


def jpeg_with_iptc(jpeg: bytes, fields: dict[tuple[int, int], bytes]) -> bytes:
    """`jpeg` with a Photoshop APP13 segment (as Lightroom writes) holding IPTC `fields`."""
    iptc = iptc_datasets(fields)
    resource = b"8BIM\x04\x04" + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\x00" * (len(iptc) % 2)
    body = b"Photoshop 3.0\x00" + resource
    segment = b"\xff\xed" + struct.pack(">H", len(body) + 2) + body
    return jpeg[:2] + segment + jpeg[2:]


def image_data(data: bytes, fmt: str) -> bytes:
    """The compressed image data of a file, without its metadata: what must stay byte for
    byte when metadata is reduced. JPEG: everything from the first quantisation table on;
    PNG: the IDAT chunks; WebP: the VP8/VP8L/ALPH chunks; HEIF: its length (metadata is
    rewritten in place there, so every offset and length is kept)."""
    if fmt == "JPEG":
        return data[data.index(b"\xff\xdb") :]
    if fmt == "PNG":
        return b"".join(_chunks(data, 8, ">", {b"IDAT"}))
    if fmt == "WEBP":
        return b"".join(_chunks(data, 12, "<", {b"VP8 ", b"VP8L", b"ALPH"}))
    return bytes(len(data))


def _chunks(data: bytes, pos: int, order: str, kinds: set[bytes]) -> list[bytes]:
    out = []
    while pos + 8 <= len(data):
        if order == ">":
            (length,) = struct.unpack_from(">I", data, pos)
            kind, body, pos = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length], pos + 12 + length
        else:
            kind = data[pos : pos + 4]
            (length,) = struct.unpack_from("<I", data, pos + 4)
            body, pos = data[pos + 8 : pos + 8 + length], pos + 8 + length + (length & 1)
        if kind in kinds:
            out.append(body)
    return out
