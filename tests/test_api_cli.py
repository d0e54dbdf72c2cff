"""`incentive keys create|list|revoke` and `incentive serve`'s start-up checks, in-process
(`incentive.cli.main`), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from api.store import Store
from incentive.cli import main

pytest_plugins = ["tests.api_fixtures"]


def test_keys_create_list_revoke(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INCENTIVE_DATABASE_URL", db_url)
    assert main(["keys", "list"]) == 0  # migrates an empty database first
    assert capsys.readouterr().out.strip() == "no keys"

    assert main(["keys", "create", "--role", "payroll", "--name", "payroll-bot"]) == 0
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1].split()[-1]  # the key: last token of the last line
    assert secret.startswith("inc_k") and "payroll-bot" in out and "not shown again" in out
    assert main(["keys", "create", "--role", "hr"]) == 0
    capsys.readouterr()

    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed[0]["name"], listed[0]["role"], listed[0]["active"]) == ("payroll-bot", "payroll", True)
    assert len(listed) == 2 and secret not in json.dumps(listed)
    key_id = listed[0]["key_id"]
    assert secret.startswith(f"inc_{key_id}_")

    store = Store(db_url)
    try:
        assert store.authenticate(secret) is not None
        assert main(["keys", "revoke", key_id]) == 0
        assert f"revoked key {key_id}" in capsys.readouterr().out
        assert store.authenticate(secret) is None
        assert main(["keys", "revoke", key_id]) == 0  # again: still revoked, no error
        assert main(["keys", "revoke", "k-none"]) == 2
        assert "no key 'k-none'" in capsys.readouterr().err
        assert main(["keys", "list"]) == 0
        assert "revoked" in capsys.readouterr().out
        assert [e["action"] for e in store.audit_entries()] == ["key.create", "key.create", "key.revoke"]
    finally:
        store.dispose()


def test_a_bad_role_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["keys", "create", "--role", "admin"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["keys", "list"]])
def test_an_unusable_database_is_a_clear_error(command: list[str], monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INCENTIVE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "cannot use the database postgresql+psycopg://nobody@127.0.0.1:1/none" in err and "Traceback" not in err
