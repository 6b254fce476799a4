"""Failed logins, counted per account and per client address, refused past a limit.

The counts live in Redis when `REDIS_URL` is set, so every web process and machine
shares them, and in the process's memory otherwise (the embedded default). A moving
window over `LOGIN_FAILURE_WINDOW_SECONDS`: once an account or an address has failed
that many times, every attempt is refused, the right password included, until the
oldest failure leaves the window. When Redis cannot be reached, the process counts in
its own memory meanwhile: a login never fails because the throttle's store is away.

Asking for password reset mails is counted the same way (every request, not only
failures), in its own namespace of the same store.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from flask.sansio.app import App
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from webapp.services.users import normalise_email

EXTENSION = "login_throttle"
RESET_EXTENSION = "password_reset_throttle"
T = TypeVar("T")
log = logging.getLogger("webapp.auth")


class LoginThrottle:
    """Counts failed logins; says how long an account or address must wait."""

    def __init__(
        self,
        storage_uri: str | Storage,
        per_account: int,
        per_client: int,
        window: int,
        namespace: str = "login",
    ) -> None:
        storage = (
            storage_uri if isinstance(storage_uri, Storage) else storage_from_string(storage_uri)
        )
        if not isinstance(storage, Storage):  # the asyncio storages are for asyncio apps
            raise ValueError(f"not a synchronous rate limit storage: {storage_uri}")
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._fallback = MovingWindowRateLimiter(storage_from_string("memory://"))
        self._limits: dict[str, RateLimitItem] = {
            "account": RateLimitItemPerSecond(per_account, window, namespace=namespace),
            "client": RateLimitItemPerSecond(per_client, window, namespace=namespace),
        }

    def _keys(self, email: str, client: str) -> list[tuple[RateLimitItem, str, str]]:
        return [
            (self._limits["account"], "account", normalise_email(email)),
            (self._limits["client"], "client", client),
        ]

    def _with(self, action: Callable[[MovingWindowRateLimiter], T]) -> T:
        """Run against the shared store, or this process's memory while it is away."""
        try:
            return action(self._limiter)
        except Exception:  # the store's own errors (Redis down): count here meanwhile
            log.warning("login throttle store unreachable; counting in this process")
            return action(self._fallback)

    def wait_seconds(self, email: str, client: str) -> int:
        """Seconds until this account and address may try again; 0 when they may now."""

        def wait(limiter: MovingWindowRateLimiter) -> float:
            longest = 0.0
            for limit, kind, key in self._keys(email, client):
                if not limiter.test(limit, kind, key):
                    reset_at = limiter.get_window_stats(limit, kind, key).reset_time
                    longest = max(longest, reset_at - time.time(), 1.0)
            return longest

        return math.ceil(self._with(wait))

    def failed(self, email: str, client: str) -> None:
        """Count one failed login against the account and the address."""

        def hit(limiter: MovingWindowRateLimiter) -> None:
            for limit, kind, key in self._keys(email, client):
                limiter.hit(limit, kind, key)

        self._with(hit)

    def succeeded(self, email: str) -> None:
        """The account's own count starts again; the address's stays."""
        limit, kind, key = self._keys(email, "")[0]
        self._with(lambda limiter: limiter.clear(limit, kind, key))


def init_app(app: App) -> None:
    config = app.config
    logins = app.extensions[EXTENSION] = LoginThrottle(
        config.get("LOGIN_THROTTLE_STORAGE") or config.get("REDIS_URL") or "memory://",
        per_account=int(config["LOGIN_FAILURES_PER_ACCOUNT"]),
        per_client=int(config["LOGIN_FAILURES_PER_CLIENT"]),
        window=int(config["LOGIN_FAILURE_WINDOW_SECONDS"]),
    )
    app.extensions[RESET_EXTENSION] = LoginThrottle(
        logins.storage,
        per_account=int(config["PASSWORD_RESETS_PER_ACCOUNT"]),
        per_client=int(config["PASSWORD_RESETS_PER_CLIENT"]),
        window=int(config["LOGIN_FAILURE_WINDOW_SECONDS"]),
        namespace="password-reset",
    )


def login_throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions[EXTENSION]
    return throttle


def reset_throttle() -> LoginThrottle:
    """Counts requests for password reset mails, per address and per client address."""
    throttle: LoginThrottle = current_app.extensions[RESET_EXTENSION]
    return throttle
