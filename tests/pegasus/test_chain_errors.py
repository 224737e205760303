"""Chain-read failures as the user of `python -m tools.plan` meets them: one error line that
names the config key to change and the fix, the URL that was tried, and no retries where a
retry cannot help."""

from __future__ import annotations

import socket

import pytest

from tools.fakechain import ChainState, FakeChain, chainlet_record
from tools.plan.__main__ import main


def plan(capsys, endpoint, *sets):
    argv = ["--quiet", "--set", "chain.source=rest", "--set", f"chain.endpoint={endpoint}"]
    for s in sets:
        argv += ["--set", s]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chain():
    state = ChainState(chainlets=[chainlet_record(i) for i in range(3)], height=1000)
    with FakeChain(state) as fake:
        yield fake


def test_connection_refused_names_chain_endpoint_and_reports_each_retry(capsys):
    endpoint = f"http://127.0.0.1:{closed_port()}"
    code, out, err = plan(capsys, endpoint, "chain.retries=2")
    url = f"{endpoint}/ssc/chainlet/list_chainlets?pagination.limit=100&pagination.count_total=true"
    assert code == 1 and out == ""
    assert error_line(err) == (
        f"error: pegasus:chain.endpoint: cannot reach {endpoint}: connection refused (GET {url}); "
        "check chain.endpoint: the chain's REST API, usually port 1317 (gave up after 3 attempts; chain.retries is 2)"
    )
    assert err.splitlines()[:2] == [
        f"info: reading chain at {url} (attempt 2/3; the last one: connection refused)",
        f"info: reading chain at {url} (attempt 3/3; the last one: connection refused)",
    ]


def test_a_timeout_names_chain_timeout_seconds(capsys):
    state = ChainState(chainlets=[chainlet_record(0)], hang_seconds=2.0)
    with FakeChain(state) as fake:
        code, out, err = plan(capsys, fake.endpoint, "chain.timeoutSeconds=1", "chain.retries=0")
    line = error_line(err)
    assert code == 1
    assert line.startswith(f"error: pegasus:chain.endpoint: no answer from {fake.endpoint}/ssc/chainlet/list_chainlets?")
    assert line.endswith("within chain.timeoutSeconds (1s); check chain.endpoint, or raise chain.timeoutSeconds for a slow node "
                         "(gave up after 1 attempt; chain.retries is 0)")


def test_a_wrong_prefix_suggests_chain_api_prefix_shows_the_url_and_is_not_retried(capsys, chain):
    code, out, err = plan(capsys, chain.endpoint, "chain.apiPrefix=/saga/chainlet")
    url = f"{chain.endpoint}/saga/chainlet/list_chainlets?pagination.limit=100&pagination.count_total=true"
    assert code == 1
    assert error_line(err) == (
        f"error: pegasus:chain.apiPrefix: HTTP 501 from {url}: code 12: Not Implemented /saga/chainlet/list_chainlets. "
        "The node does not serve /saga/chainlet/; set chain.apiPrefix to where this node serves the chainlet module "
        "(older SPC nodes use another prefix), or check that chain.endpoint is the chain's REST API"
    )
    assert chain.state.requests == 1
    assert "info: reading chain" not in err


def test_an_html_404_is_named_by_its_title_never_dumped(capsys):
    state = ChainState(html_not_found=True)
    with FakeChain(state) as fake:
        code, out, err = plan(capsys, fake.endpoint, "chain.apiPrefix=/wrong")
    line = error_line(err)
    assert code == 1 and state.requests == 1  # a 4xx is not retried
    assert line.startswith(f"error: pegasus:chain.apiPrefix: HTTP 404 from {fake.endpoint}/wrong/list_chainlets?")
    assert ": an HTML page titled '404 Not Found' (" in line and "bytes), not the chain's JSON." in line
    assert "<p>" not in err and len(line) < 500


def test_a_future_height_is_not_called_pruned(capsys, chain):
    code, out, err = plan(capsys, chain.endpoint, "chain.height=5000")
    assert code == 1 and chain.state.requests == 1
    assert error_line(err) == (
        f"error: pegasus:chain.height: the node at {chain.endpoint} has not reached height 5000 yet "
        "(code 2: codespace sdk code 26: invalid height: cannot query with height in the future; please provide a valid height); "
        "set chain.height to a height the chain has reached, or unset it to read the latest"
    )
    assert "pruned" not in err


def test_a_pruned_height_says_so_and_names_chain_endpoint(capsys, chain):
    chain.state.pruned_below = 900
    code, out, err = plan(capsys, chain.endpoint, "chain.height=800")
    assert code == 1 and chain.state.requests == 1
    assert error_line(err).startswith("error: pegasus:chain.endpoint: the node no longer has the state at height 800 (pruned): ")
    assert error_line(err).endswith("Point chain.endpoint at an archive node, or one with longer pruning, and run again")


def test_a_good_read_prints_nothing_on_stderr(capsys, chain):
    code, out, err = plan(capsys, chain.endpoint)
    assert (code, err) == (0, ""), err
    assert "Resources:" in out
