"""A real PostgreSQL on loopback for the tests, CI and the bench: a temporary data directory, run as
the ``postgres`` user when we are root (initdb refuses root), its server programs from
``pg_config --bindir`` (``apt-get install -y postgresql`` first when they are missing and we are root).

    eval "$(python -m tests.pgserver start)"   # exports VASTPLAN_TEST_PG_URL and VASTPLAN_TEST_PG_DIR
    python -m tests.pgserver stop "$VASTPLAN_TEST_PG_DIR"

The superuser ``postgres`` gets a random password and host connections need it (scram), so a wrong
password is a real refusal. ``fsync=off`` for tests (``durable=True`` keeps it on, for the bench).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

URL_FILE = "url"


@dataclass(frozen=True)
class Server:
    data: Path
    url: str
    port: int

    def stop(self) -> None:
        stop(self.data)


def bindir(install: bool = True) -> Path:
    """The server programs' folder; installs Debian's postgresql package when missing (root only)."""
    found = _pg_config_bindir()
    if (found is None or not (found / "initdb").exists()) and install and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        found = _pg_config_bindir()
    if found is None or not (found / "initdb").exists():
        raise RuntimeError("PostgreSQL's server programs are missing: install the postgresql package")
    return found


def _pg_config_bindir() -> Path | None:
    candidates = [shutil.which("pg_config"), *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin/pg_config")))]
    for pg_config in filter(None, candidates):
        try:
            return Path(subprocess.run([pg_config, "--bindir"], check=True, capture_output=True,
                                       text=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            continue
    return None


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*, durable: bool = False) -> Server:
    """initdb + pg_ctl start in a new folder of /tmp (which the postgres user can reach); waits until
    it accepts connections."""
    import tempfile

    bin_dir = bindir()
    data = Path(tempfile.mkdtemp(prefix="vastplan-pg-", dir="/tmp"))
    cluster = data / "cluster"
    password = secrets.token_hex(16)
    pwfile = data / "pw"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        shutil.chown(pwfile, "postgres")
    _run(_as_server_user([str(bin_dir / "initdb"), "-D", str(cluster), "-U", "postgres", f"--pwfile={pwfile}",
                          "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"]))
    pwfile.unlink()
    settings = ["listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{data}'", "max_connections = 200"]
    if not durable:
        settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
    for attempt in range(1, 4):  # another process (an xdist worker) may take the free port first
        port = _free_port()
        with (cluster / "postgresql.conf").open("a") as conf:  # in the file, so that every start keeps them
            conf.write("\n".join([*settings, f"port = {port}"]) + "\n")  # a later line wins
        try:
            resume(data)
            break
        except RuntimeError:
            if attempt == 3:
                raise
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    (data / URL_FILE).write_text(url + "\n")
    os.chmod(data / URL_FILE, 0o600)
    return Server(data, url, port)


def restart(data: Path) -> None:
    """Stop the server (fast: open sessions are cut) and start it again on the same port."""
    _pg_ctl(data, "restart", "-m", "fast", "-w", "-t", "60")


def halt(data: Path) -> None:
    """Stop the server, keeping its data, until ``resume``."""
    _pg_ctl(data, "stop", "-m", "fast", "-w", "-t", "60")


def resume(data: Path) -> None:
    _pg_ctl(data, "start", "-w", "-t", "60", "-l", str(data / "log"))


def stop(data: Path) -> None:
    if (data / "cluster" / "postmaster.pid").exists():
        _pg_ctl(data, "stop", "-m", "immediate", "-w", "-t", "60")
    shutil.rmtree(data, ignore_errors=True)


def _pg_ctl(data: Path, *args: str) -> None:
    argv = [str(bindir(install=False) / "pg_ctl"), "-D", str(data / "cluster"), *args]
    _run(_as_server_user(argv))


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def main(argv: list[str]) -> int:
    if argv == ["start"]:
        server = start()
        print(f"export VASTPLAN_TEST_PG_URL='{server.url}' VASTPLAN_TEST_PG_DIR='{server.data}'")
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        stop(Path(argv[1]))
        return 0
    print("usage: python -m tests.pgserver start | stop DIR", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
