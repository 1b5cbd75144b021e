"""One lock between a run's widget updates and the page asking for every widget's state.

A page served by Voila (or reloaded in JupyterLab) does not see the widgets being made: it asks the kernel for
all their states at once (ipywidgets' control comm, ``request_states``), and the kernel reads them one by one
on its main thread. A run finishing on the dashboard's background thread at that moment could set the status
line after its state was read and send the change before the page knows the widget, which then drops it: the
page kept the finished KPI table under a status line still saying "Running...". Holding this lock while the
states are read and sent, and while a run changes its outputs, puts each change wholly before the snapshot
(in it) or wholly after (an update the page applies).
"""

from __future__ import annotations

import functools
import threading

import ipywidgets as W

LOCK = threading.RLock()


def _locked_state_requests() -> None:
    """Wrap ipywidgets' handler of the page's control messages in :data:`LOCK`, once.

    The handler is a classmethod looked up when the page opens its control comm, so wrapping it at import
    (before any page connects) covers every page; ipywidgets is pinned, and the wrapper passes everything on.
    """
    handler = W.Widget.__dict__.get("_handle_control_comm_msg")
    if handler is None or getattr(handler.__func__, "_sendmodel_locked", False):
        return
    original = handler.__func__

    @functools.wraps(original)
    def handle(cls, msg):
        with LOCK:
            return original(cls, msg)

    handle._sendmodel_locked = True
    W.Widget._handle_control_comm_msg = classmethod(handle)


def synced(fn):
    """``fn`` run under :data:`LOCK`: for a callback that changes widgets from the background thread."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with LOCK:
            return fn(*args, **kwargs)

    return run


_locked_state_requests()
