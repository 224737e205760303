"""The benchmark's pure parts (the timed parts live in bench/ and print figures)."""

from __future__ import annotations

from bench.__main__ import cost_model, linear_fit


def test_cost_model_counts_load_balancers_and_listeners():
    rows = {(r["cloud"], r["chainlets"]): r for r in cost_model([25, 26, 1000])}
    assert rows[("eks", 25)]["load_balancers"] == 2  # one shard plus the platform chain's LB
    assert rows[("eks", 26)]["load_balancers"] == 3
    assert rows[("eks", 1000)] == {
        "cloud": "eks", "chainlets": 1000, "shard_size": 25, "load_balancers": 41, "listeners": 1001,
        "max_listeners_per_lb": 25, "max_sg_rules_per_lb": 25, "nlb_hours_usd_per_month": 673.42,
    }
    assert rows[("gke", 1000)]["listeners"] == 1001  # Service port entries: one TCP port per chainlet
    assert rows[("gke", 1000)]["forwarding_rules"] == 41


def test_linear_fit():
    fit = linear_fit([(100, 2.0), (1000, 20.0), (2000, 40.0)])
    assert abs(fit["seconds_per_chainlet"] - 0.02) < 1e-9 and abs(fit["r2"] - 1.0) < 1e-9


def test_a_quick_run_never_overwrites_the_recorded_figures():
    import subprocess
    import sys

    from bench.__main__ import QUICK, RECORDED, output_path
    from tests.conftest import PROJECT

    before = (PROJECT / "bench" / "results.json").read_bytes()
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--output", "bench/results.json"], cwd=PROJECT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr == ("error: --quick never writes bench/results.json, which holds the recorded figures; leave --output out "
                          "(quick runs go to bench/results.quick.json) or name another file\n")
    assert (PROJECT / "bench" / "results.json").read_bytes() == before
    assert output_path(True, None) == QUICK and output_path(False, None) == RECORDED
    assert output_path(True, "/tmp/q.json") == "/tmp/q.json"
