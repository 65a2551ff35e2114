"""A throwaway PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port in a
temporary folder), so that a test may stop and start the database under a running server
without touching the shared one."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers import free_port

USER = "postgres"  # the cluster's superuser; also who runs it when the tests run as root


def find_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian keeps them off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _major(path: str) -> int:
    version = Path(path).parts[-3]
    return int(version) if version.isdigit() else 0


class PrivatePostgres:
    """One cluster: `start()`, `stop()` (immediately, as a crash would) and `start()` again."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data = self.root / "data"
        self._as_owner = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(self.root, user=USER)

    def create(self) -> None:
        """initdb: a new cluster that trusts every connection (it listens on loopback only)."""
        self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync")

    def follow(self, primary: PrivatePostgres) -> None:
        """Make this cluster a hot standby of `primary` (pg_basebackup -R: it streams the
        primary's WAL once started)."""
        self._run(
            "pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-h", "127.0.0.1",
            "-p", str(primary.port), "-U", USER, "--no-sync",
        )  # fmt: skip

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement through psql, its result as text."""
        done = subprocess.run(
            [*self._as_owner, str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", USER, "-d", database, "-At", "-c", statement],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            [*self._as_owner, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
        )
        return status.returncode == 0

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_owner, str(self.bin_dir / tool), *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
