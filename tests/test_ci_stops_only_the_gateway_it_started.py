""".ci/run stops the gateway it started (its process group, through .ci/gateway.sh) and nothing
else: not by name, which ended every ExSim on the machine."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(60)


def test_ci_run_stops_nothing_by_name():
    ci = (ROOT / ".ci" / "run").read_text() + (ROOT / ".ci" / "gateway.sh").read_text()
    assert not re.search(r"\b(pkill|killall|pgrep)\b", ci)
    run = (ROOT / ".ci" / "run").read_text()
    assert "source .ci/gateway.sh" in run and 'gateway_start "$start_cmd"' in run and "gateway_stop" in run


def live_members(pgid: int) -> set[int]:
    """PIDs of the processes of group `pgid` that still run (exited, unreaped ones do not)."""
    found = set()
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                found.add(proc.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return found


def wait_for(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(condition)


# The dummy gateway: a shell with two children, one of which ignores SIGTERM (the KILL path).
# Named like the real one, as is the bystander, so a stop by name would have hit both.
GATEWAY = ("exec -a .venv/bin/exsim bash -c "
           "'sleep 300 & (trap \"\" TERM; exec -a .venv/bin/exsim sleep 301) & wait'")
DRIVER = """set -euo pipefail
source .ci/gateway.sh
gateway_start "$GATEWAY" "$LOG"
echo "$GATEWAY_PGID"
read -r _
gateway_stop 1
echo stopped
"""


def test_gateway_stop_ends_the_started_group_and_spares_a_bystander(tmp_path):
    bystander = subprocess.Popen(["bash", "-c", "exec -a /elsewhere/.venv/bin/exsim sleep 300"],
                                 start_new_session=True)
    driver = subprocess.Popen(["bash", "-c", DRIVER], cwd=ROOT, text=True, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env={**os.environ, "GATEWAY": GATEWAY,
                                                           "LOG": str(tmp_path / "gateway.log")})
    pgid = None
    try:
        pgid = int(driver.stdout.readline())
        assert pgid != os.getpgid(0) and pgid != os.getpgid(bystander.pid)
        started = wait_for(lambda: m if len(m := live_members(pgid)) == 3 else None)  # shell + 2 sleeps
        out, _ = driver.communicate("\n", timeout=30)
        assert out.strip() == "stopped" and driver.returncode == 0
        assert live_members(pgid) == set()
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                       for pid in started)
        assert bystander.poll() is None, "the unrelated process was stopped too"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=10)
        if pgid is not None and live_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
        bystander.kill()
        bystander.wait(timeout=10)
