"""What the benchmarks share: a fresh PostgreSQL database or a temporary SQLite file, and the
address their customers and subscriptions are given."""

from __future__ import annotations

import os
import tempfile

ADDRESS = {
    "first_name": "Camille",
    "last_name": "Martin",
    "address1": "12 rue des Lilas",
    "city": "Lyon",
    "postcode": "69003",
    "country": "FR",
}


def database_url(kind: str, *, name: str = "bench") -> str:
    """SQLite: a new temporary file; PostgreSQL: BENCH_DATABASE_URL (default
    postgres://postgres@127.0.0.1:5432/cadence_bench)."""
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='cadence-bench-')}/{name}.sqlite3"
    return os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cadence_bench")


def recreate_postgres(url: str) -> None:
    """Drop and create the database of `url` (connecting to the server's `postgres`)."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
