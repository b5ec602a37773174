"""What every use case receives: the app (adapters, settings, handlers) and who is asking.

One value instead of two arguments, so an edge builds it once (the page from the signed-in
person, the CLI from the operator) and cannot pass one clinic's app with another's actor
by mistake. Use cases check the actor's permission themselves; the context grants nothing."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.application import App
from tracker.config import Settings
from tracker.permissions import Actor as Actor


@dataclass(frozen=True)
class Context:
    app: App
    actor: Actor

    @property
    def settings(self) -> Settings:
        return self.app.settings
