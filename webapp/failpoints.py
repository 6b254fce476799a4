"""Named points where a process can be made to stop dead, for crash tests.

Inactive unless CAMPAIGNS_FAILPOINTS names the point. Then the process touches a
marker file in CAMPAIGNS_FAILPOINT_DIR and blocks, so a test can SIGKILL it at
exactly that moment (before SMTP, after the server's 250, after the commit).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def failpoint(name: str) -> None:
    """Block forever here when this failpoint is switched on (tests only)."""
    active = os.environ.get("CAMPAIGNS_FAILPOINTS")
    if not active or name not in active.split(","):
        return
    folder = Path(os.environ.get("CAMPAIGNS_FAILPOINT_DIR", "."))
    (folder / name).touch()
    threading.Event().wait()
