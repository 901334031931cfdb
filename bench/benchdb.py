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


def copy_database(url: str, name: str) -> str:
    """A copy of the database of `url` under `name` (replaced if it exists), and its URL:
    PostgreSQL copies it as a template (nobody may be connected to it), SQLite copies the
    file. So several runs start from the very same data, built once."""
    from urllib.parse import urlparse

    if url.startswith("sqlite:///"):
        import shutil

        source = url.removeprefix("sqlite:///")
        target = os.path.join(os.path.dirname(source), f"{name}.sqlite3")
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.path.lstrip("/")}"')
    return parsed._replace(path=f"/{name}").geturl()


def drop_database(url: str) -> None:
    """Remove a copy made by `copy_database`."""
    from urllib.parse import urlparse

    if url.startswith("sqlite:///"):
        os.remove(url.removeprefix("sqlite:///"))
        return
    import psycopg

    parsed = urlparse(url)
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
