from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import images
from tracker.app.context import Context
from tracker.app.dashboard import clinic_dashboard
from tracker.app.people import authenticate
from tracker.bootstrap import open_app
from tracker.cli import main
from tracker.config import Settings
from tracker.permissions import Actor
from tracker.store.models import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, data in {
        "a.jpg": images.encode(images.noisy(seed=1), "JPEG"),
        "b.heic": images.encode(images.noisy(seed=2), "HEIF"),
        "fake.jpg": b"<html>not a photo</html>",
    }.items():
        out[name] = tmp_path / name
        out[name].write_bytes(data)
    return out


def run(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str]:
    try:
        code = main(["--data-dir", str(data_dir), *args])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


@pytest.mark.sqlite_only  # the embedded database's file; tests/integration/test_migrate.py runs on both
def test_init_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        code, out = run(capsys, tmp_path / "d", "init")
        assert code == 0 and "database ready" in out
    assert (tmp_path / "d" / "tracker.db").is_file()


def test_import_reports_each_file_and_exit_codes(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    code, out = run(capsys, data, "import", str(files["a.jpg"]), str(files["b.heic"]), "--client", "Ann Lee")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("imported ") for line in lines)
    assert "as photo 1 " in lines[0] and "as photo 2 " in lines[1]

    code, out = run(
        capsys, data, "import", str(files["fake.jpg"]), str(tmp_path / "missing.jpg"), "--client", "Ann Lee"
    )
    assert code == 1
    assert out.count("rejected ") == 2
    assert "fake.jpg: This is a web page (HTML)" in out
    assert "missing.jpg: No such file or directory" in out


def test_import_with_explicit_session_kind_and_time(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    args = ["--session", "2", "--kind", "checkin", "--taken-at", "2026-07-01T08:30:00"]
    code, _ = run(capsys, data, "import", str(files["a.jpg"]), "--client", "Bo", *args)
    assert code == 0
    code, out = run(capsys, data, "list", "--json")
    listing = json.loads(out)
    session = listing["clinics"][0]["clients"][0]["sessions"][0]
    assert session["number"] == 2
    assert session["photos"][0]["kind"] == "checkin"
    assert session["photos"][0]["taken_at"] == "2026-07-01T08:30:00"


@pytest.mark.parametrize(
    "args",
    [
        ["import", "--client", "X"],  # no files
        ["import", "f.jpg"],  # no client
        ["import", "f.jpg", "--client", "X", "--kind", "during"],
        ["import", "f.jpg", "--client", "X", "--taken-at", "yesterday"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _ = run(capsys, tmp_path / "d", *args)
    assert code == 2


def test_list_text_and_fsck(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    run(capsys, data, "import", str(files["a.jpg"]), "--client", "Cy Doe")
    code, out = run(capsys, data, "list")
    assert code == 0 and "Cy Doe" in out and "a.jpg" in out and "before" in out

    code, out = run(capsys, data, "fsck", "--json")
    assert code == 0 and json.loads(out)["consistent"] is True

    (data / "blobs").joinpath("ab", "cd").mkdir(parents=True)
    stray = "abcd" + "0" * 60
    (data / "blobs" / "ab" / "cd" / stray).write_bytes(b"x")
    code, out = run(capsys, data, "fsck")
    assert code == 1 and "orphan_blob" in out
    code, out = run(capsys, data, "fsck", "--repair", "--min-age", "0", "--json")
    report = json.loads(out)
    assert code == 0 and report["problems"][0]["repaired"].startswith("moved to")


def test_module_entry_point_and_env_data_dir(tmp_path: Path, files: dict[str, Path]) -> None:
    env = {**os.environ, "TRACKER_DATA_DIR": str(tmp_path / "envdata")}
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "import", str(files["a.jpg"]), "--client", "Env"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert any(path.is_file() for path in (tmp_path / "envdata" / "blobs").rglob("*"))  # the photo went there


SAMPLES = Path(__file__).resolve().parents[2] / "sample_photos"


def test_analyze_prints_one_json_object_per_photo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifest = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
    photo = manifest["clients"][0]["photos"][3]  # an after-photo: strong redness
    zones = photo["truth"]["zones"]

    def rect(polygon: list[list[float]]) -> str:
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        return f"{min(xs) + 0.5:.0f},{min(ys) + 0.5:.0f},{max(xs) - min(xs):.0f},{max(ys) - min(ys):.0f}"

    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    code, out = run(
        capsys, tmp_path / "d", "analyze", str(SAMPLES / photo["file"]), str(bad),
        "--zone", rect(zones["treated"]), "--reference", rect(zones["reference"]),
        "--px-per-mm", str(photo["truth"]["px_per_mm"]), "--json",
    )  # fmt: skip
    assert code == 1  # one file was refused
    first, second = (json.loads(line) for line in out.strip().splitlines())
    assert set(first) >= {"file", "metric_version", "metrics", "quality"}
    assert first["metrics"]["delta_ei"] > 10 and first["quality"]["px_per_mm_source"] == "given"
    assert "error" in second and "text file" in second["error"]
    code, out = run(capsys, tmp_path / "d", "analyze", str(SAMPLES / photo["file"]))
    assert code == 0 and json.loads(out)["zones"]["source"] == "auto-skin"


def test_align_recovers_the_rendered_pose(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    manifest = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
    photos = manifest["clients"][0]["photos"]
    follow = next(
        p for p in photos[1:] if p["truth"]["chart"] is None and p["truth"]["exif_orientation"] == 1
    )
    code, out = run(
        capsys, tmp_path / "d", "align", str(SAMPLES / photos[0]["file"]), str(SAMPLES / follow["file"])
    )
    result = json.loads(out)
    assert code == 0 and result["score"] > 0.45
    truth = follow["truth"]["pose_to_baseline"]
    corners = [(0, 0), (1151, 0), (0, 863), (1151, 863)]
    for x, y in corners:
        got = [sum(m * v for m, v in zip(row, (x, y, 1), strict=True)) for row in result["matrix"]]
        want = [sum(m * v for m, v in zip(row, (x, y, 1), strict=True)) for row in truth]
        assert abs(got[0] - want[0]) < 3 and abs(got[1] - want[1]) < 3


def test_reanalyze_after_import(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "d"
    skin = SAMPLES / "ava" / "s1_before_a.jpg"
    code, out = run(capsys, data, "import", str(skin), str(files["a.jpg"]), "--client", "Ed")
    assert code == 0, out
    # Random noise is no skin: it is still measured against the series, and flagged.
    qualities = [float(line.split("[quality ")[1].split("]")[0]) for line in out.splitlines()]
    assert qualities[0] > 0.5 > qualities[1]
    code, out = run(capsys, data, "reanalyze")  # nothing is older than the current version
    assert code == 0 and "analysed 0 photos" in out
    code, out = run(capsys, data, "reanalyze", "--all")
    assert code == 0 and "analysed 2 photos" in out


def test_progress_prints_course_series_recovery_and_flags(
    capsys: pytest.CaptureFixture[str], demo_loaded, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    app, _ = demo_loaded
    data = app.settings.data_dir
    monkeypatch.setenv("TRACKER_DATABASE_URL", app.settings.database_url)  # the demo's (empty: its file)
    code, _ = run(capsys, data, "progress", "--client", "Niamh O'Sullivan")
    assert code == 2  # the demo clinic is never taken by default
    demo = ("--clinic", "Demo Skin Clinic")
    code, out = run(capsys, data, "progress", *demo, "--client", "Niamh O'Sullivan", "--today", "2026-11-21")
    assert code == 0
    assert "Redness slow to settle after session 1" in out and "T90" in out and "Rosacea" in out
    code, out = run(capsys, data, "progress", *demo, "--client", "Niamh O'Sullivan", "--json")
    parsed = json.loads(out)
    assert {"course", "metrics", "sessions", "flags", "recovery"} <= set(parsed)
    assert parsed["metrics"]["delta_ei"]["noise_band"]["sdc"] > 0
    code, _ = run(capsys, data, "progress", *demo, "--client", "Nobody")
    assert code == 2


def test_import_leaves_the_dashboard_warm(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    code, _ = run(capsys, data, "import", str(files["a.jpg"]), "--client", "Ann Lee")
    assert code == 0
    app = open_app(Settings(data_dir=data, _env_file=None))
    try:
        with app.uow() as uow:
            clinic_id = uow.session.scalars(select(Client.clinic_id)).one()
        df = clinic_dashboard(Context(app, Actor.operator(clinic_id)), date.today())
        assert df.attrs["refreshed"] == 0  # the import refreshed the client's row already
        assert list(df["name"]) == ["Ann Lee"]
    finally:
        app.close()


def test_add_user_creates_the_first_admin_and_a_clients_login(
    tmp_path: Path,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "d"
    run(capsys, data, "import", str(files["a.jpg"]), "--client", "Ann Lee")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    code, out = run(capsys, data, "add-user", "Boss@Clinic.test", "--role", "admin", "--password-stdin")
    assert code == 0 and "created admin account boss@clinic.test" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("another long secret\n"))
    args = ["add-user", "ann@home.test", "--role", "client", "--client", "Ann Lee", "--password-stdin"]
    code, out = run(capsys, data, *args)
    assert code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, out = run(capsys, data, "add-user", "x@clinic.test", "--role", "practitioner", "--password-stdin")
    assert code == 1 and "at least 10 characters" in out
    code, out = run(capsys, data, "users", "--json")
    listed = {u["email"]: u for u in json.loads(out)}
    assert (
        set(listed) == {"boss@clinic.test", "ann@home.test"}
        and listed["ann@home.test"]["client"] == "Ann Lee"
    )
    app = open_app(Settings(data_dir=data, _env_file=None))
    try:
        assert authenticate(app, "boss@clinic.test", "a long enough secret") is not None
        assert authenticate(app, "ann@home.test", "another long secret") is not None
    finally:
        app.close()


def test_add_user_without_a_terminal_needs_password_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _ = run(capsys, tmp_path / "d", "add-user", "a@clinic.test", "--role", "admin")
    assert code == 2


def test_export_and_delete_a_client_from_the_command_line(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d"
    run(capsys, data, "import", str(files["a.jpg"]), str(files["b.heic"]), "--client", "Ann Lee")
    out_zip = tmp_path / "ann.zip"
    code, out = run(capsys, data, "export", "--client", "Ann Lee", str(out_zip))
    assert code == 0 and out_zip.is_file()
    with zipfile.ZipFile(out_zip) as zf:
        assert len(json.loads(zf.read("client.json"))["photos"]) == 2
    code, _ = run(capsys, data, "export", "--client", "Ann Lee", str(out_zip))
    assert code == 2  # never overwrites
    code, out = run(capsys, data, "delete-client", "--client", "Ann Lee", "--confirm", "Ann")
    assert code == 1 and "Type the client's name exactly" in out
    code, out = run(capsys, data, "delete-client", "--client", "Ann Lee", "--confirm", "Ann Lee")
    assert code == 0 and "deleted Ann Lee: 2 photos, 6 files" in out
    code, out = run(capsys, data, "list", "--json")
    assert json.loads(out)["clinics"][0]["clients"] == []
    assert run(capsys, data, "fsck")[0] == 0
    code, _ = run(capsys, data, "export", "--client", "Ann Lee", str(tmp_path / "again.zip"))
    assert code == 2  # no such client any more


def test_one_file_that_fails_unexpectedly_does_not_lose_the_batch(
    tmp_path: Path,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import struct

    from tracker.app import photos

    real = photos.import_photo

    def flaky(ctx: object, client_id: int, data: bytes, name: str, **kw: object) -> object:
        if name == "a.jpg":
            raise struct.error("unpack requires a buffer of 4 bytes")  # as a broken EXIF once did
        return real(ctx, client_id, data, name, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(photos, "import_photo", flaky)
    code, out = run(
        capsys, tmp_path / "d", "import", str(files["a.jpg"]), str(files["b.heic"]), "--client", "Bo"
    )
    assert code == 1
    assert f"rejected {files['a.jpg']}: it could not be processed" in out
    assert "unpack requires" not in out  # no internal detail for the person
    assert f"imported {files['b.heic']} as photo 1 " in out


def test_demo_is_refused_in_production_and_never_the_default_clinic(
    tmp_path: Path, demo_loaded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import copy_demo
    from tracker.app import courses, people
    from tracker.app.demo import DEMO_ADMIN_EMAIL

    _, demo = demo_loaded
    data = tmp_path / "data"
    copy_demo(demo_loaded, data).close()  # its own database too, on a PostgreSQL run

    def no_server(*args: object) -> None:  # a `serve` not refused must not replace pytest
        raise AssertionError("serve was not refused: it started the server")

    monkeypatch.setattr(os, "execve", no_server)
    monkeypatch.setenv("TRACKER_ENVIRONMENT", "production")
    code, out = run(capsys, data, "demo")
    assert code == 1 and "refused: the demo creates accounts whose passwords are published" in out
    code, out = run(capsys, data, "serve")
    assert code == 1 and "demo account(s) are active" in out and DEMO_ADMIN_EMAIL in out

    monkeypatch.setattr("sys.stdin", io.StringIO("a real admin password\n"))
    code, _ = run(capsys, data, "add-user", "boss@clinic.example", "--role", "admin", "--password-stdin")
    assert code == 0
    code, out = run(capsys, data, "import", str(ROOT / "sample_photos" / "linh" / "s1_before_a.jpg"),
                    "--client", "Real Patient")  # fmt: skip
    assert code == 0, out
    real = open_app(Settings(data_dir=data))
    with real.uow() as uow:
        clinics = {c.name: c for c in uow.repo.clinics()}
    assert set(clinics) == {"Demo Skin Clinic", "My Clinic"} and clinics["Demo Skin Clinic"].is_demo
    demo_admin = Actor.operator(demo.clinic_id)
    assert "boss@clinic.example" not in {a.email for a in people.list_accounts(Context(real, demo_admin))}
    assert "Real Patient" not in {c.name for c in courses.overview(Context(real, demo_admin))}

    code, _ = run(capsys, data, "import", str(ROOT / "sample_photos" / "linh" / "s1_before_b.jpg"),
                  "--client", "Real Patient", "--clinic", "My Clinc")  # fmt: skip
    assert code == 2  # a typo makes no new clinic
    with real.uow() as uow:
        assert len(uow.repo.clinics()) == 2

    code, out = run(capsys, data, "demo-off")
    assert code == 0 and "switched off" in out
    assert courses.demo_accounts_active(real) == []
    real.close()


def test_the_server_keeps_the_projects_client_settings_from_any_working_folder() -> None:
    """The entry script is tracker/web/asgi.py, so .streamlit/config.toml at the project's
    root is read only when the server starts there: the options that keep tracebacks and
    live-formula CSV files off the pages are passed on the command line too, as the file says."""
    import tomllib

    from tracker.serve import streamlit_options

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    options = streamlit_options(Settings(_env_file=None))  # type: ignore[call-arg]
    assert config["client"]["showErrorDetails"] == "none" and "--client.showErrorDetails=none" in options
    assert config["client"]["disableDataExport"] is True and "--client.disableDataExport=true" in options


def test_server_limits_follow_the_settings() -> None:
    from tracker.config import MB
    from tracker.serve import streamlit_options

    assert streamlit_options(Settings(_env_file=None))[:3] == [  # type: ignore[call-arg]
        "--server.maxUploadSize=30",
        "--server.maxMessageSize=44",
        "--theme.primaryColor=#b5476b",
    ]
    small = Settings(_env_file=None, max_upload_bytes=5 * MB)  # type: ignore[call-arg]
    assert streamlit_options(small)[0] == "--server.maxUploadSize=5"
