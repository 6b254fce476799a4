"""bench/scale.py only ever fills or drops a database carrying its own marker."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from tests.support import services

ROOT = Path(__file__).resolve().parent.parent


def _scale() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _exists(admin_url: str, url: str) -> bool:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


@pytest.fixture
def unmarked(postgres_server: services.PostgresServer):
    url = services.create_database(postgres_server.admin_url, "campaigns_scale_test")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE precious (x int)")
    yield url
    services.drop_database(postgres_server.admin_url, url, "campaigns_scale_test")


def test_build_refuses_a_database_without_the_marker(
    unmarked: str, postgres_server: services.PostgresServer
) -> None:
    scale = _scale()
    for rebuild in (False, True):
        with pytest.raises(scale.Refused, match="no bench_scale_marker table"):
            scale.build(unmarked, 1, None, rebuild)
    with pytest.raises(scale.Refused):
        scale.drop_marked_database(unmarked)
    assert _exists(postgres_server.admin_url, unmarked)
    with psycopg.connect(unmarked) as conn:
        assert conn.execute("SELECT to_regclass('precious')").fetchone()[0] is not None
        assert conn.execute("SELECT to_regclass('leads')").fetchone()[0] is None


def test_an_unfinished_build_is_kept_until_rebuild_drops_it(
    postgres_server: services.PostgresServer,
) -> None:
    scale = _scale()
    url = services.create_database(postgres_server.admin_url, "campaigns_scale_test")
    services.drop_database(postgres_server.admin_url, url, "campaigns_scale_test")
    scale.create_database(url, 1, datetime(2026, 12, 1, tzinfo=UTC))
    try:
        with pytest.raises(scale.Refused, match="unfinished build"):
            scale.check_target(url, rebuild=False)
        assert scale.check_target(url, rebuild=True) == "create"
        assert not _exists(postgres_server.admin_url, url)
    finally:
        if _exists(postgres_server.admin_url, url):
            services.drop_database(postgres_server.admin_url, url, "campaigns_scale_test")
