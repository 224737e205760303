"""The small command-line tools as a user runs them: help, errors, and what they print."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys

from tests.conftest import PROJECT
from tools.plan.__main__ import main as plan_main


def tool(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", *argv], cwd=PROJECT, capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------- fakechain


def test_fakechain_help_has_a_description_and_defaults():
    out = tool("tools.fakechain", "--help")
    assert out.returncode == 0
    assert "A local HTTP server that answers like a Saga chain's REST (grpc-gateway) API." in out.stdout
    for flag in ("how many chainlets the chain lists (default: 30)", "(default: 1317)", "(default: /ssc/chainlet)", "(default: 3600)"):
        assert flag in " ".join(out.stdout.split()), flag


def test_fakechain_banner_settings_plan_against_it(capsys):
    server = subprocess.Popen([sys.executable, "-m", "tools.fakechain", "--port", "0", "--chainlets", "4", "--lifetime", "60"],
                              cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline().rstrip("\n") for _ in range(7)]
        endpoint = lines[5].split()[-1]
        assert lines[0].startswith("fake chain: 4 chainlets at height 1000, serving http://127.0.0.1:")
        assert lines[2] == (f"  venv/bin/python -m tools.plan --set chain.source=rest --set chain.endpoint={endpoint} "
                            "--set chain.apiPrefix=/ssc/chainlet")
        assert lines[5:] == [f"  pulumi config set --path chain.endpoint {endpoint}",
                             "  pulumi config set --path chain.apiPrefix /ssc/chainlet"]
        # Pasted as printed, the settings read the chain: no doubled prefix.
        code = plan_main([*shlex.split(lines[2])[3:], "--quiet"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert re.search(r"\n  pegasus:chainlet:Chainlet +4\n", out)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_fakechain_refuses_negative_counts():
    for flag in ("--chainlets", "--offline-every", "--height"):
        out = tool("tools.fakechain", flag, "-1")
        assert out.returncode == 2
        assert f"error: argument {flag}: must be 0 or more, got -1" in out.stderr
    out = tool("tools.fakechain", "--lifetime", "0")
    assert out.returncode == 2 and "error: argument --lifetime: must be more than 0, got 0" in out.stderr


def test_fakechain_on_a_busy_port_is_one_error_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = tool("tools.fakechain", "--port", str(port), "--lifetime", "1")
    assert out.returncode == 1
    assert out.stderr == (f"error: --port {port}: cannot listen on 127.0.0.1:{port}: Address already in use; "
                          "pick another port, or --port 0 for any free one\n")


# ---------------------------------------------------------------------------- the other tools


def test_make_plan_takes_the_stack():
    out = subprocess.run(["make", "-s", "plan", "STACK=eks"], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Plan for stack eks of project pegasus")
    assert "pegasus-eks (pulumi:pulumi:Stack)" in out.stdout


def test_scan_takes_a_stack():
    out = tool("tools.scan", "--stack", "eks", timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("checkov (kubernetes) on the eks stack: ")
    assert "UNUSED SKIP" not in out.stdout  # skips other stacks need are not reported on a partial scan
    out = tool("tools.scan", "--stack", "nope")
    assert out.returncode == 2
    assert out.stderr.startswith("error: no stack 'nope': ") and "the stacks here are dev, eks, fleet, gke" in out.stderr


def test_chainheight_accepts_set(capsys):
    from tools import chainheight
    from tools.fakechain import ChainState, FakeChain, chainlet_record

    state = ChainState(chainlets=[chainlet_record(0)], height=4321)
    with FakeChain(state) as chain:
        code = chainheight.main(["--stack", "dev", "--set", "chain.source=rest", "--set", f"chain.endpoint={chain.endpoint}"])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, "4321\n", "")
    code = chainheight.main(["--set", "chain.source=rest"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("error: pegasus:chain.endpoint: is required when chain.source is rest")


def test_configdoc_help_describes_it_and_prints_no_table():
    out = tool("tools.configdoc", "--help")
    assert out.returncode == 0
    assert "Print the config reference table for docs/config.md" in " ".join(out.stdout.split())
    assert "| key |" not in out.stdout
