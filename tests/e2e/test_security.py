"""Authentication and RBAC with `[security] authorization = true`, through stock pymilvus
and the RESTful API: Milvus's tokens, codes and "permission deny" words, the snapshot
privileges, built-in privilege groups, aliases, and grants that survive a restart."""

import json
import urllib.request

import numpy as np
import pytest
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from conftest import QuiverServer

AUTH = "[security]\nauthorization = true\n"
ROOT = "root:Milvus"
DIM = 8


@pytest.fixture
def auth_server(quiver_bin, tmp_path):
    srv = QuiverServer(quiver_bin, tmp_path / "data", tmp_path / "quiver.log", config=AUTH)
    srv.start()
    yield srv
    srv.stop()


def connect(server, token):
    return MilvusClient(uri=server.uri, token=token, dedicated=True)


def with_rows(client, name):
    client.create_collection(name, dimension=DIM)
    rng = np.random.default_rng(7)
    client.insert(name, [{"id": i, "vector": rng.random(DIM).tolist()} for i in range(20)])
    client.flush(name)


def user_with_role(root, server, user, role):
    root.create_user(user, "secret123")
    root.create_role(role)
    root.grant_role(user, role)
    return connect(server, f"{user}:secret123")


def denied(call):
    # pymilvus raises most denials as MilvusException, a few (insert) as the gRPC error.
    with pytest.raises(Exception) as info:
        call()
    assert "permission deny" in str(info.value), info.value


def call_json(url, body=None, token=None):
    """GET `url`, or POST `body` as JSON; with `token`, as `Authorization: Bearer`."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def rest(server, path, body, token=None):
    return call_json(f"{server.uri}/v2/vectordb{path}", body, token)


def test_logins_need_a_known_user_and_its_password(auth_server):
    for token in ["root:wrong", "nobody:Milvus", "root:Milvuskk"]:
        with pytest.raises(MilvusException, match="auth check failure"):
            connect(auth_server, token).list_collections()
    with pytest.raises(MilvusException, match="missing authorization"):
        MilvusClient(uri=auth_server.uri, dedicated=True).list_collections()
    assert "default" in connect(auth_server, ROOT).list_databases()
    log = auth_server.log_text()
    assert "initial password" in log
    assert "Milvuskk" not in log and "wrong" not in log.replace("wrong user name", "")


def test_root_password_change_and_users(auth_server):
    root = connect(auth_server, ROOT)
    root.create_user("alice", "secret123")
    assert sorted(root.list_users()) == ["alice", "root"]
    with pytest.raises(MilvusException, match="user already exists: alice"):
        root.create_user("alice", "secret123")
    with pytest.raises(MilvusException, match="old password not correct for alice"):
        root.update_password("alice", "nope1234", "secret456")
    root.update_password("root", "Milvus", "NewRoot1")
    with pytest.raises(MilvusException, match="auth check failure"):
        connect(auth_server, ROOT).list_collections()
    assert connect(auth_server, "root:NewRoot1").list_users()
    root2 = connect(auth_server, "root:NewRoot1")
    root2.drop_user("alice")
    with pytest.raises(MilvusException, match="auth check failure"):
        connect(auth_server, "alice:secret123").list_collections()


def test_each_snapshot_privilege_denied_then_allowed(auth_server):
    root = connect(auth_server, ROOT)
    with_rows(root, "c1")
    root.create_snapshot("s0", "c1")
    user = user_with_role(root, auth_server, "snapper", "snap_role")
    denied(lambda: user.create_snapshot("s1", "c1"))
    denied(lambda: user.list_snapshots(collection_name="c1"))
    denied(lambda: user.describe_snapshot("s0", "c1"))
    denied(lambda: user.restore_snapshot("s0", "c1", "c1_copy"))
    denied(lambda: user.pin_snapshot_data("s0", "c1"))
    denied(lambda: user.drop_snapshot("s0", "c1"))
    for privilege in ["CreateSnapshot", "ListSnapshots", "DescribeSnapshot", "RestoreSnapshot", "DropSnapshot"]:
        root.grant_privilege_v2("snap_role", privilege, "*", "*")
    root.grant_privilege_v2("snap_role", "PinSnapshotData", "*", "*")
    root.grant_privilege_v2("snap_role", "UnpinSnapshotData", "*", "*")
    user.create_snapshot("s1", "c1")
    assert set(user.list_snapshots(collection_name="c1")) == {"s0", "s1"}
    assert user.describe_snapshot("s1", "c1").collection_name == "c1"
    pin = user.pin_snapshot_data("s1", "c1")
    user.unpin_snapshot_data(pin)
    job = user.restore_snapshot("s0", "c1", "c1_copy")
    user.get_restore_snapshot_state(job)
    user.drop_snapshot("s1", "c1")
    # Other privileges were not granted.
    denied(lambda: user.drop_collection("c1"))


def test_builtin_groups_and_alias_resolution(auth_server):
    root = connect(auth_server, ROOT)
    with_rows(root, "c2")
    root.create_alias("c2", "a2")
    root.create_snapshot("s", "c2")
    user = user_with_role(root, auth_server, "reader", "reader_role")
    root.grant_privilege_v2("reader_role", "CollectionReadOnly", "c2", "default")
    assert user.list_snapshots(collection_name="a2") == ["s"]
    assert user.list_snapshots(collection_name="c2") == ["s"]
    denied(lambda: user.create_snapshot("t", "a2"))
    root.grant_privilege_v2("reader_role", "CollectionReadWrite", "c2", "default")
    user.create_snapshot("t", "a2")
    denied(lambda: user.restore_snapshot("t", "a2", "c2_restored"))
    groups = {g["privilege_group"]: g["privileges"] for g in root.list_privilege_groups()}
    assert "RestoreSnapshot" in groups["CollectionAdmin"] and "PinSnapshotData" in groups["ClusterAdmin"]


def test_grants_survive_a_restart(auth_server):
    root = connect(auth_server, ROOT)
    with_rows(root, "c3")
    user_with_role(root, auth_server, "keeper", "keeper_role")
    root.grant_privilege_v2("keeper_role", "Search", "c3", "default")
    root.grant_privilege_v2("keeper_role", "Load", "c3", "default")
    auth_server.restart()
    user = connect(auth_server, "keeper:secret123")
    user.load_collection("c3")
    assert len(user.search("c3", [[0.1] * DIM], limit=3)[0]) == 3
    denied(lambda: user.insert("c3", [{"id": 99, "vector": [0.0] * DIM}]))
    root = connect(auth_server, ROOT)
    assert root.describe_user("keeper")["roles"] == ("keeper_role",) or "keeper_role" in root.describe_user("keeper")["roles"]


def test_rest_needs_a_bearer_token(auth_server):
    root = connect(auth_server, ROOT)
    root.create_collection("c4", dimension=DIM)
    assert rest(auth_server, "/collections/list", {})["code"] == 1800
    assert rest(auth_server, "/collections/list", {}, token="root:bad")["code"] == 1800
    assert "c4" in rest(auth_server, "/collections/list", {}, token=ROOT)["data"]
    root.create_user("restless", "secret123")
    reply = rest(auth_server, "/collections/drop", {"collectionName": "c4"}, token="restless:secret123")
    assert reply["code"] == 65535 and "permission deny" in reply["message"], reply
    assert "c4" in root.list_collections()


def console(base_url, path, token=None, body=None):
    """A call of the web console's JSON API (GET, or POST with a body)."""
    return call_json(f"{base_url}/webui/api/{path}", body, token)


def test_console_api_answers_only_admins(auth_server):
    root = connect(auth_server, ROOT)
    with_rows(root, "shown")
    user_with_role(root, auth_server, "viewer", "readers")
    root.create_user("boss", "secret123")
    root.grant_role("boss", "admin")
    for base in (auth_server.uri, auth_server.metrics_url):
        assert console(base, "overview")["code"] == 1800  # no token: nothing shown
        assert console(base, "jobs")["code"] == 1800
        assert console(base, "collection?name=shown")["code"] == 1800
        refused = console(base, "collection?name=shown", token="viewer:secret123")
        assert refused["code"] == 65535 and "permission deny to viewer" in refused["message"], refused
        assert console(base, "overview", token="nobody:secret123")["code"] == 1800
        for admin in (ROOT, "boss:secret123"):
            shown = console(base, "collection?name=shown", token=admin)
            assert shown["code"] == 0, shown
    # An admin's actions go through the per-RPC check as that admin.
    made = console(auth_server.uri, "snapshots/create", token="boss:secret123", body={"collection": "shown", "name": "s1"})
    assert made["code"] == 0, made
    assert root.list_snapshots(collection_name="shown") == ["s1"]


def test_milvus_leniencies_of_grants_users_and_databases(auth_server):
    root = connect(auth_server, ROOT)
    root.create_role("later")
    # A grant may name a database that does not exist yet; revoking it succeeds too.
    root.grant_privilege("later", "Global", "All", "*", db_name="not_yet")
    root.revoke_privilege("later", "Global", "All", "*", db_name="not_yet")
    root.grant_privilege_v2("later", "CollectionReadOnly", "*", "not_yet_either")
    # Unbinding a user that does not exist leaves nothing bound; describing one is empty.
    root.revoke_role("nobody_here", "later")
    assert root.describe_user("nobody_here") == {}
    with pytest.raises(MilvusException, match="privilege group name ff-ff can only contain numbers, letters and underscores"):
        root.create_privilege_group("ff-ff")
    # A user whose role holds grants in a database may switch to it without DescribeDatabase.
    root.create_database("granted_db")
    root.create_database("other_db")
    user = user_with_role(root, auth_server, "dbuser", "db_role")
    root.grant_privilege("db_role", "Collection", "Load", "*", db_name="granted_db")
    user.using_database("granted_db")
    denied(lambda: user.using_database("other_db"))
