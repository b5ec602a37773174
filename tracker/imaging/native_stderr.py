"""MediaPipe's known start-up chatter, kept off stderr without hiding anything else.

Why: the first face or hand of a process printed eight lines an operator cannot act on (a
protobuf version mismatch MediaPipe survives, TensorFlow Lite's delegate notice, absl's
"before InitializeLog" notice and two model-configuration warnings), in every command that
analyses photos. They come from C++ (and one from the protobuf binding), which writes to
file descriptor 2 directly: GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL and the like change
nothing in this build, and `sys.stderr` never sees them. So descriptor 2 is pointed at a
temporary file while MediaPipe is imported, builds its graph and runs it; afterwards every
line that is not one of the known ones is written to the real stderr, unchanged and in
order (a real error from MediaPipe, or another thread's output, arrives late, never lost).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

KNOWN_NOISE = re.compile(
    rb"AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|W0000 [\d:. ]+ +\d+ (inference_feedback_manager|landmark_projection_calculator)\.cc:\d+\] .*"
)

# Descriptor 2 is one per process: two threads redirecting it at once would restore it wrongly.
_lock = threading.RLock()


@contextmanager
def known_noise_dropped() -> Iterator[None]:
    """Run the body with descriptor 2 captured; pass on every line but MediaPipe's known noise."""
    with _lock:
        _flush_stderr()
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 at all: nothing to keep clean
            saved = -1
        if saved < 0:
            yield
            return
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                _flush_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                kept = [line for line in sink if not KNOWN_NOISE.fullmatch(line.rstrip(b"\r\n"))]
                if kept:
                    with open(2, "wb", closefd=False) as err:
                        err.write(b"".join(kept))


def _flush_stderr() -> None:
    """Python's own buffered stderr text must land on the descriptor it was written for."""
    stream = sys.stderr
    if stream is not None and not stream.closed:
        stream.flush()
