"""Issue 13 item 4: which staff account a sign-in through the identity provider becomes.

The provider's answer (issuer, subject, email, email_verified) is mapped by a table: the
first sign-in with a verified email links the staff account of that email to the
provider's (issuer, subject), later ones go by the link alone. Refusals make no session,
are audited without any email, and say what the person can do. Runs on SQLite and, with
--database=postgresql, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tracker.app import people
from tracker.app.context import Context
from tracker.app.oidc import NO_ROLE, SWITCHED_OFF, TOO_OLD, Identity, IdentityRefused, sign_in_with_identity
from tracker.bootstrap import App
from tracker.config import Settings
from tracker.domain import Role
from tracker.permissions import Actor, PermissionDenied
from tracker.store.models import AuditEvent, LoginSession, OidcIdentity, utcnow

ISSUER = "https://id.chain.example"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        public_url="https://photos.chain.example",
        oidc_server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        oidc_client_id="tracker",
        oidc_client_secret="s3cret-from-the-provider",
        cookie_secret="x" * 32,
        _env_file=None,
    )


def _staff(app: App, operator: Actor, email: str, role: Role = Role.PRACTITIONER) -> int:
    return people.create_account(Context(app, operator), email, role, None)


def _who(email: str = "pat@chain.example", *, subject: str = "sub-pat", verified: bool = True) -> Identity:
    return Identity(issuer=ISSUER, subject=subject, email=email, email_verified=verified, issued_at=utcnow())


def _audit(app: App) -> list[AuditEvent]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _sessions(app: App) -> int:
    with app.uow() as uow:
        return len(list(uow.session.scalars(select(LoginSession))))


def test_a_verified_email_links_the_staff_account_and_later_sign_ins_go_by_the_link(
    app: App, operator: Actor
) -> None:
    user_id = _staff(app, operator, "pat@chain.example")
    actor = sign_in_with_identity(app, _who())
    assert (actor.user_id, actor.role, actor.clinic_id) == (user_id, Role.PRACTITIONER, operator.clinic_id)
    # The provider changed her email: the link still finds her account.
    again = sign_in_with_identity(app, _who("patricia@chain.example"))
    assert again.user_id == user_id
    with app.uow() as uow:
        links = [(r.issuer, r.subject, r.user_id) for r in uow.session.scalars(select(OidcIdentity))]
    assert links == [(ISSUER, "sub-pat", user_id)]
    [account] = [a for a in people.list_accounts(Context(app, operator)) if a.id == user_id]
    assert account.status == "signs in through the identity provider"
    signed = [e for e in _audit(app) if e.action == "sign_in"]
    assert [(e.actor, e.detail) for e in signed] == [
        (f"user {user_id}", {"via": "identity provider", "linked": True}),
        (f"user {user_id}", {"via": "identity provider"}),
    ]


def test_the_session_is_ours_so_sign_out_and_switch_off_work_as_for_passwords(
    app: App, operator: Actor
) -> None:
    user_id = _staff(app, operator, "pat@chain.example")
    actor = sign_in_with_identity(app, _who())
    token = people.open_session(app, actor)
    assert people.resume_session(app, token) == actor
    people.end_session(app, token)
    assert people.resume_session(app, token) is None

    token = people.open_session(app, sign_in_with_identity(app, _who()))
    people.set_active(Context(app, operator), user_id, False)
    assert people.resume_session(app, token) is None  # her open session ended with it
    with pytest.raises(PermissionDenied):
        Context(app, actor).require_account()


def test_a_switched_off_account_is_refused_though_the_provider_says_yes(app: App, operator: Actor) -> None:
    user_id = _staff(app, operator, "pat@chain.example")
    sign_in_with_identity(app, _who())  # linked while active
    people.set_active(Context(app, operator), user_id, False)
    before = _sessions(app)
    with pytest.raises(IdentityRefused, match=SWITCHED_OFF):
        sign_in_with_identity(app, _who())
    assert _sessions(app) == before
    last = _audit(app)[-1]
    assert (last.action, last.actor, last.detail) == (
        "sign_in_failed",
        f"user {user_id}",
        {"via": "identity provider", "refused": "switched off"},
    )


@pytest.mark.parametrize(
    ("identity", "why"),
    [  # made when the test runs: an answer made at collection may be too old by then
        (lambda: _who("nobody@chain.example"), "no account"),
        (lambda: _who(verified=False), "email not verified"),
        (lambda: Identity(issuer=ISSUER, subject="sub-pat", issued_at=utcnow()), "no email"),
    ],
    ids=["no account", "email not verified", "no email"],
)
def test_no_staff_account_for_the_identity_is_refused_with_the_no_role_message(
    app: App, operator: Actor, identity: Callable[[], Identity], why: str
) -> None:
    _staff(app, operator, "pat@chain.example")
    with pytest.raises(IdentityRefused) as refused:
        sign_in_with_identity(app, identity())
    assert str(refused.value) == NO_ROLE
    last = _audit(app)[-1]
    assert (last.action, last.actor, last.clinic_id) == ("sign_in_failed", "unknown account", None)
    assert last.detail == {"via": "identity provider", "refused": why}
    assert "@" not in str(last.detail) and "@" not in last.actor
    with app.uow() as uow:
        assert list(uow.session.scalars(select(OidcIdentity))) == []


def test_a_client_account_never_signs_in_through_the_provider(
    app: App, operator: Actor, client_id: int
) -> None:
    user_id = people.create_account(
        Context(app, operator), "ava@chain.example", Role.CLIENT, None, client_id=client_id
    )
    with pytest.raises(IdentityRefused, match="no role in this app"):
        sign_in_with_identity(app, _who("ava@chain.example", subject="sub-ava"))
    last = _audit(app)[-1]
    assert (last.actor, last.detail) == (
        f"user {user_id}",
        {"via": "identity provider", "refused": "client account"},
    )


def test_an_account_linked_once_is_not_taken_over_by_its_email_from_another_subject(
    app: App, operator: Actor
) -> None:
    user_id = _staff(app, operator, "pat@chain.example")
    sign_in_with_identity(app, _who())
    # The provider gave the address to someone else (a new subject): no way in.
    with pytest.raises(IdentityRefused, match="no role in this app"):
        sign_in_with_identity(app, _who(subject="sub-new-hire"))
    assert sign_in_with_identity(app, _who()).user_id == user_id


def test_linking_removes_a_password_staff_typed_and_nobody_changed(app: App, operator: Actor) -> None:
    admin = Actor(
        label="a",
        role=Role.ADMIN,
        clinic_id=operator.clinic_id,
        user_id=_staff(app, operator, "admin@chain.example", Role.ADMIN),
    )
    user_id = people.create_account(
        Context(app, admin), "pat@chain.example", Role.PRACTITIONER, "Typed-by-admin-42!"
    )
    actor = sign_in_with_identity(app, _who())
    assert not actor.must_change_password
    assert people.authenticate(app, "pat@chain.example", "Typed-by-admin-42!") is None
    Context(app, actor).require_account()  # usable at once: no password change demanded
    assert actor.user_id == user_id


def test_staff_password_sign_in_can_be_switched_off_clients_keep_theirs(
    settings: Settings, operator: Actor, client_id: int
) -> None:
    from tracker.bootstrap import open_app

    strict = settings.model_copy(update={"oidc_staff_password_sign_in": False})
    app = open_app(strict)
    try:
        ctx = Context(app, operator)
        staff_id = people.create_account(ctx, "pat@chain.example", Role.PRACTITIONER, "Pat-strong-pass-42!")
        people.create_account(
            ctx, "ava@chain.example", Role.CLIENT, "Ava-strong-pass-42!", client_id=client_id
        )
        assert people.authenticate(app, "pat@chain.example", "Pat-strong-pass-42!") is None
        assert people.authenticate(app, "ava@chain.example", "Ava-strong-pass-42!") is not None
        refused = [e for e in _audit(app) if e.action == "sign_in_failed"]
        assert [(e.actor, e.detail) for e in refused] == [
            (f"user {staff_id}", {"refused": "staff sign in through the identity provider"})
        ]
    finally:
        app.close()


def test_the_claims_streamlit_hands_over_become_an_identity() -> None:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": "s1",
        "email": " Pat@Chain.Example ",
        "email_verified": "true",
        "iat": 1_800_000_000,
    }
    issued = datetime(2027, 1, 15, 8, 0)
    assert Identity.from_claims(claims) == Identity(ISSUER, "s1", "pat@chain.example", True, issued)
    assert Identity.from_claims({**claims, "email_verified": False}) == Identity(
        ISSUER, "s1", "pat@chain.example", False, issued
    )
    assert Identity.from_claims({**claims, "iat": "soon"}) == Identity(
        ISSUER, "s1", "pat@chain.example", True
    )
    assert Identity.from_claims({"sub": "s1"}) is None
    assert Identity.from_claims({"iss": ISSUER, "sub": ""}) is None


def test_without_oidc_configured_nobody_signs_in_through_a_provider(tmp_path: Path) -> None:
    from tracker.bootstrap import open_app

    app = open_app(Settings(data_dir=tmp_path / "plain", _env_file=None))  # type: ignore[call-arg]
    try:
        with pytest.raises(IdentityRefused, match="not set up"):
            sign_in_with_identity(app, _who())
    finally:
        app.close()


@pytest.mark.parametrize(
    "issued_ago",
    [None, timedelta(minutes=11), timedelta(minutes=-5)],
    ids=["no iat", "older than the setting", "from the future"],
)
def test_only_a_recent_answer_opens_a_session(
    app: App, operator: Actor, issued_ago: timedelta | None
) -> None:
    """A tab closed during the redirect keeps Streamlit's identity cookie (30 days): the day
    after, its answer is too old to sign anyone in."""
    _staff(app, operator, "pat@chain.example")
    before = _sessions(app)
    with pytest.raises(IdentityRefused, match=TOO_OLD):
        issued_at = None if issued_ago is None else utcnow() - issued_ago
        sign_in_with_identity(app, replace(_who(), issued_at=issued_at))
    assert _sessions(app) == before
    last = _audit(app)[-1]
    assert (last.actor, last.detail) == (
        "unknown account",
        {"via": "identity provider", "refused": "answer too old"},
    )
    assert sign_in_with_identity(app, replace(_who(), issued_at=utcnow() - timedelta(minutes=9))).user_id
