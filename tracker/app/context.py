"""What every use case receives: the app (adapters, settings, handlers) and who is asking.

One value instead of two arguments, so an edge builds it once (the page from the signed-in
person, the CLI from the operator) and cannot pass one clinic's app with another's actor
by mistake. Use cases check the actor's permission themselves; the context grants nothing,
except that its unit of work (`Context.uow`) refuses an account switched off since the
actor signed in: every use case opens its transactions through it, so that check lives in
one place and runs in the same transaction as what the use case reads or writes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from tracker.application import App
from tracker.config import Settings
from tracker.permissions import Actor as Actor
from tracker.permissions import PasswordChangeRequired, require_current_account
from tracker.store.uow import UnitOfWork


@dataclass(frozen=True)
class Context:
    app: App
    actor: Actor

    def __post_init__(self) -> None:
        # Someone signed in with a password staff typed gets no use case at all until they
        # choose their own; that change goes through people.finish_password_change, which
        # takes the sign-in session rather than a Context (it completes the sign-in).
        if self.actor.must_change_password:
            raise PasswordChangeRequired("Please choose your own password first.")

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @contextmanager
    def uow(self) -> Iterator[UnitOfWork]:
        """The App's unit of work, for this actor: refused (PermissionDenied) when their
        account has been switched off or changed since they signed in. A page keeps its
        Actor between clicks, and a long upload runs on after a switch-off; the account is
        read again inside each transaction, so nothing is read or written for it after."""
        with self.app.uow() as uow:
            if self.actor.user_id is not None:
                require_current_account(self.actor, uow.repo.user(self.actor.user_id))
            yield uow

    def require_account(self) -> None:
        """The same check, for a use case that reaches the store through other paths."""
        with self.uow():
            pass


P = ParamSpec("P")
R = TypeVar("R")


def one_publication(use_case: Callable[Concatenate[Context, P], R]) -> Callable[Concatenate[Context, P], R]:
    """For a use case that commits more than once: its change events are published once,
    when it returns (App.grouped_events), so handlers such as the dashboard refresh run
    once per use case instead of once per commit."""

    @functools.wraps(use_case)
    def run(ctx: Context, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with ctx.app.grouped_events():
            return use_case(ctx, *args, **kwargs)

    return run
