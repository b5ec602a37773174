"""Cost of a My progress reload's before/after comparison, cold and kept (issue 12 item 11).

    .venv/bin/python scripts/benchmark_compare_cache.py [--repeat 10]

Imports a demo client's first before-photo and a later one (real ingest and analysis),
then times `photos.aligned_pair` as a client calls it: cold (the kept pairs cleared before
each call: decode, register when needed, warp) against warm (kept, as on a reload), both
interleaved in the same run. Prints both medians and the cold/warm ratio: how many
reloads a client needs now to cost the server what one reload cost before. A second pair
whose later photo cannot be registered from its analysis (no registration in its result)
shows the worst case, where aligning runs the registration on the display copies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.app import courses, photos
from tracker.app.context import Context
from tracker.app.demo import SAMPLE_DIR
from tracker.bootstrap import open_app
from tracker.config import Settings
from tracker.permissions import Actor
from tracker.store.models import AnalysisResult
from tracker_dev.timing import elapsed_ms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    manifest = json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))
    ava = manifest["clients"][0]
    befores = [p for p in ava["photos"] if p["kind"] == "before"]
    chosen = [befores[0], befores[-1], befores[len(befores) // 2]]
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        app = open_app(Settings(data_dir=Path(tmp), _env_file=None))  # type: ignore[call-arg]
        clinic_id = courses.ensure_clinic(app, "Bench Clinic")
        ctx = Context(app, Actor.operator(clinic_id))
        client_id = courses.create_client(ctx, "Bench Client")
        ids = [
            photos.import_photo(
                ctx,
                client_id,
                (SAMPLE_DIR / p["file"]).read_bytes(),
                Path(p["file"]).name,
                session_number=p["session"],
                taken_at=datetime.fromisoformat(p["taken_at"]),
                create_session=True,
            ).photo_id
            for p in chosen
        ]
        # The worst case: the third photo's result has no registration, so aligning registers.
        with app.uow() as uow:
            uow.session.execute(
                update(AnalysisResult).where(AnalysisResult.photo_id == ids[2]).values(registration=None)
            )
            uow.session.commit()
        for label, pair in (("registered at upload", (ids[0], ids[1])), ("registered now", (ids[0], ids[2]))):
            cold: list[float] = []
            warm: list[float] = []
            for _ in range(args.repeat):
                photos.KEPT_PAIRS.clear()
                cold.append(elapsed_ms(lambda pair=pair: photos.aligned_pair(ctx, *pair)))
                warm.append(elapsed_ms(lambda pair=pair: photos.aligned_pair(ctx, *pair)))
            c, w = statistics.median(cold), statistics.median(warm)
            print(f"{label:>22}: cold {c:8.1f} ms   kept {w:6.1f} ms   cold/kept ratio {c / w:6.1f}")
        app.close()


if __name__ == "__main__":
    main()
