"""Read a Quiver snapshot straight from object storage with pyarrow and fastavro.

This is recipe 1 of docs/offline-processing.md, kept runnable (CI runs it in
tests/e2e/test_inspect.py and compares its rows with `query` on a restored collection).
It needs no Quiver server and no Quiver code: only the files the snapshot references.

    pip install pyarrow fastavro

    # a local server's object store is <data_dir>/objects
    python offline_recipe.py --root /var/lib/quiver/objects --collection items --snapshot nightly
    # S3 (or MinIO): the root is s3://<bucket>/<root_path>
    python offline_recipe.py --root s3://my-bucket/quiver --endpoint http://127.0.0.1:9000 \\
        --access-key KEY --secret-key SECRET --collection items --snapshot nightly --out rows.parquet

Steps (docs/FORMAT.md has every file and field):
  1. find the metadata JSON, snapshots/<collection_id>/metadata/<snapshot_id>.json;
  2. read each manifest it lists (an Avro object container file, one record per segment);
  3. per segment, read its insert logs (Parquet) and its delete logs (Parquet: pk, $ts);
  4. drop every row (pk, t) with a delete of the same pk in THAT segment's delete logs at
     d where t < d <= create_ts; keep rows with t <= create_ts;
  5. drop the `$ts` system column; `$meta` holds the dynamic fields as JSON text.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional

import fastavro
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

SUPPORTED_FORMAT_VERSION = 1


def open_root(root: str, endpoint: Optional[str] = None, region: str = "us-east-1",
              access_key: Optional[str] = None, secret_key: Optional[str] = None):
    """(pyarrow filesystem, base path) for a local directory or s3://bucket[/prefix]."""
    if root.startswith("s3://"):
        options = {"region": region}
        if endpoint:
            scheme, _, host = endpoint.partition("://")
            options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
        if access_key:
            options.update(access_key=access_key, secret_key=secret_key)
        return pafs.S3FileSystem(**options), root[len("s3://"):].rstrip("/")
    return pafs.LocalFileSystem(), os.path.abspath(root)


def read_bytes(fs, path: str) -> bytes:
    with fs.open_input_file(path) as f:
        return f.read()


def find_snapshot(fs, base: str, collection: str, snapshot: str) -> dict:
    """The metadata JSON of `snapshot` of `collection` (its name or id)."""
    found = []
    selector = pafs.FileSelector(f"{base}/snapshots", recursive=True, allow_not_found=True)
    for info in fs.get_file_info(selector):
        parts = info.path[len(base) + 1:].split("/")
        if len(parts) != 4 or parts[2] != "metadata" or not parts[3].endswith(".json"):
            continue
        metadata = json.loads(read_bytes(fs, info.path))
        version = metadata.get("format_version") or 1
        if version > SUPPORTED_FORMAT_VERSION:
            raise RuntimeError(f"{info.path}: snapshot format version {version} is newer than this recipe knows")
        names = (metadata["collection"]["collection_name"], str(metadata["snapshot_info"]["collection_id"]))
        found.append((names, metadata["snapshot_info"]["name"]))
        if collection in names and metadata["snapshot_info"]["name"] == snapshot:
            return metadata
    raise LookupError(f"no snapshot {snapshot!r} of collection {collection!r} under {base}; found {found}")


def read_manifest(fs, base: str, key: str) -> dict:
    """One segment's manifest: an Avro object container file holding one record."""
    with fs.open_input_file(f"{base}/{key}") as f:
        (record,) = list(fastavro.reader(f))
    return record


def log_keys(groups: list) -> list:
    return [binlog["log_path"] for group in groups for binlog in group["binlogs"]]


def segment_rows(fs, base: str, manifest: dict, pk: str, create_ts: int) -> Optional[pa.Table]:
    """The visible rows of one segment (still with `$ts`)."""
    inserts = log_keys(manifest["binlog_files"])
    if not inserts:
        return None
    ts_limit = pa.scalar(create_ts, pa.uint64())
    rows = pa.concat_tables([pq.read_table(f"{base}/{k}", filesystem=fs) for k in inserts])
    rows = rows.filter(pc.less_equal(rows["$ts"], ts_limit))
    deletes = log_keys(manifest["deltalog_files"])
    if deletes and rows.num_rows:
        d = pa.concat_tables([pq.read_table(f"{base}/{k}", filesystem=fs) for k in deletes])
        d = d.filter(pc.less_equal(d["$ts"], ts_limit))
        # Only the latest delete of each key matters: a row is gone if t < latest delete.
        latest = d.group_by("pk").aggregate([("$ts", "max")])
        position = pc.index_in(rows[pk], value_set=latest["pk"])
        delete_ts = pc.take(latest["$ts_max"], position)
        keep = pc.or_kleene(pc.is_null(delete_ts), pc.greater_equal(rows["$ts"], delete_ts))
        rows = rows.filter(pc.fill_null(keep, True))
    return rows


def read_snapshot(root: str, collection: str, snapshot: str, **s3) -> tuple:
    """(visible rows as one pyarrow Table without `$ts`, the snapshot metadata)."""
    fs, base = open_root(root, **s3)
    metadata = find_snapshot(fs, base, collection, snapshot)
    fields = metadata["collection"]["schema"]["fields"]
    pk = next(f["name"] for f in fields if f["is_primary_key"])
    create_ts = metadata["snapshot_info"]["create_ts"]
    tables = []
    for key in metadata["manifest_list"]:
        rows = segment_rows(fs, base, read_manifest(fs, base, key), pk, create_ts)
        if rows is not None:
            tables.append(rows.drop_columns(["$ts"]))
    if not tables:
        return None, metadata
    return pa.concat_tables(tables), metadata


def to_records(table: Optional[pa.Table], metadata: dict) -> list:
    """Rows as dicts, the way `query(output_fields=["*"])` returns them: JSON fields
    parsed, dynamic keys from `$meta` merged in."""
    if table is None:
        return []
    json_fields = [f["name"] for f in metadata["collection"]["schema"]["fields"] if f["data_type"] == "Json"]
    records = []
    for row in table.to_pylist():
        dynamic = row.pop("$meta", None)
        for name in json_fields:
            if row.get(name) is not None:
                row[name] = json.loads(row[name])
        if dynamic:
            for key, value in json.loads(dynamic).items():
                row.setdefault(key, value)
        records.append(row)
    return records


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="<data_dir>/objects or s3://bucket/prefix")
    parser.add_argument("--collection", required=True, help="collection name or id")
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--endpoint", help="S3 endpoint URL (MinIO, moto, ...)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    parser.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    parser.add_argument("--out", help="write the rows here (.parquet, or .jsonl: one JSON object per row)")
    args = parser.parse_args(argv)
    table, metadata = read_snapshot(args.root, args.collection, args.snapshot, endpoint=args.endpoint,
                                    region=args.region, access_key=args.access_key, secret_key=args.secret_key)
    count = 0 if table is None else table.num_rows
    if args.out and args.out.endswith(".jsonl"):
        with open(args.out, "w") as out:
            for record in to_records(table, metadata):
                out.write(json.dumps(record) + "\n")
    elif args.out and table is not None:
        pq.write_table(table, args.out)
    print(f"{count} visible rows in snapshot {args.snapshot} of {metadata['collection']['collection_name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
