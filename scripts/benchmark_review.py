"""Server time of client-review interactions for a demo client (issue 8: ≤ 0.5 s).

    .venv/bin/python scripts/benchmark_review.py [--data-dir DIR] [--repeat 5]

Runs the real page through Streamlit's AppTest (the script the server runs, without a
browser), signed in as the demo practitioner, on a copy of a data folder that holds the
demo (made with `python -m tracker demo` when --data-dir is not given). Each interaction
is one script run, timed with the clock: opening the review, clicking in the Flags tab
(adding an empty note), opening the Charts tab and its other chart groups, the Recovery
and Compare tabs, switching the comparison view, and the Charts tab once more. Every
visit starts with no chart built (cold); "again" shows the kept charts. The baseline in
the same run is a bare run of the sign-in page (the fixed cost of any click).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--client", default="Niamh O'Sullivan")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp()) / "data"
    if args.data_dir:
        shutil.copytree(args.data_dir, work)
    else:
        subprocess.run(
            [sys.executable, "-m", "tracker", "--data-dir", str(work), "demo"], check=True, cwd=ROOT
        )
    os.environ["TRACKER_DATA_DIR"] = str(work)
    os.environ["TRACKER_DEMO_MODE"] = "true"
    os.chdir(ROOT)

    from streamlit.testing.v1 import AppTest

    from tracker.app import courses
    from tracker.app.context import Context
    from tracker.app.demo import DEMO_PRACTITIONER_EMAIL, DEMO_PRACTITIONER_PASSWORD
    from tracker.bootstrap import open_app
    from tracker.permissions import Actor

    try:
        from tracker.ui import charts
    except ImportError:  # the code before issue 8 kept no charts
        charts = None

    app = open_app()
    client_id = next(c.id for c in courses.overview(Context(app, Actor.operator(1))) if c.name == args.client)

    def timed(step: Callable[[], object]) -> float:
        start = time.perf_counter()
        step()
        return time.perf_counter() - start

    results: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        results.setdefault(name, []).append(seconds)

    def one_visit() -> None:
        if charts is not None:
            charts._specs.clear()  # every visit starts cold: no chart of this client built yet
        bare = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        record("sign-in page (baseline)", timed(bare.run))
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
        at.text_input(key="email").input(DEMO_PRACTITIONER_EMAIL)
        at.text_input(key="password").input(DEMO_PRACTITIONER_PASSWORD)
        at.button[0].click().run()
        at.switch_page("pages/client_review.py").run()
        record("open the review", timed(at.selectbox(key="review_client").set_value(client_id).run))
        add = next(b for b in at.button if b.label == "Add note")
        record("click in Flags & notes", timed(add.click().run))
        record("open Charts", timed(lambda: _open_tab(at, "Charts")))
        for group in ("Pigment", "Texture"):
            pickers = [g for g in at.get("button_group") if g.label == "Charts"]  # type: ignore[attr-defined]
            if pickers:  # (before issue 8 all nine charts were on one page)
                record(f"show {group} charts", timed(pickers[0].set_value(group).run))
        for tab in ("Recovery", "Compare"):
            record(f"open {tab}", timed(lambda tab=tab: _open_tab(at, tab)))
        views = [g for g in at.get("button_group") if g.label == "View"]  # type: ignore[attr-defined]
        if views:
            record("switch comparison view", timed(views[0].set_value("Side by side").run))
        record("open Charts again", timed(lambda: _open_tab(at, "Charts")))
        assert not at.exception, at.exception

    for _ in range(args.repeat):
        one_visit()
    base = statistics.median(results["sign-in page (baseline)"])
    print(f"{'interaction':28} {'median s':>9} {'× baseline':>11}")
    worst = 0.0
    for name, times in results.items():
        median = statistics.median(times)
        if name != "sign-in page (baseline)" and name != "open the review":
            worst = max(worst, median)
        print(f"{name:28} {median:>9.3f} {median / base:>11.1f}")
    print(f"slowest interaction after opening: {worst:.3f} s (goal ≤ 0.5 s)")
    return 0


def _open_tab(at: object, label: str) -> None:
    """What a click on a tab does: the tab's label becomes its widget value, then a run."""
    at.session_state["review_tab"] = label  # type: ignore[attr-defined]
    at.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
