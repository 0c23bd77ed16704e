"""The audit log: with authorization on, security-relevant calls of two users (and their
denials, and failed logins) land in `<data-dir>/audit/audit-YYYYMMDD.jsonl` with the right
user, peer and result, survive a restart, and read back through `quiver audit`."""

import json
import os
import stat
import subprocess

import numpy as np
import pytest
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import QuiverServer, quiver_binary

ROOT = "root:Milvus"
DIM = 4


@pytest.fixture
def auth_server(quiver_bin, tmp_path):
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log", config="[security]\nauthorization = true\n")
    srv.start()
    yield srv
    srv.stop()


def connect(server, token):
    return MilvusClient(uri=server.uri, token=token, dedicated=True)


def audit(server, *args) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(quiver_binary()), "audit", "--data-dir", str(server.data_dir), *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def records(server, *args) -> list[dict]:
    return [json.loads(line) for line in audit(server, "--json", *args).stdout.splitlines()]


def test_actions_denials_and_failed_logins_are_recorded_across_restart(auth_server):
    root = connect(auth_server, ROOT)
    root.create_collection("c", dimension=DIM)
    rng = np.random.default_rng(3)
    root.insert("c", [{"id": i, "vector": rng.random(DIM).tolist()} for i in range(10)])
    root.flush("c")
    root.create_user("alice", "secret123")
    root.create_role("snapper")
    root.grant_role("alice", "snapper")
    alice = connect(auth_server, "alice:secret123")
    # pymilvus raises some denials as the gRPC error itself.
    with pytest.raises(Exception, match="permission deny"):
        alice.create_snapshot("s1", "c")
    root.grant_privilege_v2("snapper", "CreateSnapshot", "c", "default")
    alice.create_snapshot("s1", "c")
    with pytest.raises(MilvusException, match="auth check failure"):
        connect(auth_server, "alice:not-her-password").list_collections()

    auth_server.restart()
    root = connect(auth_server, ROOT)
    root.create_user("bob", "secret456")
    bob = connect(auth_server, "bob:secret456")
    with pytest.raises(Exception, match="permission deny"):
        bob.drop_snapshot("s1", "c")
    root.drop_snapshot("s1", "c")

    every = records(auth_server)
    actions = [(r["user"], r["action"], r["object"], r["result"]) for r in every]
    for expected in [
        ("root", "CreateCollection", "c", "ok"),
        ("root", "CreateCredential", "alice", "ok"),
        ("root", "OperateUserRole", "alice: add role snapper", "ok"),
        ("alice", "CreateSnapshot", "c/s1", "error"),
        ("root", "OperatePrivilegeV2", "grant CreateSnapshot on c, role snapper", "ok"),
        ("alice", "CreateSnapshot", "c/s1", "ok"),
        ("bob", "DropSnapshot", "c/s1", "error"),
        ("root", "DropSnapshot", "c/s1", "ok"),
    ]:
        assert expected in actions, f"{expected} not in {actions}"
    # In the order they happened, with the denial's Milvus words and code.
    assert actions.index(("alice", "CreateSnapshot", "c/s1", "error")) < actions.index(("alice", "CreateSnapshot", "c/s1", "ok"))
    denial = next(r for r in every if r["user"] == "bob" and r["action"] == "DropSnapshot")
    assert "permission deny to bob" in denial["reason"] and denial["code"] == 65535, denial
    assert denial["peer"].startswith("127.0.0.1:"), denial
    login = [r for r in every if r["action"] == "Login"]
    assert login and login[0]["user"] == "alice" and login[0]["code"] == 1800, login
    assert all("not-her-password" not in json.dumps(r) for r in every)
    # Reads are not audited.
    assert not any(r["action"] in ("Insert", "Search", "ListCollections") for r in every)

    # Filters, and the table.
    assert {r["user"] for r in records(auth_server, "--user", "alice")} == {"alice"}
    assert {r["action"] for r in records(auth_server, "--action", "dropsnapshot")} == {"DropSnapshot"}
    assert records(auth_server, "--since", "2h") == every
    assert records(auth_server, "--since", "2999-01-01") == []
    table = audit(auth_server, "--user", "bob").stdout.splitlines()
    assert table[0].split() == ["TIME", "USER", "PEER", "ACTION", "DB", "OBJECT", "RESULT"]
    assert any("DropSnapshot" in line and "error 65535" in line for line in table[1:]), table

    files = list((auth_server.data_dir / "audit").iterdir())
    assert len(files) >= 1 and all(f.name.startswith("audit-") and f.name.endswith(".jsonl") for f in files)
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600


def test_no_audit_log_when_switched_off(quiver_bin, tmp_path):
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log",
                       config="[security]\nauthorization = true\naudit = false\n")
    srv.start()
    try:
        connect(srv, ROOT).create_collection("c", dimension=DIM)
        assert not (srv.data_dir / "audit").exists()
    finally:
        srv.stop()
