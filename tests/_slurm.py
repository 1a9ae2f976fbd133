"""A real single-node SLURM cluster for the tests: munged, slurmctld and slurmd in a temp folder.

:func:`start` installs Debian's ``slurm-wlm`` and ``munge`` when they are missing (root and
apt-get needed), writes a munge key and a minimal ``slurm.conf`` (this host as the only node,
``proctrack/linuxproc``, ``task/none``, every state, spool, log and PID file inside `folder`)
and starts the three daemons in the foreground as children of this process, so that
:meth:`Slurm.stop` ends exactly them, by PID. ``srun`` and ``scontrol`` find the cluster
through :attr:`Slurm.env` (``SLURM_CONF``). Where the cluster cannot start, :func:`start`
raises :class:`Unavailable` with the reason, which the fixture turns into a skip.

Run it by hand: ``python tests/_slurm.py`` starts a cluster, runs
``srun -n 2 hostname`` on it and stops it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Debian packages that make the cluster.
PACKAGES = ("slurm-wlm", "munge")
#: CPUs the node declares (more than this machine has: tasks share the cores).
NODE_CPUS = 8
#: Ports the steps reserve (SLURM_STEP_RESV_PORTS): ``MpiParams=ports=`` from this one on.
RESV_PORTS_START = 23000
#: Ports in that range (each concurrent cluster of a test run gets its own range).
RESV_PORTS_COUNT = 400
#: Seconds the daemons get to come up.
START_TIMEOUT = 60.0


class Unavailable(RuntimeError):
    """The cluster cannot start here; the message says why."""


@dataclass
class Slurm:
    """A running cluster: its folder, its daemons and the environment that reaches it."""

    folder: Path
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 300.0, **kwargs) -> subprocess.CompletedProcess:
        """Run a SLURM command (``srun ...``) against this cluster; output captured as text."""
        env = {**self.env, **kwargs.pop("env", {})}
        return subprocess.run(
            list(args), env=env, capture_output=True, text=True, timeout=timeout, **kwargs
        )

    def stop(self) -> None:
        """Stop the daemons this process started (slurmd, slurmctld, munged), by PID."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        self.procs.clear()

    def log_tails(self) -> str:
        """The last lines of the daemons' logs, for a failure message."""
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = self.folder / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(parts)


def start(folder: str | os.PathLike | None = None, resv_ports: int = RESV_PORTS_START) -> Slurm:
    """Start a single-node cluster in `folder` (default: a new temp folder); its steps
    reserve ports from `resv_ports` on."""
    _install()
    folder = Path(folder or tempfile.mkdtemp(prefix="kfx-slurm-"))
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool", "munge"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    socket_path = folder / "munge" / "munge.socket"
    conf = folder / "slurm.conf"
    ports = f"{resv_ports}-{resv_ports + RESV_PORTS_COUNT - 1}"
    conf.write_text(_slurm_conf(folder, host, socket_path, _free_port(), _free_port(), ports))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = Slurm(folder, env)
    try:
        cluster.procs.append(_start_munged(folder, socket_path))
        _wait(lambda: socket_path.exists(), cluster, "munged did not create its socket")
        for daemon in (["slurmctld", "-D", "-i"], ["slurmd", "-D", "-N", host]):
            cluster.procs.append(
                subprocess.Popen(
                    [shutil.which(daemon[0]) or daemon[0], *daemon[1:], "-f", str(conf)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=open(folder / f"{daemon[0]}.stderr", "w"),  # noqa: SIM115
                )
            )
        _wait(lambda: _node_idle(cluster), cluster, "the node did not become idle")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _install() -> None:
    if all(shutil.which(cmd) for cmd in ("munged", "slurmctld", "slurmd", "srun", "scontrol")):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Unavailable("slurm-wlm and munge are not installed, and apt-get needs root")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, **quiet)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], env=env, **quiet)
    if done.returncode:
        raise Unavailable(f"apt-get install {' '.join(PACKAGES)} failed ({done.returncode})")


def _slurm_conf(
    folder: Path, host: str, socket_path: Path, ctld_port: int, d_port: int, resv_ports: str
) -> str:
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    lines = {
        "ClusterName": "kfxtest",
        "SlurmctldHost": f"{host}(127.0.0.1)",
        "SlurmUser": user,
        "SlurmdUser": user,
        "SlurmctldPort": ctld_port,
        "SlurmdPort": d_port,
        "AuthType": "auth/munge",
        "CredType": "cred/munge",
        "AuthInfo": f"socket={socket_path}",
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "MpiDefault": "none",
        "MpiParams": f"ports={resv_ports}",
        "SchedulerType": "sched/builtin",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_CPU",
        "SlurmdParameters": "config_overrides",
        "ReturnToService": 2,
        "JobAcctGatherType": "jobacct_gather/none",
        "AccountingStorageType": "accounting_storage/none",
        "StateSaveLocation": folder / "state",
        "SlurmdSpoolDir": folder / "spool",
        "SlurmctldPidFile": folder / "slurmctld.pid",
        "SlurmdPidFile": folder / "slurmd.pid",
        "SlurmctldLogFile": folder / "slurmctld.log",
        "SlurmdLogFile": folder / "slurmd.log",
        "KillWait": 2,
        "InactiveLimit": 0,
    }
    text = "".join(f"{key}={value}\n" for key, value in lines.items())
    text += f"NodeName={host} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} State=UNKNOWN\n"
    text += "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n"
    return text


def _start_munged(folder: Path, socket_path: Path) -> subprocess.Popen:
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    (folder / "munge").chmod(0o700)
    return subprocess.Popen(
        [
            shutil.which("munged") or "munged",
            "--foreground",
            "--force",
            f"--socket={socket_path}",
            f"--key-file={key}",
            f"--pid-file={folder / 'munge' / 'munged.pid'}",
            f"--seed-file={folder / 'munge' / 'munged.seed'}",
            f"--log-file={folder / 'munged.log'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "munged.stderr", "w"),  # noqa: SIM115
    )


def _node_idle(cluster: Slurm) -> bool:
    for proc in cluster.procs:
        if proc.poll() is not None:
            raise Unavailable(
                f"{proc.args[0]} exited with {proc.returncode}\n{cluster.log_tails()}"
            )
    try:
        out = cluster.run("sinfo", "-h", "-o", "%T", timeout=10).stdout
    except subprocess.TimeoutExpired:
        return False
    return out.strip().startswith("idle")


def _wait(ready, cluster: Slurm, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise Unavailable(f"{what} within {START_TIMEOUT:.0f} s\n{cluster.log_tails()}")
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    slurm = start()
    try:
        done = slurm.run("srun", "-n", "2", "hostname")
        print(done.stdout, done.stderr, file=sys.stderr)
    finally:
        slurm.stop()
