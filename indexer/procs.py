"""Child processes of a build die with it: tokenizer workers and the PDF reader never outlive the indexer."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when its parent dies (PR_SET_PDEATHSIG), however the parent ends,
    SIGKILL included; and end now if the parent is already gone (it may have died before the request)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the worker still ends when its parent closes the pipes it reads
    if os.getppid() != parent_pid:
        os._exit(1)
