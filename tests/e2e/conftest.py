"""The real engine against a real control plane: fixtures for the e2e suite.

One kwok cluster per test module (started here, stopped here, whatever happens: modules
deploy the same namespaces, and protected volumes outlive a stack), one throwaway copy of the
project per module, and the fake chain server in this process. The
tests in a module run in file order and build on each other's state, as a user's
successive `pulumi up`s do.
"""

from __future__ import annotations

import os
import pytest

from tools.e2e.project import LOCAL_CLUSTER_CONFIG, Project, copy_project
from tools.e2e.session import Session
from tools.fakechain import ChainState, FakeChain, chainlet_record

E2E_CONFIG = LOCAL_CLUSTER_CONFIG


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def e2e(request, tmp_path_factory):
    module = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")[:30]
    session = Session.create(f"pegasus-{os.getpid()}-{module}", tmp_path_factory.mktemp("e2e-state"))
    try:
        session.start()
        yield session
    finally:
        leftover = session.stop()
        # Whatever kwokctl left was killed by PID; nothing of the cluster may still run.
        assert not any(session.cluster.running().values()), f"a cluster process survived the stop ({leftover})"


@pytest.fixture(autouse=True)
def no_pod_callbacks(request):
    """Pod addresses here must never receive traffic, and the API server calls pods only for
    webhooks and aggregated APIs: none may exist after any test."""
    yield
    if "e2e" in request.fixturenames:
        session = request.getfixturevalue("e2e")
        assert session.cluster.pod_callbacks() == []


def chain_state(n: int, offline: tuple[int, ...] = ()) -> ChainState:
    return ChainState(chainlets=[chainlet_record(i, online=i not in offline) for i in range(n)])


@pytest.fixture(scope="module")
def chain():
    with FakeChain(chain_state(6), lifetime=3 * 3600) as fake:
        yield fake


@pytest.fixture(scope="module")
def validator(e2e, chain, tmp_path_factory) -> Project:
    """The dev stack in a copy of the project, reading the fake chain over HTTP."""
    project = Project(copy_project(tmp_path_factory.mktemp("project")), e2e.full_env())
    project.init({
        **E2E_CONFIG,
        "chain.source": "rest",
        "chain.endpoint": chain.endpoint,
        "chain.retries": "1",
        "chain.timeoutSeconds": "5",
    })
    return project
