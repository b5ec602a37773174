"""What every use case receives: the app (adapters, settings, handlers) and who is asking.

One value instead of two arguments, so an edge builds it once (the page from the signed-in
person, the CLI from the operator) and cannot pass one clinic's app with another's actor
by mistake. Use cases check the actor's permission themselves; the context grants nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from tracker.application import App
from tracker.config import Settings
from tracker.permissions import Actor as Actor
from tracker.permissions import PasswordChangeRequired


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
