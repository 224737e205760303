"""The benchmark's pure parts (the timed parts live in bench/ and print figures)."""

from __future__ import annotations

from bench.__main__ import cost_model, linear_fit


def test_cost_model_counts_load_balancers_and_listeners():
    rows = {(r["cloud"], r["chainlets"]): r for r in cost_model([25, 26, 1000])}
    assert rows[("eks", 25)]["load_balancers"] == 2  # one shard plus the platform chain's LB
    assert rows[("eks", 26)]["load_balancers"] == 3
    assert rows[("eks", 1000)] == {
        "cloud": "eks", "chainlets": 1000, "shard_size": 25, "load_balancers": 41, "listeners": 1001,
        "max_listeners_per_lb": 25, "nlb_hours_usd_per_month": 673.42,
    }
    assert rows[("gke", 1000)]["forwarding_rules"] == 41


def test_linear_fit():
    fit = linear_fit([(100, 2.0), (1000, 20.0), (2000, 40.0)])
    assert abs(fit["seconds_per_chainlet"] - 0.02) < 1e-9 and abs(fit["r2"] - 1.0) < 1e-9
