"""A fake `arkor` CLI for the `train` tests and the benchmark.

Installed as an executable script (shebang = this Python). Behaviour comes
from environment variables, which `arkor-studio train` passes through:

build:  FAKE_BUILD = trainer (default) | default | none | throw | shadowed | fail;
        FAKE_TRAINER = the name; FAKE_BUILD_SLEEP=S: write the pid to FAKE_PIDFILE,
        then sleep S seconds.
        Writes a real ES module to .arkor/build/index.mjs (or fails with a message).
start:  prints START_STDOUT / START_STDERR (a multi-byte character split across
        writes, an invalid byte), then exits with FAKE_EXIT (default 0).
        FAKE_SLEEP=1: after the output, print "sleeping" and wait for signals.
        FAKE_WAIT_FILE=PATH: after the output, wait (up to 30 s) until PATH exists, then
        print "after the wait ✓" and exit (for `train --watch` while the view is up).
        FAKE_BYTES=N: write N bytes ("Started job job-bench", then a fixed pattern in
        64 KiB writes) and exit.
        Signals received are appended to FAKE_SIGNALS (one name a line); SIGINT
        and SIGTERM exit (130/143) unless FAKE_IGNORE=INT,TERM lists them.
        FAKE_OUTCOME=failed|cancelled|...: the status on the last line, `Job job-42
        finished with status=<s>` (as arkor's runner.ts prints it; the exit stays
        FAKE_EXIT); FAKE_OUTCOME=none: no such line (arkor died before the end).
        FAKE_WORKER=1: first start a worker process (a grandchild, like a wrapper's
        real program) that records signals as `worker:NAME` and writes its pid to
        FAKE_PIDFILE.worker. FAKE_LEAVE=group|daemon: at the end, leave a process
        behind that holds our stdout (group: in our process group; daemon: in a new
        session) and sleeps 60 s; its pid goes to FAKE_PIDFILE.left.
Every call appends {"argv0", "args", "cwd"} as a JSON line to FAKE_ARKOR_LOG;
start writes its pid to FAKE_PIDFILE once its output is written.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

START_STDOUT = [
    b"Started job job-42\n",
    b"caf\xc3",  # split inside a two-byte character (e-acute)
    b"\xa9 \xe2\x9c",  # ... and a three-byte one (check mark)
    b"\x93 step=1 loss=0.5\r\n",
    b"Job job-42 finished with status=completed\n",
]
START_STDERR = [b"warn: raw \xff byte \x1b[33myellow\x1b[0m\n", b"stderr tail, no newline"]
PATTERN = bytes(range(256)) * 256  # 64 KiB


def _log() -> None:
    path = os.environ.get("FAKE_ARKOR_LOG")
    if path:
        with open(path, "a") as fh:
            record = {"argv0": sys.argv[0], "args": sys.argv[1:], "cwd": os.getcwd()}
            fh.write(json.dumps(record) + "\n")


def build() -> int:
    mode = os.environ.get("FAKE_BUILD", "trainer")
    if os.environ.get("FAKE_BUILD_SLEEP"):  # a slow build, for signals during it
        pidfile = os.environ["FAKE_PIDFILE"]
        with open(pidfile + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(pidfile + ".tmp", pidfile)
        time.sleep(float(os.environ["FAKE_BUILD_SLEEP"]))
    if mode == "fail":
        sys.stderr.write('src/arkor/index.ts:3:7: ERROR: Expected ";" but found "trainer"\n')
        return 1
    name = os.environ.get("FAKE_TRAINER", "my-trainer")
    bodies = {
        "trainer": (
            f"const trainer = {{ name: {json.dumps(name)}, start() {{}} }};\n"
            "export const arkor = Object.freeze({ _kind: 'arkor', trainer });\n"
            "export default arkor;\n"
        ),
        "default": (
            f"export default {{ _kind: 'arkor', trainer: {{ name: {json.dumps(name)} }} }};\n"
        ),
        "none": "export const arkor = Object.freeze({ _kind: 'arkor' });\nexport default arkor;\n",
        "throw": "throw new Error('boom at import');\n",
        # `arkor` exists but is not a manifest: Studio reads `mod.arkor ?? mod.default`,
        # so the valid default export is never looked at (no trainer).
        "shadowed": (
            "export const arkor = { notAManifest: true };\n"
            f"export default {{ _kind: 'arkor', trainer: {{ name: {json.dumps(name)} }} }};\n"
        ),
    }
    os.makedirs(".arkor/build", exist_ok=True)
    with open(".arkor/build/index.mjs", "w") as fh:
        fh.write(bodies[mode])
    print("built .arkor/build/index.mjs")
    return 0


def start_stdout() -> list[bytes]:
    outcome = os.environ.get("FAKE_OUTCOME")
    if not outcome:
        return START_STDOUT
    last = [] if outcome == "none" else [f"Job job-42 finished with status={outcome}\n".encode()]
    return [*START_STDOUT[:-1], *last]


WORKER = """
import os, signal, sys, time
record, ignore = sys.argv[1], sys.argv[2]
def on_signal(signum, frame):
    name = signal.Signals(signum).name.removeprefix("SIG")
    with open(record, "a") as fh:
        fh.write("worker:" + name + "\\n")
    if name not in ignore.split(","):
        os._exit(128 + signum)
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, on_signal)
with open(sys.argv[3] + ".tmp", "w") as fh:
    fh.write(str(os.getpid()))
os.replace(sys.argv[3] + ".tmp", sys.argv[3])
time.sleep(60)
"""


def _spawn(code: str, *args: str, new_session: bool = False) -> None:
    import subprocess

    subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # only our stdout is held (not the test's stderr)
        start_new_session=new_session,
        close_fds=True,
    )


def _wait_for(path: str) -> None:
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


def start() -> int:
    ignore = set(os.environ.get("FAKE_IGNORE", "").split(","))
    record = os.environ.get("FAKE_SIGNALS")

    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name.removeprefix("SIG")
        if record:
            with open(record, "a") as fh:
                fh.write(name + "\n")
        if name not in ignore:
            os._exit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    total = int(os.environ.get("FAKE_BYTES", "0"))
    if total:
        header = b"Started job job-bench\n"[:total]
        total -= os.write(1, header)
        view = memoryview(PATTERN)
        while total > 0:
            n = os.write(1, view[: min(total, len(PATTERN))])
            total -= n
        return 0
    pidfile = os.environ.get("FAKE_PIDFILE", "")
    if os.environ.get("FAKE_WORKER"):
        _spawn(WORKER, record or os.devnull, os.environ.get("FAKE_IGNORE", ""), pidfile + ".worker")
        _wait_for(pidfile + ".worker")
    for out, err in zip(start_stdout(), [*START_STDERR, b"", b"", b""], strict=False):
        os.write(1, out)
        if err:
            os.write(2, err)
        time.sleep(0.01)
    if pidfile:  # written once the output is out and the handlers are in place
        with open(pidfile + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(pidfile + ".tmp", pidfile)
    wait_file = os.environ.get("FAKE_WAIT_FILE")
    if wait_file:
        deadline = time.monotonic() + 30
        while not os.path.exists(wait_file) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.write(1, b"after the wait \xe2\x9c")  # a check mark split across writes
        time.sleep(0.05)
        os.write(1, b"\x93\n")
    if os.environ.get("FAKE_SLEEP"):
        os.write(1, b"sleeping\n")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
    leave = os.environ.get("FAKE_LEAVE")
    if leave:  # a background process that keeps our stdout (fd 1) open
        _spawn(WORKER, os.devnull, "", pidfile + ".left", new_session=leave == "daemon")
        _wait_for(pidfile + ".left")
    return int(os.environ.get("FAKE_EXIT", "0"))


def main() -> int:
    _log()
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "build":
        return build()
    if command == "start":
        return start()
    sys.stderr.write(f"fake arkor: unknown command {command!r}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
