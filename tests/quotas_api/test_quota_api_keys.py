import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from quotas_api.api_keys import KeyRing, KeysFileError, hash_api_key
from quotas_api.app import create_app
from quotas_api.settings import Settings
from sample_service import ACME_KEY, GLOBEX_KEY, SERVICE_KEY, bearer

LOOKUPS = ["/v1/accounts/acme/quotas", "/v1/accounts/acme/quotas/api_calls"]


@pytest.mark.parametrize("path", LOOKUPS)
def test_a_lookup_without_a_key_is_401_with_a_bearer_challenge(client: TestClient, path: str):
    response = client.get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer qk_not_a_key", f"Basic {ACME_KEY}", "Bearer", "Bearer ", ACME_KEY, f"Bearer {ACME_KEY}x"],
)
def test_a_wrong_or_malformed_key_is_401(client: TestClient, authorization: str):
    response = client.get("/v1/accounts/acme/quotas", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_check_without_a_key_is_401_before_its_body_is_judged(client: TestClient):
    response = client.post("/v1/quotas/check", content=b"{not json")

    assert response.status_code == 401


def test_the_bearer_scheme_name_is_case_insensitive(client: TestClient):
    response = client.get("/v1/accounts/acme/quotas", headers={"Authorization": f"bearer {ACME_KEY}"})

    assert response.status_code == 200


@pytest.mark.parametrize("path", LOOKUPS)
def test_an_account_key_reads_its_own_account(client: TestClient, path: str):
    assert client.get(path, headers=bearer(ACME_KEY)).status_code == 200


@pytest.mark.parametrize("path", ["/v1/accounts/globex/quotas", "/v1/accounts/globex/quotas/api_calls"])
def test_an_account_key_reading_another_tenant_gets_exactly_the_answer_for_a_missing_account(
    client: TestClient, path: str
):
    other = client.get(path, headers=bearer(ACME_KEY))
    missing = client.get(path.replace("globex", "ghost"), headers=bearer(ACME_KEY))

    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == missing.json()["error"]["code"] == "account_not_found"
    assert other.json()["error"]["message"].replace("globex", "ghost") == missing.json()["error"]["message"]


def test_an_account_key_cannot_check_another_tenants_quota(client: TestClient):
    body = {"account_id": "globex", "metric": "api_calls", "quantity": 1}

    response = client.post("/v1/quotas/check", json=body, headers=bearer(ACME_KEY))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "account_not_found"


def test_an_account_key_cannot_learn_which_metrics_another_tenant_has(client: TestClient):
    existing = client.get("/v1/accounts/globex/quotas/api_calls", headers=bearer(ACME_KEY))
    absent = client.get("/v1/accounts/globex/quotas/teleports", headers=bearer(ACME_KEY))

    assert existing.json() == absent.json() == {
        "error": {"code": "account_not_found", "message": "no open-period quotas for account 'globex'"}
    }


def test_a_service_key_reads_every_account(client: TestClient):
    for account in ("acme", "globex"):
        assert client.get(f"/v1/accounts/{account}/quotas", headers=bearer(SERVICE_KEY)).status_code == 200


def test_each_tenant_key_reads_only_its_own_account(client: TestClient):
    assert client.get("/v1/accounts/globex/quotas", headers=bearer(GLOBEX_KEY)).status_code == 200
    assert client.get("/v1/accounts/acme/quotas", headers=bearer(GLOBEX_KEY)).status_code == 404


def test_health_metrics_and_openapi_need_no_key(client: TestClient):
    for path in ("/healthz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200


def test_the_keys_file_holds_only_hashes(data_dir: Path):
    text = (data_dir / "catalog" / "api_keys.yaml").read_text()

    assert ACME_KEY not in text
    assert hash_api_key(ACME_KEY) in text


def test_no_key_appears_in_the_logs(settings: Settings, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings)) as client:
        client.get("/v1/accounts/acme/quotas", headers=bearer(ACME_KEY))
        client.get("/v1/accounts/acme/quotas", headers=bearer("qk_wrong_key_value"))
        client.post("/v1/quotas/check", content=b"{", headers=bearer(SERVICE_KEY))

    logged = caplog.text
    assert "loaded 3 API key(s)" in logged
    for secret in (ACME_KEY, SERVICE_KEY, "qk_wrong_key_value", hash_api_key(ACME_KEY)):
        assert secret not in logged


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("keys: {}", "expected a mapping with a `keys:` list"),
        ("keys:\n- name: a\n  sha256: abc\n  role: service", "64 hex digits"),
        (f"keys:\n- name: a\n  sha256: '{'0' * 64}'", "exactly one of `account_id` or `role: service`"),
        (f"keys:\n- name: a\n  sha256: '{'0' * 64}'\n  role: service\n  account_id: x", "exactly one of"),
        (f"keys:\n- name: a\n  sha256: '{'0' * 64}'\n  role: admin", "the only role is 'service'"),
        (f"keys:\n- name: a\n  sha256: '{'0' * 64}'\n  role: service\n  secret: x", "unknown field(s) secret"),
        (
            f"keys:\n- {{name: a, sha256: '{'0' * 64}', role: service}}\n- {{name: a, sha256: '{'1' * 64}', role: service}}",
            "names must be unique",
        ),
        (
            f"keys:\n- {{name: a, sha256: '{'0' * 64}', role: service}}\n- {{name: b, sha256: '{'0' * 64}', account_id: x}}",
            "same key hash",
        ),
        ("keys: [", "cannot read API keys file"),
    ],
)
def test_a_bad_keys_file_is_refused_with_the_reason(tmp_path: Path, document: str, reason: str):
    path = tmp_path / "api_keys.yaml"
    path.write_text(document)

    with pytest.raises(KeysFileError) as refused:
        KeyRing.from_file(path)

    assert reason in str(refused.value)


def test_the_service_does_not_start_without_a_keys_file(settings: Settings, tmp_path: Path):
    missing = Settings(snapshot_path=settings.snapshot_path, api_keys_file=tmp_path / "none.yaml")

    with pytest.raises(KeysFileError, match="no API keys file at"):
        with TestClient(create_app(missing)):
            pass


def test_the_key_command_prints_a_new_key_once_and_stores_its_hash(tmp_path: Path):
    keys_file = tmp_path / "catalog" / "api_keys.yaml"
    command = [sys.executable, "-m", "quotas_api.api_keys", "new", "--keys-file", str(keys_file)]

    first = subprocess.run([*command, "--name", "gw", "--service"], capture_output=True, text=True, check=True)
    second = subprocess.run([*command, "--name", "acme", "--account-id", "acme"], capture_output=True, text=True, check=True)

    service_key, acme_key = first.stdout.strip(), second.stdout.strip()
    assert service_key.startswith("qk_") and len(service_key) > 40 and service_key != acme_key
    assert yaml.safe_load(keys_file.read_text()) == {
        "keys": [
            {"name": "gw", "sha256": hash_api_key(service_key), "role": "service"},
            {"name": "acme", "sha256": hash_api_key(acme_key), "account_id": "acme"},
        ]
    }
    ring = KeyRing.from_file(keys_file)
    assert ring.authenticate(acme_key.encode()).may_read("acme")
    assert not ring.authenticate(acme_key.encode()).may_read("globex")
    assert ring.authenticate(service_key.encode()).may_read("globex")
    assert ring.authenticate(b"qk_other") is None
