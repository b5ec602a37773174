"""Encryption at rest (issue 13 item 3) on a real database (SQLite, and PostgreSQL with
--database=postgresql) and a real blob folder: what the database and the files hold, a
wrong or missing key, a key rotation and an in-place encryption, each interrupted and
resumed."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests import images
from tracker.app import consistency, courses, encryption, photos, records
from tracker.app.context import Context
from tracker.app.notes import add_note, client_notes
from tracker.bootstrap import App, open_app
from tracker.config import Settings
from tracker.domain import Intake
from tracker.permissions import Actor
from tracker.store.blobs import LocalBlobStore, sha256_hex
from tracker.store.encrypted_blobs import EncryptingBlobStore, is_sealed, sealed_key_id
from tracker.store.encryption_keys import EncryptionKeyProblem, MasterKey, key_from_file, write_key_file
from tracker.store.models import Client, EncryptionKey, Photo

DOB = date(1987, 6, 5)
NOTE = "Mentioned a rosacea flare after the wedding"
INTAKE_NOTE = "stopped taking isotretinoin two years ago"


def _key_file(folder: Path, name: str) -> Path:
    path = folder / name
    write_key_file(path, MasterKey.generate())
    return path


def _settings(data: Path, key: Path | None = None, old: Path | None = None) -> Settings:
    return Settings(
        data_dir=data,
        encryption_key_file=key,
        encryption_old_key_file=old,
        _env_file=None,  # type: ignore[call-arg]
    )


def _client_with_records(app: App, seed: int = 1) -> tuple[Actor, int, list[bytes]]:
    operator = Actor.operator(courses.ensure_clinic(app, "Test Clinic"))
    ctx = Context(app, operator)
    client_id = courses.create_client(
        ctx,
        f"Ava {seed}",
        date_of_birth=DOB,
        intake=Intake(notes=INTAKE_NOTE),  # a contraindication would hold up the photos
    )
    add_note(ctx, client_id, NOTE)
    uploaded = []
    for n in range(2):
        data = images.encode(images.noisy(seed=seed * 10 + n), "JPEG")
        photos.import_photo(ctx, client_id, data, f"{n}.jpg", create_session=True, analyse=False)
        uploaded.append(data)
    return operator, client_id, uploaded


def _raw_rows(app: App) -> str:
    """Every value of the sensitive columns as the database holds them."""
    with app.engine.connect() as conn:
        rows = conn.execute(text("SELECT date_of_birth, intake FROM client")).all()
        notes = conn.execute(text("SELECT text FROM client_note")).all()
    return repr(rows) + repr(notes)


def _files(app: App) -> dict[str, bytes]:
    root = app.settings.blob_dir
    return {p.name: p.read_bytes() for p in root.glob("??/??/*")}


def _counts(app: App) -> dict[str, int]:
    with app.uow() as uow:
        s = uow.session
        return {
            "clients": int(s.scalar(select(func.count(Client.id))) or 0),
            "photos": int(s.scalar(select(func.count(Photo.id))) or 0),
            "keys": int(s.scalar(select(func.count(EncryptionKey.key_id))) or 0),
        }


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    yield _key_file(tmp_path, "current.key"), _key_file(tmp_path, "next.key")


def test_an_encrypted_store_holds_no_plaintext_and_reads_back(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    app = open_app(_settings(tmp_path / "data", keys[0]))
    operator, client_id, uploaded = _client_with_records(app)
    raw = _raw_rows(app)
    for plain in ("1987", "isotretinoin", INTAKE_NOTE, "rosacea", "contraindications"):
        assert plain not in raw
    assert "enc1:" in raw
    files = _files(app)
    assert len(files) == 6
    for key, content in files.items():
        assert content[:4] == b"TRKE" and b"\xff\xd8\xff" not in content[:64] and b"Exif" not in content
        assert key not in {sha256_hex(d) for d in uploaded}
    # The app reads it all back.
    ctx = Context(app, operator)
    assert [n.text for n in client_notes(ctx, client_id)] == [NOTE]
    assert courses.client_intake(ctx, client_id).notes == INTAKE_NOTE
    with app.uow() as uow:
        client = uow.session.get(Client, client_id)
        assert client is not None and client.date_of_birth == DOB
    assert consistency.check(app).consistent
    # The same photo again is still recognised (the keyed hash is stable).
    with pytest.raises(Exception, match="already"):
        photos.import_photo(ctx, client_id, uploaded[0], "again.jpg", create_session=True, analyse=False)
    # Her export gives her the photos themselves (her right of access).
    _, archive = records.export_client(ctx, client_id)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        exported = [zf.read(n) for n in zf.namelist() if n.startswith("photos/")]
        record = zf.read("client.json").decode()
    assert len(exported) == 2 and all(e[:3] == b"\xff\xd8\xff" for e in exported)  # plain JPEGs
    assert {p["sha256"] for p in json.loads(record)["photos"]} == {sha256_hex(e) for e in exported}
    assert "1987-06-05" in record and INTAKE_NOTE in record
    app.close()


def test_a_wrong_or_missing_key_is_refused_and_changes_nothing(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    data = tmp_path / "data"
    app = open_app(_settings(data, keys[0]))
    _client_with_records(app)
    before, files = _counts(app), _files(app)
    app.close()
    stranger = _key_file(tmp_path, "stranger.key")
    with pytest.raises(EncryptionKeyProblem, match=r"The encryption key does not match this store \(key id"):
        open_app(_settings(data, stranger))
    with pytest.raises(
        EncryptionKeyProblem, match="This store is encrypted: set TRACKER_ENCRYPTION_KEY_FILE"
    ):
        open_app(_settings(data))
    again = open_app(_settings(data, keys[0]))
    assert _counts(again) == before and _files(again) == files
    again.close()


def test_a_key_on_an_unencrypted_store_asks_for_encrypt_store(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    data = tmp_path / "data"
    plain = open_app(_settings(data))
    _client_with_records(plain)
    before = _counts(plain)
    plain.close()
    with pytest.raises(EncryptionKeyProblem, match="run `python -m tracker encrypt-store`"):
        open_app(_settings(data, keys[0]))
    plain = open_app(_settings(data))
    assert _counts(plain) == before and "1987-06-05" in _raw_rows(plain)  # unencrypted as before
    plain.close()


class Interrupted(Exception):
    pass


def _stop_after(calls: int) -> Any:
    seen = {"n": 0}

    def progress(_: str) -> None:
        seen["n"] += 1
        if seen["n"] > calls:
            raise Interrupted

    return progress


def test_rotation_rewraps_every_file_resumes_after_an_interruption_and_keeps_addresses(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    data, (old_file, new_file) = tmp_path / "data", keys
    app = open_app(_settings(data, old_file))
    operator, client_id, _ = _client_with_records(app)
    before = _files(app)
    with app.uow() as uow:
        addresses = sorted(uow.session.scalars(select(Photo.original_sha256)))
    new = key_from_file(new_file)
    with pytest.raises(Interrupted):
        encryption.rotate_key(app, new, _stop_after(2), every=1)  # stops after the 3rd of 6 files
    half = _files(app)
    assert sum(sealed_key_id(c) == new.key_id for c in half.values()) == 3
    app.close()
    # Mid-rotation, the new key as current and the old one as old key opens the store.
    app = open_app(_settings(data, new_file, old_file))
    assert consistency.check(app).consistent
    report = encryption.rotate_key(app, new)
    assert (report.rewrapped, report.already, report.problems) == (3, 3, [])
    app.close()
    after = _files(app)
    assert after.keys() == before.keys()  # same addresses
    assert all(sealed_key_id(c) == new.key_id for c in after.values())
    with pytest.raises(EncryptionKeyProblem, match="does not match"):
        open_app(_settings(data, old_file))
    app = open_app(_settings(data, new_file))
    with app.uow() as uow:
        assert sorted(uow.session.scalars(select(Photo.original_sha256))) == addresses
    assert consistency.check(app).consistent
    assert [n.text for n in client_notes(Context(app, operator), client_id)] == [NOTE]  # column key kept
    app.close()


def test_encrypt_store_in_place_interrupted_and_resumed(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    data = tmp_path / "data"
    plain = open_app(_settings(data))
    operator, client_id, uploaded = _client_with_records(plain, seed=1)
    _client_with_records(plain, seed=2)
    plain.close()

    app = open_app(_settings(data, keys[0]), begin_encryption=True)
    assert isinstance(app.blobs, EncryptingBlobStore)
    with pytest.raises(Interrupted):
        encryption.encrypt_store(app, _stop_after(2), every=1)  # records, then 2 photos of 4
    # A crash between writing a photo's encrypted copies and pointing its row at them...
    with app.uow() as uow:
        pending = uow.session.scalars(select(Photo).order_by(Photo.id.desc())).first()
        assert pending is not None
    app.blobs.put(app.blobs.get(pending.original_sha256))
    # ...and one between pointing the rows and deleting the plaintext (a copy of one).
    inner = app.blobs.inner
    assert isinstance(inner, LocalBlobStore)
    leftover = inner.put(b"plaintext a cut-short run did not delete")
    app.close()

    # The half-encrypted store opens, reads and checks clean.
    app = open_app(_settings(data, keys[0]))
    assert "enc1:" in _raw_rows(app) and "1987" not in _raw_rows(app)
    # Nothing missing or damaged: only files no row uses yet (or any more), what a crash in an
    # upload leaves too; the next run adopts or deletes them.
    crashed = consistency.check(app)
    assert {p.kind for p in crashed.problems} == {"orphan_blob"} and len(crashed.problems) == 2
    assert [n.text for n in client_notes(Context(app, operator), client_id)] == [NOTE]

    report = encryption.encrypt_store(app)
    assert report.problems == [] and report.already == 2 and report.photos == 2
    assert report.leftovers == 0 and inner.exists(leftover)  # too young: maybe an upload under way
    assert encryption.encrypt_store(app, min_age_seconds=0).leftovers == 1 and not inner.exists(leftover)
    files = _files(app)
    assert len(files) == 12 and all(is_sealed(c) for c in files.values())
    assert consistency.check(app, min_age_seconds=0).consistent
    assert encryption.encrypt_store(app).photos == 0  # nothing left: a third run changes nothing
    with app.uow() as uow:
        keys_now = set(uow.session.scalars(select(Photo.original_sha256)))
    for key in keys_now:  # each row names its photo by the keyed hash now, not the SHA-256
        content = app.blobs.get(key)
        assert app.blobs.address(content) == key != sha256_hex(content)
    with pytest.raises(Exception, match="already"):  # duplicate refusal works on the new addresses
        photos.import_photo(
            Context(app, operator), client_id, uploaded[1], "again.jpg", create_session=True, analyse=False
        )
    app.close()


def test_the_command_line_says_what_is_wrong_with_the_key(
    tmp_path: Path,
    keys: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tracker.cli import main

    data = tmp_path / "data"
    open_app(_settings(data, keys[0])).close()
    monkeypatch.setenv("TRACKER_DATA_DIR", str(data))
    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY_FILE", str(keys[1]))
    with pytest.raises(SystemExit) as exit_:
        main(["fsck"])
    assert exit_.value.code == 1
    assert "The encryption key does not match this store" in capsys.readouterr().err


def test_a_backup_of_an_encrypted_store_is_encrypted_and_restores_only_with_the_key(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    from tracker.app import backup

    def sqlite(data: Path, key: Path | None) -> Settings:  # backups are of the SQLite file
        return Settings(data_dir=data, database_url="", encryption_key_file=key, _env_file=None)  # type: ignore[call-arg]

    app = open_app(sqlite(tmp_path / "data", keys[0]))
    operator, client_id, _ = _client_with_records(app)
    files = _files(app)
    done = backup.backup(app, tmp_path / "backup.tar.gz")
    app.close()
    assert done.complete and len(done.manifest.blobs) == 6
    with tarfile.open(done.path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.name.startswith("blobs/")}  # type: ignore[union-attr]
    assert sorted(members.values()) == sorted(files.values())  # the ciphertext, as stored
    assert all(b"\xff\xd8\xff" not in c[:64] and b"Exif" not in c for c in members.values())

    target = tmp_path / "restored"
    with pytest.raises(EncryptionKeyProblem, match="This store is encrypted"):
        backup.restore(sqlite(target, None), done.path)
    stranger = _key_file(tmp_path, "stranger.key")
    with pytest.raises(EncryptionKeyProblem, match="does not match"):
        backup.restore(sqlite(target, stranger), done.path)
    assert not target.exists() or not any(target.iterdir())  # nothing moved in
    restored = backup.restore(sqlite(target, keys[0]), done.path)
    assert restored.fsck.consistent and restored.fsck.photos == 2
    app = open_app(sqlite(target, keys[0]))
    assert [n.text for n in client_notes(Context(app, operator), client_id)] == [NOTE]
    app.close()


def test_the_commands_encrypt_then_rotate_with_progress(
    tmp_path: Path,
    keys: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tracker.cli import main

    data, (key, new_key) = tmp_path / "data", keys
    plain = open_app(_settings(data))
    _client_with_records(plain)
    plain.close()
    monkeypatch.setenv("TRACKER_DATA_DIR", str(data))
    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY_FILE", str(key))
    assert main(["encrypt-store"]) == 0
    out = capsys.readouterr().out
    assert "photos: 2/2" in out and "done: 2 photos encrypted now, 0 before" in out
    assert main(["rotate-key", "--new-key-file", str(new_key)]) == 0
    out = capsys.readouterr().out
    assert "files: 6/6" in out and "done: 6 files re-wrapped" in out
    monkeypatch.setenv("TRACKER_ENCRYPTION_KEY_FILE", str(new_key))
    assert main(["fsck"]) == 0
    assert "consistent: 2 photos, 6 blobs, 0 problems" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a key file is never replaced
        main(["new-key", str(new_key)])
    assert "is never replaced" in capsys.readouterr().err


def test_the_migration_keeps_client_ids_never_reused(app: App) -> None:
    from alembic import command

    from tracker.store.db import alembic_config, upgrade

    operator = Actor.operator(courses.ensure_clinic(app, "Test Clinic"))
    first = courses.create_client(Context(app, operator), "First", date_of_birth=DOB)
    newest = courses.create_client(Context(app, operator), "Newest")
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM client WHERE id = :id"), {"id": newest})
    command.downgrade(alembic_config(app.engine), "0015_client_name_key")
    upgrade(app.engine)
    again = courses.create_client(Context(app, operator), "Another")
    assert again > newest
    with app.uow() as uow:
        client = uow.session.get(Client, first)
        assert client is not None and client.date_of_birth == DOB  # a plain date survives both ways
