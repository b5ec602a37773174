"""Safe decode of one uploaded file: the single entry point used by the app and the CLI.

Order matters: cheap checks (size, name, magic bytes, header dimensions) run before any
pixel is decoded, so a hostile file costs almost nothing. Everything is validated before
anything is stored; this module writes nothing.
"""

from __future__ import annotations

import io
import logging
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

from tracker.ingest.container import layout
from tracker.ingest.metacheck import foreign_metadata
from tracker.ingest.metadata import reduce_metadata
from tracker.ingest.sniff import ACCEPTED_TEXT, ImageFormat, Rejected, sniff

log = logging.getLogger(__name__)
pillow_heif.register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow's decompression-bomb warning must stop a decode, never just print (design §4).
warnings.simplefilter("error", Image.DecompressionBombWarning)

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_DATETIME = 0x0132
_SRGB = ImageCms.createProfile("sRGB")


MB = 1024 * 1024


class LimitSettings(Protocol):
    """What the limits are read from (tracker.config.Settings): ingest is pure and does not
    import the configuration."""

    max_upload_bytes: int
    max_pixels: int
    min_short_side: int
    display_long_edge: int
    thumbnail_long_edge: int
    derivative_jpeg_quality: int


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    min_short_side: int
    display_long_edge: int
    thumbnail_long_edge: int
    jpeg_quality: int

    @classmethod
    def from_settings(cls, settings: LimitSettings) -> Limits:
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_pixels,
            min_short_side=settings.min_short_side,
            display_long_edge=settings.display_long_edge,
            thumbnail_long_edge=settings.thumbnail_long_edge,
            jpeg_quality=settings.derivative_jpeg_quality,
        )


@dataclass(frozen=True)
class Ingested:
    """A validated upload, ready to store. `rgb` is the decode the analysis reuses."""

    filename: str
    format: ImageFormat
    original: bytes  # the uploaded file with only the allowed metadata; pixels untouched
    rgb: np.ndarray  # upright, sRGB, uint8, H×W×3
    taken_at: datetime | None  # camera clock from EXIF, naive local time
    icc_profile: str  # description of the embedded profile converted from, "" if none
    display_jpeg: bytes
    thumbnail_jpeg: bytes
    camera: str = ""  # EXIF make, model and software: a change of camera changes colours

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def ingest(data: bytes, filename: str, limits: Limits) -> Ingested:
    """Validate and decode one upload, or raise Rejected with a message for the uploader."""
    name = clean_filename(filename)
    if len(data) > limits.max_bytes:
        raise Rejected(f"The file is {len(data) / MB:.1f} MB; the limit is {limits.max_bytes / MB:.0f} MB.")
    fmt = sniff(data[:4096])
    # The container first (cheap, capped): only then does a decoder see the file, and what
    # it sees is what is stored — the image with only the metadata the product needs (capture
    # time, orientation, colour profile, camera) and without anything after
    # its end (the preview pictures of an MPO, appended data).
    found = layout(data, fmt)
    heif_exif = _heif_exif(data[: found.end], limits) if fmt is ImageFormat.HEIF else None
    try:
        original = reduce_metadata(data, fmt, found, heif_exif)
        left = foreign_metadata(original, fmt)
    except (ValueError, struct.error) as exc:
        raise Rejected(
            "The photo's metadata is damaged, so it could not be reduced safely "
            f"({exc}). Please export the photo again and retry."
        ) from None
    if left:  # never store metadata beyond what the product needs (a place, an address)
        raise Rejected(
            f"The photo's metadata could not be reduced to what is needed ({', '.join(left)} remains). "
            "Please export the photo again without location and retry."
        )
    image = _open(original, fmt, limits)
    try:
        taken_at = _capture_time(image)
        camera = _camera(image)
        upright, icc = _to_upright_srgb(image)
        rgb = np.asarray(upright, dtype=np.uint8)
        if looks_black_and_white(rgb):
            raise Rejected(BLACK_AND_WHITE)
        display = _jpeg(upright, limits.display_long_edge, limits.jpeg_quality)
        thumbnail = _jpeg(upright, limits.thumbnail_long_edge, limits.jpeg_quality)
    except (MemoryError, Rejected):
        raise
    except Exception:  # a decoder's surprise is this file's problem, never the batch's
        log.exception("unexpected error preparing an upload")
        raise Rejected(
            f"The {fmt.name} file could not be read completely; it may be damaged. Please export it again."
        ) from None
    return Ingested(
        filename=name,
        format=fmt,
        original=original,
        rgb=rgb,
        taken_at=taken_at,
        camera=camera,
        icc_profile=icc,
        display_jpeg=display,
        thumbnail_jpeg=thumbnail,
    )


def _heif_exif(data: bytes, limits: Limits) -> bytes | None:
    """The EXIF block libheif finds: where our box parser could not place it, the
    metadata reduction looks for these bytes instead."""
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=["HEIF"]) as image:
            exif = image.info.get("exif")
    except Exception:
        return None  # the decode below says what is wrong with the file
    return exif if isinstance(exif, bytes) else None


def clean_filename(filename: str) -> str:
    """The name is only ever displayed, but a name with a path in it is a sign of a
    tampered request, so it is refused rather than silently trimmed."""
    name = unicodedata.normalize("NFC", filename or "").strip()
    if not name:
        raise Rejected("The file has no name.")
    if "/" in name or "\\" in name or name in {".", ".."} or name.startswith(".."):
        raise Rejected(f"The file name {name!r} contains a folder path; send the file itself.")
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in name):
        raise Rejected("The file name contains control characters.")
    if len(name) > 255:
        raise Rejected("The file name is longer than 255 characters.")
    return name


def _open(data: bytes, fmt: ImageFormat, limits: Limits) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        image = Image.open(io.BytesIO(data), formats=list(fmt.pillow_names))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected(_too_many_pixels(_header_size(data), limits)) from None
    except MemoryError:
        raise
    except Exception as exc:  # every decoder error means the same thing to a user
        raise Rejected(_damaged(fmt, exc)) from None
    width, height = image.size
    if width * height > limits.max_pixels:
        raise Rejected(_too_many_pixels((width, height), limits))
    if getattr(image, "is_animated", False) and fmt is not ImageFormat.HEIF:
        raise Rejected(f"This is an animated image; please upload a still photo ({ACCEPTED_TEXT}).")
    if min(width, height) < limits.min_short_side:
        raise Rejected(
            f"The image is only {width} × {height} px; the shorter side must be at least "
            f"{limits.min_short_side} px for skin detail to be measurable."
        )
    try:
        image.load()
    except MemoryError:
        raise
    except Exception as exc:
        raise Rejected(_damaged(fmt, exc)) from None
    if image.mode in {"1", "L", "LA", "I", "I;16", "F"}:
        raise Rejected(BLACK_AND_WHITE)
    return image


BLACK_AND_WHITE = "This is a black-and-white image; redness can only be measured on colour photos."
# Black and white saved as colour (a phone's Mono or Noir filter) has three equal channels,
# up to compression noise of a level or two. Skin, however pale or desaturated, differs
# between red and blue by far more in most pixels.
MAX_GREY_CHROMA = 4
_GREY_SAMPLE = 256


def looks_black_and_white(rgb: np.ndarray) -> bool:
    """Whether 99 % of pixels (on a ~256 px sample) have channels within a few levels."""
    step = max(1, max(rgb.shape[:2]) // _GREY_SAMPLE)
    sample = rgb[::step, ::step].astype(np.int16)
    r, g, b = sample[..., 0], sample[..., 1], sample[..., 2]
    chroma = np.maximum(np.maximum(np.abs(r - g), np.abs(g - b)), np.abs(r - b))
    return float(np.percentile(chroma, 99)) < MAX_GREY_CHROMA


def _header_size(data: bytes) -> tuple[int, int] | None:
    """Dimensions claimed by the header, for the message when Pillow refused to open."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _too_many_pixels(size: tuple[int, int] | None, limits: Limits) -> str:
    limit = f"the limit is {limits.max_pixels / 1e6:.0f} megapixels"
    if size is None:
        return f"The image has too many pixels; {limit}."
    w, h = size
    return f"The image is {w} × {h} px ({w * h / 1e6:.0f} megapixels); {limit}."


def _damaged(fmt: ImageFormat, exc: Exception) -> str:
    """Plain words for a decoder's failure. The decoder's own message is logged, never
    shown: it names internal objects ("<_io.BytesIO object at 0x…>") and plugin names."""
    detail = str(exc).lower()
    log.info("decoder refused a %s file: %s: %s", fmt.name, type(exc).__name__, exc)
    kind = _FORMAT_WORDS[fmt]
    if "truncated" in detail or "premature end" in detail or "incomplete" in detail:
        return (
            f"The {kind} file is incomplete (it ends before the image data does); "
            "it may not have finished uploading or copying. Please try again."
        )
    return (
        f"The file starts like a {kind} photo but its image data is damaged, so it cannot be read. "
        "Please export it again."
    )


_FORMAT_WORDS = {
    ImageFormat.JPEG: "JPEG",
    ImageFormat.PNG: "PNG",
    ImageFormat.WEBP: "WebP",
    ImageFormat.HEIF: "HEIC/HEIF",
}


def _capture_time(image: Image.Image) -> datetime | None:
    try:
        exif = image.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # unreadable EXIF: the upload time will do
        return None
    for raw in (sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED), exif.get(_DATETIME)):
        parsed = _parse_exif_datetime(raw)
        if parsed is not None:
            return parsed
    return None


_MAKE, _MODEL, _SOFTWARE = 0x010F, 0x0110, 0x0131
MAX_CAMERA_CHARS = 120


def _camera(image: Image.Image) -> str:
    """ "Make Model (Software)" from EXIF, printable characters only, or "" when absent."""
    try:
        exif = image.getexif()
    except Exception:
        return ""
    parts = []
    for tag in (_MAKE, _MODEL, _SOFTWARE):
        raw = exif.get(tag)
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", errors="ignore")
        text = "".join(ch for ch in str(raw or "") if ch.isprintable()).strip().rstrip("\x00")
        if text and text not in parts:
            parts.append(text)
    return " ".join(parts)[:MAX_CAMERA_CHARS]


def _parse_exif_datetime(raw: object) -> datetime | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", errors="ignore")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # cameras write "0000:00:00 00:00:00" when the clock was never set


def _to_upright_srgb(image: Image.Image) -> tuple[Image.Image, str]:
    icc_bytes = image.info.get("icc_profile")
    try:
        # HEIF: libheif has applied the file's own rotation and mirror (irot/imir); its EXIF
        # orientation is informative only (the HEIF spec) and applying it would turn the
        # picture a second time where the two disagree. A phone's gallery does the same.
        upright = image.copy() if image.format == "HEIF" else ImageOps.exif_transpose(image)
    except Exception:  # unreadable EXIF orientation: shown as stored rather than refused
        log.warning("EXIF orientation unreadable; photo kept as stored")
        upright = image
    description = ""
    if icc_bytes:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_bytes))
            description = (ImageCms.getProfileDescription(profile) or "").strip() or "unnamed"
        except (OSError, ImageCms.PyCMSError):
            profile, description = None, "unreadable (ignored, treated as sRGB)"
        if profile is not None and "srgb" not in description.lower():
            mode = "RGB" if upright.mode in {"RGB", "RGBA", "CMYK", "P"} else upright.mode
            source = upright.convert("RGB") if upright.mode in {"RGBA", "P"} else upright
            try:
                converted = ImageCms.profileToProfile(
                    source,
                    profile,
                    _SRGB,
                    renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                    outputMode=mode,
                )
            except ImageCms.PyCMSError:
                description = f"{description} (could not be applied, treated as sRGB)"
            else:
                if converted is not None:
                    upright = converted
    if upright.mode in {"RGBA", "LA", "PA", "P"}:
        upright = _flatten(upright.convert("RGBA"))
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    return upright, description


def _flatten(image: Image.Image) -> Image.Image:
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background


def _jpeg(image: Image.Image, long_edge: int, quality: int) -> bytes:
    """A derivative: upright sRGB JPEG with no metadata at all."""
    copy = image.copy()
    copy.info = {}  # Pillow's JPEG writer copies info["comment"] (the source's COM) otherwise
    copy.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    copy.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()
