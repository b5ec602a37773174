"""A location corpus built here, imported through the real upload path, then read back by
exiftool — a reader that is not ours — from every stored file: no position, place, cell
id, address or email may survive, whatever namespace, prefix, encoding or place in the
file it came in; capture time, orientation, colour profile and camera do survive.

Each case is a kind of file the audit of issue 12 found leaking (XMP under a foreign
prefix, Darwin Core, cell towers, drone XMP, UTF-16 XMP, IPTC creator contact and
licensor addresses, IPTC after the end of the image) or a classic (EXIF GPS, a JPEG
comment, PNG text chunks, WebP and HEIF XMP, a multi-picture JPEG).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from tests import images
from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.bootstrap import App
from tracker.permissions import Actor
from tracker.store.models import Photo

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (./run test installs it)")

EMAIL = "jane.doe@example.com"
# Strings planted in the corpus: none may be read back from a stored file.
PLANTED = [
    EMAIL,
    "51.5075",
    "51,30.5N",
    "Quinta do Lago",
    "3133731337",
    "42424",
    "22.5431",
    "113.943",
    "Porto",
    "Rua Augusta",
    "Lisboa",
    "1100-053",
    "Baker Street",
    "Faro",
    "London",
    "Lisbon",
]
# Tag names (after exiftool's group) that hold a position, a place, a cell or an address.
SENSITIVE_TAG = re.compile(
    r"GPS|Latitude|Longitude|City|Country|Location|Sub-?location|Province|State|Address|Adr|Pcode"
    r"|PostalCode|Locality|Cell|^LAC$|Email",
    re.IGNORECASE,
)
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def _xmp(namespaces: dict[str, str], attributes: str = "", elements: str = "") -> str:
    ns = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {ns} {attributes}>{elements}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>" + " " * 100 + '<?xpacket end="w"?>'
    )


def _segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg(seed: int, **kwargs: object) -> bytes:
    return images.encode(images.noisy(640, 480, seed), "JPEG", **kwargs)  # type: ignore[arg-type]


def _jpeg_with_xmp(seed: int, packet: bytes) -> bytes:
    jpeg = _jpeg(seed, gps=False)
    return jpeg[:2] + _segment(0xE1, XMP_HEADER + packet) + jpeg[2:]


def foreign_prefix() -> bytes:
    xmp = _xmp(
        {"foo": "http://ns.adobe.com/exif/1.0/"}, 'foo:GPSLatitude="51,30.5N" foo:GPSLongitude="0,7.5W"'
    )
    return _jpeg_with_xmp(1, xmp.encode())


def darwin_core() -> bytes:
    xmp = _xmp(
        {"dwc": "http://rs.tdwg.org/dwc/terms/"},
        'dwc:decimalLatitude="51.5075" dwc:decimalLongitude="-0.1278" dwc:locality="Quinta do Lago"',
    )
    return _jpeg_with_xmp(2, xmp.encode())


def cell_tower() -> bytes:
    xmp = _xmp({"cell": "http://ns.example.com/cell/1.0/"}, 'cell:CellId="3133731337" cell:LAC="42424"')
    return _jpeg_with_xmp(3, xmp.encode())


def drone() -> bytes:
    xmp = _xmp(
        {"drone-dji": "http://www.dji.com/drone-dji/1.0/"},
        'drone-dji:GpsLatitude="22.5431" drone-dji:GpsLongitude="113.9430" '
        'drone-dji:AbsoluteAltitude="+40.2"',
    )
    return _jpeg_with_xmp(4, xmp.encode())


def utf16_city() -> bytes:
    xmp = _xmp({"photoshop": "http://ns.adobe.com/photoshop/1.0/"}, 'photoshop:City="Porto"')
    return _jpeg_with_xmp(5, xmp.encode("utf-16-be"))


def creator_contact() -> bytes:
    contact = (
        "<Iptc4xmpCore:CreatorContactInfo rdf:parseType='Resource'>"
        "<Iptc4xmpCore:CiAdrExtadr>Rua Augusta 12</Iptc4xmpCore:CiAdrExtadr>"
        "<Iptc4xmpCore:CiAdrCity>Lisboa</Iptc4xmpCore:CiAdrCity>"
        "<Iptc4xmpCore:CiAdrPcode>1100-053</Iptc4xmpCore:CiAdrPcode>"
        f"<Iptc4xmpCore:CiEmailWork>{EMAIL}</Iptc4xmpCore:CiEmailWork>"
        "</Iptc4xmpCore:CreatorContactInfo>"
    )
    xmp = _xmp({"Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"}, elements=contact)
    return _jpeg_with_xmp(6, xmp.encode())


def licensor_address() -> bytes:
    licensor = (
        "<plus:Licensor><rdf:Seq><rdf:li rdf:parseType='Resource'>"
        "<plus:LicensorStreetAddress>221B Baker Street</plus:LicensorStreetAddress>"
        f"<plus:LicensorEmail>{EMAIL}</plus:LicensorEmail>"
        "</rdf:li></rdf:Seq></plus:Licensor>"
    )
    xmp = _xmp({"plus": "http://ns.useplus.org/ldf/xmp/1.0/"}, elements=licensor)
    return _jpeg_with_xmp(7, xmp.encode())


def iptc_after_end() -> bytes:
    iptc = images.iptc_datasets({(2, 90): b"Faro", (2, 101): b"Portugal"})
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    return _jpeg(8, gps=False) + b"Photoshop 3.0\x00" + resource


def iptc_in_app13() -> bytes:
    return images.jpeg_with_iptc(_jpeg(9, gps=False), {(2, 90): b"Lisbon", (2, 80): EMAIL.encode()})


def exif_gps_kept_rest() -> bytes:
    """EXIF GPS with orientation, date, camera and a colour profile that must survive."""
    upright = images.noisy(640, 480, 10)
    stored = images.stored_for_orientation(upright, 6)
    return images.encode(stored, "JPEG", orientation=6, icc=images.display_p3_icc())


def jpeg_comment() -> bytes:
    jpeg = _jpeg(11)
    return jpeg[:2] + _segment(0xFE, f"sent by {EMAIL} from London".encode()) + jpeg[2:]


def png_itxt_xmp() -> bytes:
    return images.png_with_text(
        images.noisy(640, 480, 12), "XML:com.adobe.xmp", images.XMP_WITH_LOCATION, zip=True, itxt=True
    )


def png_ztxt_xmp() -> bytes:
    return images.png_with_text(
        images.noisy(640, 480, 13), "XML:com.adobe.xmp", images.XMP_WITH_LOCATION, zip=True
    )


def png_exif_gps() -> bytes:
    return images.encode(images.noisy(640, 480, 14), "PNG", icc=images.display_p3_icc())


def png_raw_exif_profile() -> bytes:
    text = images.raw_profile("exif", b"Exif\x00\x00" + images.exif_bytes())
    return images.png_with_text(images.noisy(640, 480, 15), "Raw profile type exif", text, zip=True)


def webp_xmp() -> bytes:
    return images.encode(images.noisy(640, 480, 16), "WEBP", xmp=True)


def heif_gps_xmp() -> bytes:
    return images.encode(images.noisy(640, 480, 17), "HEIF", xmp=True, icc=images.display_p3_icc())


def mpo_gps() -> bytes:
    pictures = [images.noisy(640, 480, 18), images.noisy(640, 480, 19)]
    out = io.BytesIO()
    pictures[0].save(
        out, format="MPO", save_all=True, append_images=pictures[1:], quality=90, exif=images.exif_bytes()
    )
    return out.getvalue()


CORPUS: dict[str, Callable[[], bytes]] = {
    "xmp-exif-namespace-under-another-prefix.jpg": foreign_prefix,
    "xmp-darwin-core.jpg": darwin_core,
    "xmp-cell-tower.jpg": cell_tower,
    "xmp-drone-gps.jpg": drone,
    "xmp-utf16-city.jpg": utf16_city,
    "xmp-creator-contact-address.jpg": creator_contact,
    "xmp-licensor-address.jpg": licensor_address,
    "iptc-after-end.jpg": iptc_after_end,
    "iptc-app13.jpg": iptc_in_app13,
    "exif-gps.jpg": exif_gps_kept_rest,
    "comment-email.jpg": jpeg_comment,
    "itxt-xmp.png": png_itxt_xmp,
    "ztxt-xmp.png": png_ztxt_xmp,
    "exif-gps.png": png_exif_gps,
    "raw-exif-profile.png": png_raw_exif_profile,
    "xmp.webp": webp_xmp,
    "gps-xmp.heic": heif_gps_xmp,
    "stereo.mpo": mpo_gps,
}


def _exiftool(paths: list[Path]) -> dict[str, dict[str, object]]:
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-G1", "-n", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return {Path(str(entry["SourceFile"])).name: entry for entry in json.loads(done.stdout)}


def _found(tags: dict[str, object]) -> list[str]:
    """Every tag that holds a position, place, cell, address or email, or a planted string."""
    hits = []
    for key, value in tags.items():
        group, _, name = key.rpartition(":")
        if group in {"System", "File", "ExifTool"} and name in {"FileName", "Directory", "SourceFile"}:
            continue
        if key == "SourceFile":
            continue
        text = json.dumps(value, ensure_ascii=False)
        if SENSITIVE_TAG.search(name) or EMAIL_PATTERN.search(text) or any(p in text for p in PLANTED):
            hits.append(f"{key}={text[:80]}")
    return hits


@pytest.fixture
def imported(app: App, operator: Actor, client_id: int, tmp_path: Path) -> dict[str, dict[str, Path]]:
    """Each corpus file imported for one client; its stored blobs written out by role."""
    ctx = Context(app, operator)
    courses.record_session(ctx, client_id, 1, datetime(2026, 5, 4, 10))
    stored: dict[str, dict[str, Path]] = {}
    for name, build in CORPUS.items():
        done = photos.import_photo(ctx, client_id, build(), name, session_number=1, analyse=False)
        with app.uow() as uow:
            photo = uow.session.get(Photo, done.photo_id)
            assert photo is not None
            keys = photo.blob_keys
        stored[name] = {}
        for role, key in keys.items():
            path = tmp_path / f"{role}--{name}"
            path.write_bytes(app.blobs.get(key))
            stored[name][role] = path
    return stored


def test_the_corpus_carries_what_it_should(tmp_path: Path) -> None:
    """exiftool reads a place, cell, address or email from every uploaded file: the
    corpus tests something."""
    paths = []
    for name, build in CORPUS.items():
        path = tmp_path / name
        path.write_bytes(build())
        paths.append(path)
    read = _exiftool(paths)
    unread = {"raw-exif-profile.png", "iptc-after-end.jpg"}  # exiftool 12 leaves these alone
    for name in CORPUS:
        if name not in unread:
            assert _found(read[name]), f"{name}: exiftool finds nothing to remove in the upload"
    with Image.open(tmp_path / "raw-exif-profile.png") as png:  # Pillow reads it: GPS present
        assert png.getexif().get_ifd(0x8825)
    assert b"Faro" in (tmp_path / "iptc-after-end.jpg").read_bytes()


def test_no_stored_file_keeps_a_position_place_cell_address_or_email(
    imported: dict[str, dict[str, Path]],
) -> None:
    paths = [path for roles in imported.values() for path in roles.values()]
    read = _exiftool(paths)
    assert len(read) == len(paths) == 3 * len(CORPUS)
    leaks = {path.name: _found(read[path.name]) for path in paths}
    assert {name: hits for name, hits in leaks.items() if hits} == {}
    for path in paths:  # the raw bytes too, in any of the encodings planted
        data = path.read_bytes()
        for planted in PLANTED:
            for encoding in ("utf-8", "utf-16-be"):
                assert planted.encode(encoding) not in data, (path.name, planted)


def test_derivatives_carry_no_metadata_at_all(imported: dict[str, dict[str, Path]]) -> None:
    derivatives = [roles[role] for roles in imported.values() for role in ("display", "thumbnail")]
    read = _exiftool(derivatives)
    for path in derivatives:
        groups = {key.rpartition(":")[0] for key in read[path.name] if ":" in key}
        assert groups <= {"ExifTool", "System", "File", "JFIF", "Composite"}, (path.name, groups)
        assert "File:Comment" not in read[path.name], path.name  # exiftool files a COM under File


def test_capture_time_orientation_profile_and_camera_survive(imported: dict[str, dict[str, Path]]) -> None:
    originals = {name: roles["original"] for name, roles in imported.items()}
    read = _exiftool(list(originals.values()))
    jpeg = read[originals["exif-gps.jpg"].name]
    assert jpeg["IFD0:Make"] == "TestCam" and jpeg["IFD0:Orientation"] == 6
    assert jpeg["ExifIFD:DateTimeOriginal"] == images.EXIF_DATE
    assert jpeg["ICC_Profile:ProfileDescription"] == "Display P3 (test)"
    for name in ("exif-gps.png", "raw-exif-profile.png", "gps-xmp.heic", "stereo.mpo", "xmp.webp"):
        tags = read[originals[name].name]
        assert tags.get("IFD0:Make") == "TestCam", name
        assert tags.get("ExifIFD:DateTimeOriginal") == images.EXIF_DATE, name
    for name in ("exif-gps.png", "gps-xmp.heic"):
        assert read[originals[name].name].get("ICC_Profile:ProfileDescription") == "Display P3 (test)", name
    with Image.open(originals["stereo.mpo"]) as mpo:
        assert mpo.format == "JPEG"  # stored as its primary picture
