"""Addresses that come back within one file: the first row is kept, later ones are reported.

The first line of every address read so far is kept in a private SQLite file rather than
in a dict, so memory stays flat however many rows a file has (docs/benchmarks.md).
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

# SQLite's limit on the parameters of one statement is 32,766 (older builds: 999).
_CHUNK = 500


class SeenAddresses:
    """Each address's first line in the file so far; use as a context manager."""

    def __init__(self) -> None:
        # "" is a temporary database on disk, removed when it is closed.
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE seen (email TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID"
        )

    def __enter__(self) -> SeenAddresses:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._db.close()

    def repeats(self, rows: list[tuple[int, str]]) -> dict[int, int]:
        """Take a batch of (line, address) in file order; returns line -> kept line for each
        row whose address came earlier, in this batch or before, and remembers the rest."""
        first_here: dict[str, int] = {}
        for line, email in rows:
            first_here.setdefault(email, line)
        earlier = self._first_lines(list(first_here))
        repeated: dict[int, int] = {}
        for line, email in rows:
            kept = earlier.get(email, first_here[email])
            if kept != line:
                repeated[line] = kept
        # In key order, the inserts touch each page of the index once: a fifth faster.
        self._db.executemany(
            "INSERT INTO seen (email, line) VALUES (?, ?)",
            sorted((email, line) for email, line in first_here.items() if email not in earlier),
        )
        return repeated

    def _first_lines(self, emails: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(emails), _CHUNK):
            chunk = emails[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            found.update(
                self._db.execute(f"SELECT email, line FROM seen WHERE email IN ({marks})", chunk)
            )
        return found
