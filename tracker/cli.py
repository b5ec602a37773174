"""`python -m tracker`: the command line for operators on the server.

Exit codes: 0 success, 1 something was refused or inconsistent, 2 usage error.

What the commands print may hold text people typed (names, file names, notes): a control
character in it must not reach the operator's terminal as one (an ESC starts an escape
sequence that can retitle the window, hide lines or plant a link; a newline forges an
output line). Fields are printed through `printable` (one record per line), and the
commands' whole output goes through `_TerminalSafe` as a second guard.

Module-level imports stay to the standard library and the domain's enums: `--help` or a
usage error must not pay for pandas, scipy, OpenCV or MediaPipe (seconds of CPU), so each
command imports what it uses. tests/unit/test_cli_imports.py guards this.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar, cast

from tracker.domain import Concern, PhotoKind, Role
from tracker.errors import SchemaNotCurrent
from tracker.text_rules import printable

if TYPE_CHECKING:
    from tracker.app import courses, photos
    from tracker.bootstrap import App
    from tracker.config import Settings
    from tracker.ingest import Ingested
    from tracker.permissions import Actor

log = logging.getLogger(__name__)

T = TypeVar("T")
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class _TerminalSafe:
    """A command's stdout: every control or direction character but newline and tab is
    written as its escape (JSON output stays valid JSON: the escapes are JSON's own)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text, keep="\n\t"))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    os.umask(0o077)  # health data: every file this process or `serve`'s server writes is private
    passed: list[str] = []
    if "serve" in argv:  # everything after `serve` is for streamlit, options included
        at = argv.index("serve")
        argv, passed = argv[: at + 1], argv[at + 1 :]
    args = parser.parse_args(argv)
    if passed:
        args.streamlit_args = passed
    from tracker.config import Settings
    from tracker.store.blobs import BlobStoreUnavailable

    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    stdout = sys.stdout
    sys.stdout = cast(TextIO, _TerminalSafe(stdout))
    try:
        return int(args.handler(args, settings))
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {printable(str(exc))}\n")
    except BlobStoreUnavailable as exc:  # no such bucket, credentials refused, endpoint down
        print(f"{parser.prog}: {printable(str(exc))} ({printable(exc.detail)})", file=sys.stderr)
        return EXIT_REFUSED
    except SchemaNotCurrent as exc:
        print(f"{parser.prog}: {printable(str(exc))}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # last: it must not shadow the clauses above
        from tracker.store.encryption_keys import EncryptionKeyProblem

        if not isinstance(exc, EncryptionKeyProblem):
            raise
        # A wrong or missing encryption key, found at start before anything was written.
        parser.exit(EXIT_REFUSED, f"{parser.prog}: error: {printable(str(exc))}\n")
    finally:
        sys.stdout = stdout
    return EXIT_USAGE  # unreachable: parser.exit raises


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tracker", description="Micro-needling recovery-photo tracker."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data folder (default: $TRACKER_DATA_DIR or ./data)",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser(
        "migrate",
        aliases=["init"],
        help="create or upgrade the database schema (safe to repeat; run once before starting replicas)",
    )
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("import", help="import photo files for a client")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--client", required=True, help="client name (created when missing)")
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument("--session", type=int, help="session number (default: from the capture date)")
    p.add_argument(
        "--kind",
        choices=[k.value for k in PhotoKind],
        help="before, after or checkin (default: from the time relative to the session)",
    )
    p.add_argument("--taken-at", type=_iso_datetime, help="capture time, ISO-8601 (default: EXIF)")
    p.add_argument(
        "--concern",
        choices=[c.value for c in Concern],
        default=Concern.OTHER.value,
        help="concern for a newly created client's course",
    )
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("list", help="list clients, sessions and photos")
    p.add_argument("--json", action="store_true")
    p.add_argument("--clinic", help="clinic name (default: all clinics)")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("fsck", help="check that rows and blobs match")
    p.add_argument(
        "--repair",
        action="store_true",
        help="quarantine orphans, rebuild derivatives, delete deleted clients' files and stale temp files",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--min-age",
        type=int,
        default=None,
        metavar="SECONDS",
        help="leave orphan blobs younger than this alone (default: setting, 600)",
    )
    p.set_defaults(handler=cmd_fsck)

    p = sub.add_parser("analyze", help="measure photo files (nothing is stored); one JSON line per photo")
    p.add_argument("files", nargs="+", type=Path, metavar="PHOTO")
    p.add_argument("--zone", type=_rect, help="treated zone x,y,w,h in pixels of the upright image")
    p.add_argument("--reference", type=_rect, help="reference (untreated) zone x,y,w,h")
    p.add_argument("--px-per-mm", type=float, help="scale of the photo, if known")
    p.add_argument("--json", action="store_true", help="(default) JSON lines")
    p.set_defaults(handler=cmd_analyze)

    p = sub.add_parser("align", help="register FOLLOWUP to BASELINE; prints the 2x3 matrix and score")
    p.add_argument("baseline", type=Path, metavar="BASELINE")
    p.add_argument("followup", type=Path, metavar="FOLLOWUP")
    p.add_argument("--json", action="store_true", help="(default) JSON")
    p.set_defaults(handler=cmd_align)

    p = sub.add_parser("reanalyze", help="measure stored photos again with the current metric version")
    p.add_argument("--all", action="store_true", help="every photo, not only those with older results")
    p.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes this command starts (default: TRACKER_WORKER_PROCESSES; 0: only queue "
        "the work and wait for `worker` processes running elsewhere)",
    )
    p.add_argument("--no-wait", action="store_true", help="queue the work and return at once")
    p.set_defaults(handler=cmd_reanalyze)

    p = sub.add_parser("worker", help="run background jobs (re-analysis, series re-measures) in N processes")
    p.add_argument("--processes", type=int, default=None, help="default: TRACKER_WORKER_PROCESSES")
    p.add_argument("--until-idle", action="store_true", help="exit once no job is left")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("jobs", help="list background jobs and their progress; `jobs retry ID` retries one")
    p.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    p.add_argument("job_id", nargs="?", type=int, metavar="ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_jobs)

    p = sub.add_parser("progress", help="a client's course, series, recovery curves and flags")
    p.add_argument("--client", required=True, help="client name")
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument("--today", type=date.fromisoformat, help="date to judge due dates by (default: today)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_progress)

    p = sub.add_parser("add-user", help="create a sign-in account (the first admin, staff, a client's login)")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--client", help="the client record a client account belongs to (by name)")
    p.add_argument("--name", default="", help="display name (default: the email or the client's name)")
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input (for scripts)"
    )
    p.set_defaults(handler=cmd_add_user)

    p = sub.add_parser("export", help="write everything stored about one client to a zip file")
    p.add_argument("--client", required=True)
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument("output", type=Path, help="the zip file to write (must not exist)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("delete-client", help="delete one client's rows and files for good")
    p.add_argument("--client", required=True)
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument("--confirm", required=True, help="the client's name again, as a guard")
    p.set_defaults(handler=cmd_delete_client)

    p = sub.add_parser(
        "backup", help="write the database and every photo file to one archive (safe while serving)"
    )
    p.add_argument(
        "dest", type=Path, metavar="DEST", help="a folder (a time-stamped file goes in it) or a new file"
    )
    p.add_argument(
        "--keep", type=int, metavar="N", help="with a folder: keep only the newest N backups there"
    )
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser("restore", help="restore an archive into an empty data folder, check it, run fsck")
    p.add_argument("archive", type=Path, metavar="ARCHIVE")
    p.add_argument("--force", action="store_true", help="move a non-empty data folder's contents aside first")
    p.set_defaults(handler=cmd_restore)

    p = sub.add_parser("new-key", help="write a new random encryption key to a file (mode 0600)")
    p.add_argument("path", type=Path, metavar="FILE", help="a new file (an existing one is never replaced)")
    p.set_defaults(handler=cmd_new_key)

    p = sub.add_parser(
        "encrypt-store",
        help="encrypt an unencrypted store's photos and records in place with the configured key (resumable)",
    )
    p.set_defaults(handler=cmd_encrypt_store)

    p = sub.add_parser("rotate-key", help="re-wrap every photo file's key with a new master key (resumable)")
    p.add_argument("--new-key-file", type=Path, required=True, metavar="FILE")
    p.set_defaults(handler=cmd_rotate_key)

    p = sub.add_parser("users", help="list the sign-in accounts of a clinic")
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_users)

    p = sub.add_parser("demo", help="load the demo data set from sample_photos/ (refused in production)")
    p.add_argument("--source", type=Path, default=None)  # None: tracker.app.demo.SAMPLE_DIR
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("demo-off", help="switch off every account of the demo clinic")
    p.set_defaults(handler=cmd_demo_off)

    p = sub.add_parser("add-clinic", help="create a clinic (clinics are never created implicitly)")
    p.add_argument("name")
    p.set_defaults(handler=cmd_add_clinic)

    p = sub.add_parser(
        "send-reminders",
        help="email clients their check-ins and sessions due today or tomorrow (run daily by a timer)",
    )
    p.add_argument("--clinic", help="clinic name (default: the only clinic)")
    p.add_argument("--today", type=date.fromisoformat, help="YYYY-MM-DD (default: today in time_zone)")
    p.add_argument("--dry-run", action="store_true", help="print the emails; send and record nothing")
    p.set_defaults(handler=cmd_send_reminders)

    p = sub.add_parser(
        "purge",
        help="delete sign-in sessions long over, passed throttle counts and old audit events (run daily)",
    )
    p.set_defaults(handler=cmd_purge)

    p = sub.add_parser(
        "serve",
        help="start the app with the server limits of this configuration (extra args go to streamlit)",
    )
    p.set_defaults(streamlit_args=[])
    p.set_defaults(handler=cmd_serve)
    return parser


def _rect(text: str) -> list[list[float]]:
    from tracker.imaging.zones import parse_rect

    try:
        return parse_rect(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _iso_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO-8601 date-time: {text!r} (e.g. 2026-05-04T09:30)"
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return value


def _progress(items: Sequence[T], label: str) -> Iterable[T]:
    """A progress bar on an interactive terminal for more than a few items."""
    from tqdm import tqdm

    show = sys.stderr.isatty() and len(items) > 3
    bar: Iterable[T] = tqdm(items, desc=label, unit="photo", disable=not show, file=sys.stderr, leave=False)
    return bar


def _say(line: str, out: TextIO | None = None) -> None:
    from tqdm import tqdm

    tqdm.write(line, file=out or sys.stdout)


# Commands -------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    """`migrate` (alias `init`): the one step that changes the schema when app processes
    have migrate_on_start off. Under the migration lock, so two at once are harmless."""
    from tracker.bootstrap import open_app
    from tracker.store.db import printable_url, schema_revisions, upgrade

    app = open_app(settings, migrate=False)
    before, head = schema_revisions(app.engine)
    upgrade(app.engine)
    where = printable_url(settings.resolved_database_url)
    change = "already current" if before == head else f"upgraded from {before or 'empty'}"
    print(f"database ready at {where}: schema {head} ({change})")
    app.close()
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import courses, photos
    from tracker.app.context import Context
    from tracker.bootstrap import open_app
    from tracker.ingest import Rejected
    from tracker.permissions import Actor

    app = open_app(settings)
    actor = Actor.operator(_clinic_id(app, args.clinic, create=True))
    try:
        client = courses.find_client(Context(app, actor), args.client)
    except Rejected as exc:
        raise UsageError(str(exc)) from None
    try:
        client_id = (
            client.id
            if client
            else courses.create_client(Context(app, actor), args.client, concern=Concern(args.concern))
        )
    except courses.SameName as exc:  # another import created the client meanwhile: theirs it is
        if exc.client_id is None:
            raise
        client_id = exc.client_id
    kind = PhotoKind(args.kind) if args.kind else None
    refused = 0
    for path in _progress(args.files, "importing"):
        try:
            data = path.read_bytes()
            for attempt in (1, 2):  # once more when another import made the session meanwhile
                try:
                    done = photos.import_photo(
                        Context(app, actor),
                        client_id,
                        data,
                        path.name,
                        session_number=args.session,
                        kind=kind,
                        taken_at=args.taken_at,
                        create_session=True,
                    )
                    break
                except photos.SessionTaken:
                    if attempt == 2:
                        raise
        except (Rejected, OSError) as exc:
            refused += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            _say(f"rejected {path}: {reason}")
            continue
        except Exception:  # one file never loses the batch; the details go to the log
            log.exception("importing %s failed", path)
            refused += 1
            _say(f"rejected {path}: it could not be processed (an unexpected error, logged); the rest go on")
            continue
        _say(
            f"imported {path} as photo {done.photo_id} "
            f"{_quality_note(done)}"
            f"(session {done.session_number}, {done.kind.value}, "
            f"taken {done.taken_at:%Y-%m-%d %H:%M} [{done.taken_at_source}], "
            f"{done.width}x{done.height})"
        )
    from tracker.app import jobs

    jobs.run_pending(app)  # a chart that taught the series its scale: the earlier photos too
    return EXIT_REFUSED if refused else EXIT_OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import courses
    from tracker.app.context import Context
    from tracker.bootstrap import open_app
    from tracker.permissions import Actor

    app = open_app(settings)
    listing = []
    with app.uow() as uow:
        clinics = [(c.id, c.name) for c in uow.repo.clinics() if not args.clinic or c.name == args.clinic]
    if args.clinic and not clinics:
        raise UsageError(f"no clinic called {args.clinic!r}")
    for clinic_id, name in clinics:
        rows = courses.overview(Context(app, Actor.operator(clinic_id)))
        listing.append({"id": clinic_id, "name": name, "clients": [_client_json(r) for r in rows]})
    if args.json:
        print(json.dumps({"clinics": listing}, indent=2, ensure_ascii=False))
    else:
        _print_listing(listing)
    return EXIT_OK


def cmd_fsck(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import consistency
    from tracker.bootstrap import open_app

    app = open_app(settings)
    report = consistency.check(app, repair=args.repair, min_age_seconds=args.min_age)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for problem in report.problems:
            print(problem.describe())
        state = "consistent" if report.consistent else "INCONSISTENT"
        print(f"{state}: {report.photos} photos, {report.blobs} blobs, {len(report.problems)} problems")
    return EXIT_OK if report.consistent else EXIT_REFUSED


def _decode_file(path: Path, settings: Settings) -> Ingested:
    from tracker.ingest import Limits, ingest

    return ingest(path.read_bytes(), path.name, Limits.from_settings(settings))


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.imaging.analyze import NoZones, Options, analyze
    from tracker.imaging.zones import Zones
    from tracker.ingest import Rejected

    if args.reference and not args.zone:
        raise UsageError("--reference needs --zone as well")
    zones = Zones(args.zone, args.reference, "manual") if args.zone else None
    options = Options(patch_pitch_mm=settings.chart_patch_pitch_mm)
    refused = 0
    for path in _progress(args.files, "analysing"):
        try:
            image = _decode_file(path, settings)
            result = analyze(image.rgb, zones=zones, px_per_mm=args.px_per_mm, options=options)
        except (Rejected, OSError, NoZones) as exc:
            refused += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            _say(json.dumps({"file": str(path), "error": reason}, ensure_ascii=False))
            continue
        line = {"file": str(path), **result.to_json()}
        _say(json.dumps(line, ensure_ascii=False))
    return EXIT_REFUSED if refused else EXIT_OK


def cmd_align(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.imaging.registration import register
    from tracker.ingest import Rejected

    try:
        baseline = _decode_file(args.baseline, settings)
        followup = _decode_file(args.followup, settings)
    except (Rejected, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(json.dumps({"error": reason}))
        return EXIT_REFUSED
    reg = register(baseline.rgb, followup.rgb)
    print(
        json.dumps(
            {"matrix": reg.to_json()["matrix"], "score": reg.score, "ok": reg.ok, "method": reg.method}
        )
    )
    return EXIT_OK if reg.ok else EXIT_REFUSED


def cmd_reanalyze(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import job_queue
    from tracker.app.context import Context
    from tracker.app.dashboard import refresh_clinic_status
    from tracker.bootstrap import open_app
    from tracker.imaging.version import METRIC_VERSION
    from tracker.permissions import Actor

    processes = settings.worker_processes if args.processes is None else args.processes
    if processes < 0:
        raise UsageError("--processes must be 0 or more")
    app = open_app(settings)
    batch = job_queue.enqueue_reanalysis(app, everything=args.all)
    shared = len(batch.ids) - batch.new
    print(
        f"queued {batch.new} jobs for {batch.photos} photos"
        + (f" ({shared} already queued by another run)" if shared else "")
    )
    if args.no_wait:
        return EXIT_OK
    views = _wait_for_jobs(app, settings, batch.ids, processes if batch.ids else 0)
    failures = [line for v in views for line in v.failures]
    failures += [f"job {v.id}: {v.error}" for v in views if v.state == "failed"]
    for line in failures:
        print(f"failed {printable(line)}")
    count = sum(v.total for v in views)
    print(f"analysed {count} photos with metric version {METRIC_VERSION}; {len(failures)} failed")
    if count:
        # Bring the dashboard's per-client summaries up to date now, in this batch job,
        # rather than on the first dashboard view after it.
        with app.uow() as uow:
            clinic_ids = [c.id for c in uow.repo.clinics()]
        refreshed = sum(
            refresh_clinic_status(
                Context(app, Actor.operator(cid)),
                date.today(),
                progress=lambda ids: _progress(list(ids), "summaries"),
            )
            for cid in clinic_ids
        )
        print(f"refreshed {refreshed} client summaries for the dashboard")
    return EXIT_REFUSED if failures else EXIT_OK


def _wait_for_jobs(app: App, settings: Settings, ids: list[int], processes: int) -> list[Any]:
    """Run `processes` workers until these jobs have ended, printing their progress; once
    the workers have left (no job free for them), this process takes any job still free (a
    worker elsewhere died) while it waits for the others' workers."""
    import time

    from tracker import worker_pool
    from tracker.app import job_queue

    workers = worker_pool.start(settings, processes, until_idle=True)
    said = ""
    try:
        while True:
            views = job_queue.jobs_by_id(app, ids)
            done = sum(v.done if v.state == "running" else v.total if v.state == "done" else 0 for v in views)
            total = sum(v.total for v in views)
            ended = sum(1 for v in views if v.state in ("done", "failed"))
            line = f"analysing: {done}/{total} photos, {ended}/{len(views)} jobs ended"
            if line != said:
                _say(line, sys.stderr)
                said = line
            if ended == len(views):
                return views
            if all(not w.is_alive() for w in workers) and job_queue.run_next(app, job_queue.worker_name()):
                continue
            time.sleep(0.5)
    finally:
        worker_pool.stop(workers)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from tracker import worker_pool
    from tracker.bootstrap import open_app

    processes = settings.worker_processes if args.processes is None else args.processes
    if processes < 1:
        raise UsageError("--processes must be 1 or more")
    open_app(settings).close()  # the schema is current before any worker claims a job
    print(f"starting {processes} worker processes")
    failed = worker_pool.run(settings, processes, until_idle=args.until_idle)
    return EXIT_REFUSED if failed else EXIT_OK


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import job_queue
    from tracker.bootstrap import open_app

    app = open_app(settings)
    if args.action == "retry":
        if args.job_id is None:
            raise UsageError("jobs retry needs the job's ID (see `jobs`)")
        if not job_queue.retry(app, args.job_id):
            print(f"job {args.job_id} has not failed (or does not exist): nothing to retry")
            return EXIT_REFUSED
        print(f"job {args.job_id} queued again")
        return EXIT_OK
    views = job_queue.all_jobs(app)
    if args.json:
        print(json.dumps([dataclasses.asdict(v) for v in views], default=str, indent=2))
        return EXIT_OK
    if not views:
        print("no jobs")
    for v in views:
        line = (
            f"{v.id:>6}  {v.shown_state:<8} {v.done}/{v.total}  "
            f"attempts {v.attempts}/{v.max_attempts}  {v.label}"
        )
        if v.worker and v.state == "running":
            line += f"  [{v.worker}]"
        print(printable(line))
        if v.silent_since is not None:
            since = f"{v.silent_since:%Y-%m-%d %H:%M}"
            print(f"        no report from its worker since {since} UTC; the next worker takes it again")
        if v.error:
            print(f"        {printable(v.error)}")
        for failure in v.failures:
            print(f"        failed {printable(failure)}")
    return EXIT_OK


def cmd_progress(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app.context import Context
    from tracker.app.courses import course_progress
    from tracker.bootstrap import open_app
    from tracker.ingest import Rejected
    from tracker.permissions import Actor

    app = open_app(settings)
    with app.uow() as uow:
        if not uow.repo.clinics():
            raise UsageError("no clinics yet: import photos or run `python -m tracker demo`")
    actor = Actor.operator(_clinic_id(app, args.clinic))
    client_id = _client_id(app, actor, args.client)
    try:
        progress = course_progress(Context(app, actor), client_id, args.today)
    except Rejected as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(progress.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_progress(progress.to_json())
    return EXIT_OK


def _print_progress(p: dict[str, Any]) -> None:
    course, nxt = p["course"], p["course"]["next_session"]
    ita = p["client"]["ita_deg"]
    area = printable(course["body_area"]) or "area not set"
    print(f"{printable(p['client']['name'])} — {course['concern_label']}, {area}")
    print(
        f"  course: {course['sessions_done']}/{course['planned_sessions']} sessions, every "
        f"{course['interval_weeks']} weeks"
        + (
            f", upkeep every {course['upkeep_interval_weeks']} weeks"
            if course["upkeep_interval_weeks"]
            else ""
        )
        + (f"; skin tone ITA {ita:.0f}°" if ita is not None else "")
    )
    if nxt["kind"] == "complete":
        print("  next session: course complete")
    elif nxt["due"]:
        late = f" — OVERDUE by {nxt['overdue_days']} days" if nxt["overdue_days"] else ""
        print(f"  next session: {nxt['kind']} session {nxt['number']} due {nxt['due']}{late}")
    print(f"  photos: {p['photos']} ({p['photos_usable']} usable for trends)")
    print(
        "  metric                          baseline    latest    change   noise band  status        trend/30d"
    )
    for m in p["metrics"].values():
        pct = f" ({m['change_pct']:+.0f}%)" if m["change_pct"] is not None else ""
        print(
            f"    {m['label'][:28]:<28} {_num(m['baseline']):>9} {_num(m['latest']):>9} "
            f"{_num(m['change'], signed=True):>9}{pct:<7} ±{_num(m['noise_band']['sdc']):<9} "
            f"{m['status'] or '-':<13} {_num(m['trend_per_30_days'], signed=True)}"
        )
    print("  sessions:")
    for s in p["sessions"]:
        st = s["settings"]
        rec = s["recovery"]
        depth = f"{st['needle_depth_mm']} mm" if st["needle_depth_mm"] else "depth ?"
        rating = f", rated {s['client_rating']}/10" if s["client_rating"] else ""
        recovery = (
            f"recovery T50 {rec['t50_hours']:.0f} h, T90 {rec['t90_hours']:.0f} h ({rec['vs_normal']}; "
            f"{s['recovery_vs_earlier']})"
            if rec and rec["t90_hours"] is not None
            else "recovery: not enough photos"
        )
        change = ", ".join(
            f"{k} {_num(v, signed=True)}" for k, v in s["change_that_followed"].items() if v is not None
        )
        print(
            f"    {s['number']}. {s['at'][:10]}  {printable(st['device']) or 'device ?'} {depth} "
            f"×{st['passes'] or '?'} {printable(st['serum'])}{rating}"
        )
        print(f"       {recovery}")
        if change:
            print(f"       change by the next session: {change}")
    print("  flags:" if p["flags"] else "  flags: none")
    for f in p["flags"]:
        print(f"    [{f['severity']}] {printable(f['title'])}")
        for line in f["evidence"]:
            print(f"        - {printable(line)}")


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3g}" if signed else f"{value:.3g}"


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from tracker.app.demo import SAMPLE_DIR, build_demo, demo_photo_count, load_manifest
    from tracker.bootstrap import open_app

    source = SAMPLE_DIR if args.source is None else args.source
    if settings.environment == "production":
        _say(
            "refused: the demo creates accounts whose passwords are published; "
            "it does not run with TRACKER_ENVIRONMENT=production"
        )
        return EXIT_REFUSED
    app = open_app(settings)
    try:
        total = demo_photo_count(load_manifest(source))
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    bar = tqdm(
        total=total,
        desc="demo photos",
        unit="photo",
        file=sys.stderr,
        leave=False,
        disable=not sys.stderr.isatty(),
    )
    result = build_demo(app, source, on_photo=lambda _f, _o: bar.update())
    bar.close()
    print(
        f"demo clinic ready: {result.clients} clients, {result.photos_imported} photos imported, "
        f"{result.photos_present} already present"
    )
    for line in result.rejected or []:
        print(f"rejected {printable(line)}")
    return EXIT_REFUSED if result.rejected else EXIT_OK


def cmd_demo_off(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import courses
    from tracker.bootstrap import open_app

    app = open_app(settings)
    count = courses.switch_off_demo_accounts(app)
    print(f"switched off {count} demo account{'s' if count != 1 else ''}")
    return EXIT_OK


def cmd_add_clinic(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import courses
    from tracker.bootstrap import open_app
    from tracker.errors import Refused

    app = open_app(settings)
    name = " ".join(args.name.split())
    if not name:
        raise UsageError("a clinic needs a name")
    with app.uow() as uow:
        if uow.repo.clinic_by_name(name) is not None:
            _say(f"refused: a clinic called {name!r} exists already")
            return EXIT_REFUSED
    try:
        clinic_id = courses.ensure_clinic(app, name)
    except Refused as exc:  # e.g. a control character in the name
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    print(f"created clinic {name!r} (id {clinic_id})")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Replace this process with the Streamlit server, configured from the settings."""
    from tracker.app import courses
    from tracker.bootstrap import open_app
    from tracker.serve import auth_options, server_environment, streamlit_command

    app = open_app(settings)
    if settings.environment == "production":
        active = courses.demo_accounts_active(app)
        if active:
            _say(
                f"refused: {len(active)} demo account(s) are active ({', '.join(active[:3])}…) and their "
                "passwords are published; run `python -m tracker demo-off` first"
            )
            return EXIT_REFUSED
    app.close()
    extra = [a for a in args.streamlit_args if a != "--"]
    command = streamlit_command(settings, sys.executable, [*auth_options(settings), *extra])
    os.execve(
        sys.executable,
        command,
        server_environment(dict(os.environ), settings.cookie_secret.get_secret_value()),
    )
    return EXIT_OK  # not reached


# Helpers --------------------------------------------------------------------------------


def _quality_note(done: photos.Imported) -> str:
    outcome = done.analysis
    if outcome is None:
        return ""
    if not outcome.ok:
        return f"[not analysed: {outcome.message}] "
    assert outcome.analysis is not None
    score = outcome.analysis.quality.score
    return f"[quality {score:.2f}] "


def cmd_add_user(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import people
    from tracker.app.context import Context
    from tracker.bootstrap import open_app
    from tracker.ingest import Rejected
    from tracker.permissions import Actor

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise UsageError("the two passwords differ")
    else:
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    role = Role(args.role)
    app = open_app(settings)
    actor = Actor.operator(_clinic_id(app, args.clinic, create=True))
    client_id = _client_id(app, actor, args.client) if args.client else None
    try:
        user_id = people.create_account(
            Context(app, actor), args.email, role, password, client_id=client_id, display_name=args.name
        )
    except Rejected as exc:
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    _say(f"created {role.value} account {args.email.strip().lower()} (user {user_id})")
    return EXIT_OK


def cmd_send_reminders(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from tracker.app import reminders
    from tracker.app.context import Context
    from tracker.bootstrap import open_app
    from tracker.errors import Refused
    from tracker.permissions import Actor

    if not args.dry_run and not settings.smtp_host:
        _say("smtp_host is not set: no email sent (--dry-run shows what would be sent)")
        return EXIT_OK
    today = args.today or datetime.now(ZoneInfo(settings.time_zone)).date()
    app = open_app(settings)
    ctx = Context(app, Actor.operator(_clinic_id(app, args.clinic)))
    try:
        if args.dry_run:
            emails = reminders.send_reminders(ctx, today, send=None)
        else:
            with reminders.smtp_sender(settings) as send:
                emails = reminders.send_reminders(ctx, today, send=send)
    except Refused as exc:
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    for email in emails:
        whats = ", ".join(r.what for r in email.reminders)
        _say(f"{'would send' if args.dry_run else 'sent'} to {email.to}: {email.subject} [{whats}]")
        if args.dry_run:
            _say(email.body)
    _say(f"{len(emails)} email(s) {'to send' if args.dry_run else 'sent'} for {today:%Y-%m-%d}")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app.retention import purge
    from tracker.bootstrap import open_app

    purged = purge(open_app(settings))
    kept = (
        "kept for ever (audit_retention_days = 0)"
        if settings.audit_retention_days == 0
        else f"older than {settings.audit_retention_days} days"
    )
    print(
        f"removed {purged.login_sessions} sign-in session(s) over for more than "
        f"{settings.login_session_retention_days} days"
    )
    print(f"removed {purged.throttle_rows} sign-in throttle count(s) whose window has passed")
    print(f"removed {purged.audit_events} audit event(s) {kept}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import records
    from tracker.app.context import Context

    if args.output.exists():
        raise UsageError(f"{args.output} exists already; choose a new file name")
    app, actor, client_id = _one_client(args, settings)
    tmp = args.output.with_name(args.output.name + ".part")
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            filename = records.write_client_export(Context(app, actor), client_id, out)
        tmp.replace(args.output)  # never a half-written zip under the final name
    finally:
        tmp.unlink(missing_ok=True)
    _say(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB; suggested name {filename})")
    return EXIT_OK


def cmd_delete_client(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import records
    from tracker.app.context import Context
    from tracker.ingest import Rejected

    app, actor, client_id = _one_client(args, settings)
    try:
        done = records.delete_client(Context(app, actor), client_id, args.confirm)
    except Rejected as exc:
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    _say(
        f"deleted {args.client}: {done.photos} photos, {done.files_deleted} files "
        f"({done.files_kept} kept: still used by another client's photo)"
    )
    return EXIT_OK


def cmd_new_key(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.store.encryption_keys import MasterKey, write_key_file

    key = MasterKey.generate()
    try:
        write_key_file(args.path, key)
    except FileExistsError:
        raise UsageError(
            f"{args.path} exists: a key file is never replaced (that would lose the key)"
        ) from None
    print(f"wrote a new key (id {key.key_id}) to {args.path}; keep a copy apart from the backups")
    return EXIT_OK


def cmd_encrypt_store(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app.encryption import encrypt_store
    from tracker.bootstrap import open_app

    if settings.encryption_key_file is None and not settings.encryption_key.get_secret_value():
        raise UsageError("set TRACKER_ENCRYPTION_KEY_FILE to the key to encrypt with (`new-key` makes one)")
    app = open_app(settings, begin_encryption=True)
    report = encrypt_store(app, print)
    for problem in report.problems:
        print(problem)
    print(
        f"{'done' if not report.problems else 'INCOMPLETE'}: {report.photos} photos encrypted now, "
        f"{report.already} before, {report.leftovers} leftover plaintext files deleted, "
        f"{report.rows} record rows encrypted"
    )
    return EXIT_REFUSED if report.problems else EXIT_OK


def cmd_rotate_key(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app.encryption import rotate_key
    from tracker.bootstrap import open_app
    from tracker.store.encryption_keys import key_from_file

    if settings.encryption_key_file is None and not settings.encryption_key.get_secret_value():
        raise UsageError(
            "set TRACKER_ENCRYPTION_KEY_FILE to the store's current key "
            "(or to the new one, with the old one in TRACKER_ENCRYPTION_OLD_KEY_FILE)"
        )
    new = key_from_file(args.new_key_file)
    app = open_app(settings)
    report = rotate_key(app, new, print)
    for problem in report.problems:
        print(problem)
    if report.problems:
        print(f"INCOMPLETE: {report.rewrapped} files re-wrapped; the old key still opens the store")
        return EXIT_REFUSED
    print(
        f"done: {report.rewrapped} files re-wrapped with key {new.key_id}, {report.already} were already; "
        f"the store no longer opens with key {', '.join(report.dropped_keys) or '(none)'}. "
        f"Set TRACKER_ENCRYPTION_KEY_FILE={args.new_key_file} and unset TRACKER_ENCRYPTION_OLD_KEY_FILE."
    )
    if report.plaintext:
        print(f"{report.plaintext} files are not encrypted yet: run `encrypt-store`")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import backup
    from tracker.bootstrap import open_app
    from tracker.errors import Refused

    try:
        backup.sqlite_database(settings)
    except Refused as exc:
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    app = open_app(settings)
    try:
        done = backup.backup(app, args.dest, keep=args.keep)
    except Refused as exc:
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    finally:
        app.close()
    m = done.manifest
    _say(
        f"wrote {done.path} ({done.size / 1e6:.1f} MB): database (schema {m.schema_revision}), "
        f"{m.counts.get('photo', 0)} photos, {len(m.blobs)} files"
    )
    for path in done.pruned:
        _say(f"removed old backup {path.name}")
    if not done.complete:
        damaged = set(done.corrupt)
        for key in m.missing:
            state = "damaged" if key in damaged else "missing"
            _say(f"not in the backup: file {key[:12]}… ({state} in the store)")
        _say(f"INCOMPLETE: {len(m.missing)} files the database uses were not backed up; run `fsck`")
        return EXIT_REFUSED
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import backup
    from tracker.errors import Refused

    try:
        done = backup.restore(settings, args.archive, force=args.force)
    except Refused as exc:
        _say(f"refused: {exc}")
        return EXIT_REFUSED
    m, report = done.manifest, done.fsck
    if done.moved_aside:
        _say(f"moved the previous contents of {done.data_dir} to {done.moved_aside}")
    _say(
        f"restored {args.archive.name} (backup of {m.created_at:%Y-%m-%d %H:%M} UTC) into {done.data_dir}: "
        f"{m.counts.get('photo', 0)} photos, {len(m.blobs)} files, each file's SHA-256 checked"
    )
    if done.upgraded_from:
        _say(f"database upgraded from schema {done.upgraded_from} to this version's")
    if done.left_out:
        _say(f"left out {done.left_out} files the backup's database does not use")
    for problem in report.problems:
        _say(problem.describe())
    state = "consistent" if report.consistent else "INCONSISTENT"
    _say(f"fsck: {state}: {report.photos} photos, {report.blobs} blobs, {len(report.problems)} problems")
    return EXIT_OK if report.consistent else EXIT_REFUSED


def _one_client(args: argparse.Namespace, settings: Settings) -> tuple[App, Actor, int]:
    from tracker.bootstrap import open_app
    from tracker.permissions import Actor

    app = open_app(settings)
    actor = Actor.operator(_clinic_id(app, args.clinic))
    return app, actor, _client_id(app, actor, args.client)


def _client_id(app: App, actor: Actor, name: str) -> int:
    from tracker.app import courses
    from tracker.app.context import Context
    from tracker.ingest import Rejected

    try:
        client = courses.find_client(Context(app, actor), name)
    except Rejected as exc:
        raise UsageError(str(exc)) from None
    if client is None:
        raise UsageError(f"no client called {name!r}")
    return client.id


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from tracker.app import people
    from tracker.app.context import Context
    from tracker.bootstrap import open_app
    from tracker.permissions import Actor

    app = open_app(settings)
    actor = Actor.operator(_clinic_id(app, args.clinic))
    rows = people.list_accounts(Context(app, actor))
    if args.json:
        print(
            json.dumps(
                [
                    {"id": a.id, "email": a.email, "role": a.role.value, "client": a.client_name,
                     "active": a.active, "created_at": a.created_at.isoformat(timespec="seconds")}
                    for a in rows
                ],
                ensure_ascii=False,
            )
        )  # fmt: skip
        return EXIT_OK
    for a in rows:
        who = f" ({printable(a.client_name)})" if a.client_name else ""
        off = "" if a.active else "  [switched off]"
        print(f"{a.id:>5}  {a.role.value:<12} {printable(a.email)}{who}{off}")
    return EXIT_OK


def _clinic_id(app: App, name: str | None, *, create: bool = False) -> int:
    """The clinic a command works in. `--clinic` must name an existing clinic (a typo never
    makes a new one); without it, the configured clinic (TRACKER_CLINIC_NAME), made on
    first use, or the only clinic there is. The demo clinic is never taken by default."""
    from tracker.app import courses

    with app.uow() as uow:
        clinics = [(c.id, c.name, c.is_demo) for c in uow.repo.clinics()]
    if name:
        match = [cid for cid, cname, _demo in clinics if cname == name]
        if match:
            return match[0]
        known = ", ".join(repr(cname) for _cid, cname, _demo in clinics) or "none yet"
        raise UsageError(f"no clinic called {name!r} (clinics: {known}); create one with add-clinic")
    real = [(cid, cname) for cid, cname, demo in clinics if not demo]
    configured = [cid for cid, cname in real if cname == app.settings.clinic_name]
    if configured:
        return configured[0]
    if not real and create:  # the first import or account of a new installation
        return courses.ensure_clinic(app, app.settings.clinic_name)
    if not real:
        demo = ", ".join(repr(cname) for _cid, cname, _demo in clinics)
        hint = f"; the demo's is {demo}: pass --clinic" if demo else ""
        raise UsageError(f"no clinic yet{hint}")
    if len(real) == 1:
        return real[0][0]
    names = ", ".join(repr(cname) for _cid, cname in real)
    raise UsageError(f"several clinics exist ({names}); choose one with --clinic")


def _client_json(row: courses.ClientRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "skin_tone": row.skin_tone,
        "concern": row.concern.value if row.concern else None,
        "planned_sessions": row.planned_sessions,
        "interval_weeks": row.interval_weeks,
        "sessions": [
            {
                "number": s.number,
                "at": s.at.isoformat(),
                "device": s.device,
                "needle_depth_mm": s.needle_depth_mm,
                "passes": s.passes,
                "serum": s.serum,
                "price": str(s.price) if s.price is not None else None,
                "photos": [
                    {
                        "id": p.id,
                        "kind": p.kind.value,
                        "taken_at": p.taken_at.isoformat(),
                        "width": p.width,
                        "height": p.height,
                        "format": p.format,
                        "status": p.status,
                        "file": p.filename,
                    }
                    for p in s.photos
                ],
            }
            for s in row.sessions
        ],
    }


def _print_listing(listing: list[dict[str, Any]]) -> None:
    if not listing:
        print("no clinics yet: import photos or run `python -m tracker demo`")
    for clinic in listing:
        print(f"{printable(clinic['name'])} ({len(clinic['clients'])} clients)")
        for c in clinic["clients"]:
            concern = Concern(c["concern"]).label if c["concern"] else "no course"
            done = len(c["sessions"])
            name, planned = printable(c["name"]), c["planned_sessions"]
            print(f"  client {c['id']}: {name} — {concern}, {done}/{planned} sessions")
            for s in c["sessions"]:
                depth = f" {s['needle_depth_mm']} mm" if s["needle_depth_mm"] else ""
                when = s["at"][:16].replace("T", " ")
                print(f"    session {s['number']}  {when}  {printable(s['device'])}{depth}")
                for p in s["photos"]:
                    print(
                        f"      photo {p['id']:>4}  {p['kind']:<8} {p['taken_at'][:16].replace('T', ' ')}"
                        f"  {p['width']}x{p['height']} {p['format']}  {p['status']}  {printable(p['file'])}"
                    )
