"""Concurrent writers, flushes and compactions: no acknowledged write is lost or doubled,
also across a SIGKILL (WAL group commit)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from pymilvus import DataType, MilvusClient

from helpers import count_rows, rows_by_pk


def schema():
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    s.add_field("w", DataType.INT64)
    return s


def row(i: int, w: int = 0) -> dict:
    return {"id": i, "vec": [float(i), 0.0], "w": w}


def run_all(fns):
    with ThreadPoolExecutor(max_workers=len(fns)) as pool:
        for f in [pool.submit(fn) for fn in fns]:
            f.result()


def test_concurrent_inserts_and_flushes_then_kill(fresh_server, unique_name):
    srv = fresh_server
    name = unique_name("conc")
    admin = srv.client()
    admin.create_collection(name, schema=schema())
    writers, batches, per = 4, 25, 8
    stop = threading.Event()

    def writer(w):
        def go():
            c = MilvusClient(uri=srv.uri, dedicated=True)
            try:
                for b in range(batches):
                    base = (w * batches + b) * per
                    c.insert(name, [row(base + k, w) for k in range(per)])
            finally:
                c.close()
        return go

    def flusher():
        c = MilvusClient(uri=srv.uri, dedicated=True)
        try:
            while not stop.is_set():
                c.flush(name)
        finally:
            c.close()

    flush_thread = threading.Thread(target=flusher)
    flush_thread.start()
    try:
        run_all([writer(w) for w in range(writers)])
    finally:
        stop.set()
        flush_thread.join()
    total = writers * batches * per
    expected = {i: row(i, i // (batches * per)) for i in range(total)}
    admin.load_collection(name)
    assert count_rows(admin, name) == total
    assert rows_by_pk(admin, name) == expected

    srv.kill()
    srv.start()
    c = srv.client()
    c.load_collection(name)
    assert count_rows(c, name) == total
    assert rows_by_pk(c, name) == expected


def test_concurrent_upserts_of_the_same_keys(client, unique_name, server):
    name = unique_name("concups")
    client.create_collection(name, schema=schema())
    client.insert(name, [row(i) for i in range(50)])
    client.flush(name)

    def upserter(w):
        def go():
            c = MilvusClient(uri=server.uri, dedicated=True)
            try:
                for _ in range(10):
                    c.upsert(name, [row(i, w) for i in range(50)])
            finally:
                c.close()
        return go

    run_all([upserter(w) for w in range(1, 4)])
    client.load_collection(name)
    got = rows_by_pk(client, name)  # fails on a duplicate key
    assert sorted(got) == list(range(50))
    assert all(r["w"] in (1, 2, 3) for r in got.values())
    assert count_rows(client, name) == 50
    assert client.get_collection_stats(name)["row_count"] == 50


def test_deletes_while_compacting_are_not_lost(fresh_server, unique_name):
    srv = fresh_server
    name = unique_name("compdel")
    c = srv.client()
    c.create_collection(name, schema=schema())
    for b in range(8):
        c.insert(name, [row(i) for i in range(b * 100, b * 100 + 100)])
        c.flush(name)
    c.delete(name, filter="id % 10 == 0")
    c.flush(name)
    deleted = {i for i in range(800) if i % 10 == 0}

    def compactor():
        cc = MilvusClient(uri=srv.uri, dedicated=True)
        try:
            for _ in range(3):
                cc.compact(name)
        finally:
            cc.close()

    def deleter():
        cd = MilvusClient(uri=srv.uri, dedicated=True)
        try:
            for start in range(1, 800, 40):
                ids = list(range(start, start + 40, 7))
                cd.delete(name, ids=ids)
                deleted.update(ids)
                if start % 200 == 1:
                    cd.flush(name)
        finally:
            cd.close()

    run_all([compactor, deleter])
    c.compact(name)
    expected = {i: row(i) for i in range(800) if i not in deleted}
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    assert count_rows(c, name) == len(expected)
    srv.kill()
    srv.start()
    c = srv.client()
    c.load_collection(name)
    assert rows_by_pk(c, name) == expected
    assert c.get_collection_stats(name)["row_count"] == len(expected)


def test_kill_right_after_compaction(fresh_server, unique_name):
    srv = fresh_server
    name = unique_name("compkill")
    c = srv.client()
    c.create_collection(name, schema=schema())
    for b in range(4):
        c.insert(name, [row(i) for i in range(b * 25, b * 25 + 25)])
        c.flush(name)
    c.delete(name, ids=list(range(0, 100, 3)))
    c.upsert(name, [row(i, 9) for i in range(1, 100, 3)])
    c.flush(name)
    c.compact(name)
    srv.kill()
    srv.start()
    c = srv.client()
    c.load_collection(name)
    expected = {i: row(i, 9 if i % 3 == 1 else 0) for i in range(100) if i % 3}
    assert rows_by_pk(c, name) == expected
    assert count_rows(c, name) == len(expected)
