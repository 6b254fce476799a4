"""The dry-run page as a browser sees it: "calculating" while a job plans, then the report.

`calculated(client, url)` asks for the page (or fragment) and, while it answers the
calculating fragment, asks again as the fragment's polling does, until the report is there
or the deadline passes. No sleeping on a guess: each round looks at what the job committed.
"""

from __future__ import annotations

import time
from typing import Any

from webapp.extensions import db

CALCULATING = 'data-calculating="true"'


def calculated(client: Any, url: str, timeout: float = 60, **kwargs: Any) -> Any:
    deadline = time.monotonic() + timeout
    response = client.get(url, **kwargs)
    while CALCULATING in response.text:
        assert time.monotonic() < deadline, f"the dry run at {url} was never calculated"
        time.sleep(0.05)
        db.session.rollback()
        headers = kwargs.get("headers") or {}
        poll = f"{url}?poll=1" if headers.get("HX-Request") else url
        response = client.get(poll, **kwargs)
    return response
