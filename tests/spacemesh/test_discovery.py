"""The networks.json entry provider against a local GCS JSON API server: add, update,
remove, a concurrent writer (precondition failure) and an unreadable object."""

from __future__ import annotations

import json

import pytest

from components.spacemesh.discovery import DiscoveryError, NetworkEntryProvider
from tests.fake_gcs import FakeGcs

OTHER = {"netName": "testnet-06", "netID": 6, "conf": "https://example.org/testnet-06/config.json"}


def props(endpoint: str, **entry) -> dict:
    e = {"netName": "devnet-412", "netID": 412, "conf": "https://storage.googleapis.com/sm/devnet-412/config.json", **entry}
    return {"endpoint": endpoint, "bucket": "sm-discovery", "object": "networks.json", "netName": "devnet-412", "entry": e}


def test_add_update_and_remove_touch_only_this_entry():
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", json.dumps([OTHER]).encode())
        p = NetworkEntryProvider()
        created = p.create(props(gcs.endpoint))
        assert gcs.read("sm-discovery", "networks.json") == [props(gcs.endpoint)["entry"], OTHER]
        assert created.outs["generation"] == 2 and created.id == "sm-discovery/networks.json#devnet-412"
        assert gcs.uploads == [("networks.json", 1)]

        new = props(gcs.endpoint, netID=413)
        diff = p.diff(created.id, created.outs, new)
        assert diff.changes and diff.replaces == []
        p.update(created.id, created.outs, new)
        assert gcs.read("sm-discovery", "networks.json") == [new["entry"], OTHER]

        # An unchanged entry is no write at all.
        p.update(created.id, new, new)
        assert len(gcs.uploads) == 2

        p.delete(created.id, new)
        assert gcs.read("sm-discovery", "networks.json") == [OTHER]


def test_a_concurrent_writer_is_never_clobbered():
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", b"[]")
        third = {"netName": "other-net", "netID": 9}
        # Another writer adds its network between our read and our write: our first upload
        # fails its generation precondition, and the retry keeps their entry.
        gcs.race.append(json.dumps([third]).encode())
        NetworkEntryProvider().create(props(gcs.endpoint))
        assert gcs.uploads == [("networks.json", 1), ("networks.json", 2)]
        assert [n["netName"] for n in gcs.read("sm-discovery", "networks.json")] == ["devnet-412", "other-net"]


def test_precondition_failing_every_time_gives_up_without_writing():
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", b"[]")
        gcs.race.extend([json.dumps([{"netName": f"n{i}"}]).encode() for i in range(5)])
        with pytest.raises(DiscoveryError, match="changed since generation 5; gave up after 5 attempts"):
            NetworkEntryProvider().create(props(gcs.endpoint))
        assert gcs.read("sm-discovery", "networks.json") == [{"netName": "n4"}]


@pytest.mark.parametrize("setup, message", [
    (lambda g: setattr(g, "fail_reads", 503), "gs://sm-discovery/networks.json is unreadable (metadata: HTTP 503); not writing"),
    (lambda g: g.put("sm-discovery", "networks.json", b"<html>"), "gs://sm-discovery/networks.json is not JSON; not writing"),
    (lambda g: g.put("sm-discovery", "networks.json", b'{"a": 1}'), "gs://sm-discovery/networks.json is not a JSON list of networks; not writing"),
    (lambda g: None, "gs://sm-discovery/networks.json is unreadable (metadata: HTTP 404); not writing. Create it with an empty list [] if it does not exist yet"),
])
def test_an_unreadable_object_is_never_written(setup, message):
    with FakeGcs() as gcs:
        setup(gcs)
        before = dict(gcs.objects)
        for call in (lambda p: p.create(props(gcs.endpoint)), lambda p: p.delete("id", props(gcs.endpoint))):
            with pytest.raises(DiscoveryError) as e:
                call(NetworkEntryProvider())
            assert str(e.value) == message
        assert gcs.uploads == [] and gcs.objects == before


def test_renaming_the_network_or_moving_the_list_replaces_the_entry():
    p = NetworkEntryProvider()
    old = props("http://x")
    moved = {**old, "object": "networks.private.json"}
    assert p.diff("id", old, moved).replaces == ["object"]


@pytest.fixture(autouse=True)
def fresh_credentials(monkeypatch):
    """Each test chooses its credentials; none is found by accident (no metadata server)."""
    from components.spacemesh import discovery

    monkeypatch.setattr(discovery, "_ADC", {})
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.delenv("GOOGLE_OAUTH_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent")  # no gcloud login either


def service_account_file(tmp_path, token_uri: str) -> str:
    """A service-account key file as the IAM API issues it, whose token_uri is a local server."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "my-gcp-project", "private_key_id": "k1", "private_key": pem,
        "client_email": "publisher@my-gcp-project.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri,
    }))
    return str(path)


def test_application_default_credentials_from_a_service_account_key_file(tmp_path, monkeypatch):
    import base64
    import threading
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    grants = []

    class Token(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            claims = form["assertion"].split(".")[1]
            grants.append((form["grant_type"], json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))))
            body = json.dumps({"access_token": "adc-token", "expires_in": 3600, "token_type": "Bearer"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Token)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", service_account_file(tmp_path, f"http://127.0.0.1:{server.server_address[1]}/token"))
        with FakeGcs() as gcs:
            gcs.put("sm-discovery", "networks.json", b"[]")
            NetworkEntryProvider().create(props(gcs.endpoint))
            assert gcs.read("sm-discovery", "networks.json")[0]["netName"] == "devnet-412"
            assert gcs.authorizations == ["Bearer adc-token"] * 3  # metadata, media, upload
    finally:
        server.shutdown()
        server.server_close()
    # One token for the whole run, for a JWT grant with the storage scope.
    assert len(grants) == 1 and grants[0][0] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert grants[0][1]["scope"] == "https://www.googleapis.com/auth/devstorage.read_write"
    assert grants[0][1]["iss"] == "publisher@my-gcp-project.iam.gserviceaccount.com"


def test_an_oauth_token_in_the_environment_wins(monkeypatch):
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "env-token")
    with FakeGcs() as gcs:
        gcs.put("sm-discovery", "networks.json", b"[]")
        NetworkEntryProvider().create(props(gcs.endpoint))
        assert set(gcs.authorizations) == {"Bearer env-token"}


def test_every_request_is_a_storage_v1_method_with_its_parameters(monkeypatch):
    """Against the Storage JSON API's discovery document (google-api-python-client ships it):
    each URL matches a method's path (or its simple media-upload path) and uses only its
    parameters or the API's global ones, with values the enums allow."""
    import os
    import re
    import urllib.parse

    import googleapiclient

    from components.spacemesh import discovery

    doc = json.load(open(os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents", "storage.v1.json")))
    methods = doc["resources"]["objects"]["methods"]
    seen = []

    def fake(method, url, data=None, content_type=None):
        seen.append((method, url))
        if "alt=json" in url:
            return 200, b'{"generation": "3"}'
        if "alt=media" in url:
            return 200, b"[]"
        return 200, b'{"generation": "4"}'

    monkeypatch.setattr(discovery, "_request", fake)
    NetworkEntryProvider().create(props("https://storage.googleapis.com"))
    assert len(seen) == 3
    for http, url in seen:
        parsed = urllib.parse.urlparse(url)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        matched = None
        for m in methods.values():
            paths = ["/" + doc["servicePath"] + m["path"]]
            if m.get("mediaUpload"):
                paths.append(m["mediaUpload"]["protocols"]["simple"]["path"])
            for template in paths:
                pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
                if m["httpMethod"] == http and re.match(pattern, parsed.path):
                    matched = m
        assert matched is not None, url
        allowed = set(matched["parameters"]) | set(doc["parameters"])
        assert set(query) <= allowed, (url, set(query) - allowed)
        for name, value in query.items():
            enum = (matched["parameters"].get(name) or doc["parameters"].get(name)).get("enum")
            assert enum is None or value in enum, (name, value)
