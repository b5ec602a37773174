"""The audit log page shows people as the clinic knows them now: rows keep ids, the page
shows each account's current email and each client's current name (issue 12, item 2)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.app.conftest import signed_in
from tracker.app.demo import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD


def test_the_audit_log_shows_current_emails_and_client_names(demo_dir: Path) -> None:
    at = signed_in(DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD)
    at.switch_page("pages/audit_log.py").run()
    assert not at.exception, at.exception
    log = at.dataframe[0].value
    assert DEMO_ADMIN_EMAIL in set(log["who"])
    assert not any(re.fullmatch(r"user \d+", str(who)) for who in log["who"])  # ids resolved
    assert any(re.fullmatch(r"client \d+ \(.+\)", str(record)) for record in log["record"])
