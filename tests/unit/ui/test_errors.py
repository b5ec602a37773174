"""One error vocabulary, and how the pages' boundary maps it to what a person is told."""

from __future__ import annotations

import logging

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from tracker.app.courses import IntakeRemoval, SameName, SessionExists
from tracker.app.people import TooManyAttempts
from tracker.errors import NotAllowed, NotFound, Refused, TrackerError
from tracker.ingest import Rejected
from tracker.ingest.container import Damaged, TooMuchMetadata
from tracker.permissions import PermissionDenied
from tracker.ui.errors import UNEXPECTED, Kind, Notice, error_boundary, notice_for, notice_logged
from tracker.worker import OverLimit


def test_every_error_a_person_can_act_on_is_in_the_vocabulary() -> None:
    assert Rejected is Refused  # the name ingest used, kept for now
    for refusal in (
        SameName,
        SessionExists,
        IntakeRemoval,
        OverLimit,
        TooManyAttempts,
        Damaged,
        TooMuchMetadata,
    ):
        assert issubclass(refusal, Refused), refusal
    assert issubclass(PermissionDenied, NotAllowed)
    assert {Refused, NotAllowed, NotFound} <= set(TrackerError.__subclasses__())
    assert not issubclass(TrackerError, ValueError)  # a programming error is never taken for one


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Refused("A note needs some text."), "error"),
        (SameName("A client called Ann is already in the clinic."), "error"),
        (PermissionDenied("No such client in your clinic."), "error"),
        (NotFound("That photo was deleted."), "warning"),
    ],
)
def test_a_refusal_is_said_in_its_own_words(error: TrackerError, kind: Kind) -> None:
    assert notice_for(error) == Notice(kind, str(error))
    assert notice_for(type(error)()).text  # never an empty notice


def test_any_other_error_is_said_without_its_message() -> None:
    error = KeyError("/srv/tracker/blobs/ab/cd/abcdef")
    notice = notice_for(error, "0badcafe")
    assert notice == Notice("error", UNEXPECTED.format(reference="0badcafe"))
    assert "/srv" not in notice.text


def test_a_fault_of_ours_is_logged_with_its_traceback_under_the_reference(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = KeyError("missing")
    try:
        raise error
    except KeyError:
        with caplog.at_level(logging.ERROR, logger="tracker.ui.errors"):
            notice = notice_logged(error)
    reference = notice.text.rsplit(" ", 1)[-1].rstrip(".")
    assert len(reference) == 8 and notice.text == UNEXPECTED.format(reference=reference)
    [record] = caplog.records
    assert reference in record.getMessage() and record.exc_info is not None
    assert record.exc_info[1] is error and record.exc_info[2] is not None  # with its traceback


def test_a_refusal_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="tracker.ui.errors"):
        assert notice_logged(Refused("No.")) == Notice("error", "No.")
    assert caplog.records == []


def test_the_boundary_keeps_the_error_inside_but_lets_streamlits_control_flow_through() -> None:
    with error_boundary():
        raise Refused("shown, not raised")
    with error_boundary():
        raise RuntimeError("shown as a reference, not raised")
    with pytest.raises(StopException), error_boundary():
        raise StopException()
    with pytest.raises(RerunException), error_boundary():
        raise RerunException(None)


def test_the_boundary_as_a_decorator_returns_none_after_a_refusal() -> None:
    @error_boundary()
    def save() -> str:
        raise Refused("No.")

    assert save() is None
