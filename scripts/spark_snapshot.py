"""Read a Quiver snapshot with PySpark, straight from object storage: recipe 3 of
docs/offline-processing.md (scripts/run_spark_recipe.sh runs it end to end and checks it
against `query` on a restored collection).

    pip install pyspark fastavro          # Java 17+ on the PATH

    # local object store (a local server keeps it in <data_dir>/objects)
    python scripts/spark_snapshot.py --root /var/lib/quiver/objects \\
        --collection items --snapshot nightly --out /tmp/items --format parquet

    # S3 / MinIO through s3a:// (needs hadoop-aws on the classpath, see --packages)
    python scripts/spark_snapshot.py --root s3a://my-bucket/quiver \\
        --packages org.apache.hadoop:hadoop-aws:<the Hadoop version of your Spark> \\
        --s3-endpoint http://127.0.0.1:9000 --s3-access-key KEY --s3-secret-key SECRET \\
        --collection items --snapshot nightly --out s3a://my-bucket/exports/items

What it does (docs/FORMAT.md describes every file):
  1. reads every snapshots/*/metadata/*.json and picks the snapshot (collection name or id);
  2. reads the segment manifests it lists (Avro object container files) on the driver with
     fastavro, or with Spark's Avro source (`--manifests spark-avro`, needs
     `--packages org.apache.spark:spark-avro_<scala>:<spark version>`);
  3. reads every segment's insert logs and delete logs (Parquet), tagging rows with their
     segment;
  4. anti-joins rows with the deletes OF THE SAME SEGMENT on primary key where the row's
     `$ts` < the delete's `$ts` (and both <= the snapshot's create_ts);
  5. drops `$ts` and writes the rows (Parquet keeps `$meta`, the dynamic fields as JSON
     text; JSON lines merge them into each row).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

SUPPORTED_FORMAT_VERSION = 1
TS = "`$ts`"


def spark_session(args) -> SparkSession:
    builder = SparkSession.builder.appName("quiver-snapshot").config("spark.ui.showConsoleProgress", "false")
    if args.master:
        builder = builder.master(args.master)
    if args.packages:
        builder = builder.config("spark.jars.packages", args.packages)
    if args.s3_endpoint:
        builder = (builder.config("spark.hadoop.fs.s3a.endpoint", args.s3_endpoint)
                   .config("spark.hadoop.fs.s3a.path.style.access", "true")
                   .config("spark.hadoop.fs.s3a.connection.ssl.enabled", str(args.s3_endpoint.startswith("https")).lower()))
    if args.s3_access_key:
        builder = (builder.config("spark.hadoop.fs.s3a.access.key", args.s3_access_key)
                   .config("spark.hadoop.fs.s3a.secret.key", args.s3_secret_key))
    return builder.getOrCreate()


def find_snapshot(spark: SparkSession, root: str, collection: str, snapshot: str) -> dict:
    """The metadata JSON of `snapshot` of `collection` (its name or id)."""
    found = []
    for path, text in spark.sparkContext.wholeTextFiles(f"{root}/snapshots/*/metadata/*.json").collect():
        metadata = json.loads(text)
        version = metadata.get("format_version") or 1
        if version > SUPPORTED_FORMAT_VERSION:
            raise RuntimeError(f"{path}: snapshot format version {version} is newer than this job knows")
        names = (metadata["collection"]["collection_name"], str(metadata["snapshot_info"]["collection_id"]))
        found.append(f"{names[0]}/{metadata['snapshot_info']['name']}")
        if collection in names and metadata["snapshot_info"]["name"] == snapshot:
            return metadata
    raise SystemExit(f"no snapshot {snapshot!r} of collection {collection!r} under {root}; found: {found}")


def read_manifests(spark: SparkSession, root: str, keys: list, how: str) -> list:
    """One dict per segment manifest."""
    if not keys:
        return []
    paths = [f"{root}/{key}" for key in keys]
    if how == "spark-avro":
        return [row.asDict(recursive=True) for row in spark.read.format("avro").load(paths).collect()]
    import fastavro

    manifests = []
    for _, content in spark.sparkContext.binaryFiles(",".join(paths)).collect():
        manifests.extend(fastavro.reader(io.BytesIO(content)))
    return manifests


def log_paths(root: str, groups: list) -> list:
    return [f"{root}/{binlog['log_path']}" for group in groups for binlog in group["binlogs"]]


def union(frames: list):
    return reduce(DataFrame.unionByName, frames) if frames else None


def visible_rows(spark: SparkSession, root: str, metadata: dict, manifests: list) -> DataFrame:
    """The snapshot's visible rows, without `$ts`."""
    fields = metadata["collection"]["schema"]["fields"]
    pk = next(f["name"] for f in fields if f["is_primary_key"])
    create_ts = F.lit(metadata["snapshot_info"]["create_ts"]).cast("decimal(20,0)")  # $ts is UInt64
    inserts, deletes = [], []
    for m in manifests:
        segment = F.lit(m["segment_id"]).alias("_segment")
        if log_paths(root, m["binlog_files"]):
            inserts.append(spark.read.parquet(*log_paths(root, m["binlog_files"])).select("*", segment))
        if log_paths(root, m["deltalog_files"]):
            deletes.append(spark.read.parquet(*log_paths(root, m["deltalog_files"])).select("*", segment))
    rows = union(inserts)
    if rows is None:
        raise SystemExit("the snapshot holds no rows (no sealed segment was captured)")
    rows = rows.where(F.col(TS) <= create_ts)
    dels = union(deletes)
    if dels is not None:
        d = dels.where(F.col(TS) <= create_ts).select(
            F.col("_segment").alias("_d_segment"), F.col("pk").alias("_d_pk"), F.col(TS).alias("_d_ts"))
        condition = ((rows["_segment"] == d["_d_segment"]) & (rows[f"`{pk}`"] == d["_d_pk"])
                     & (rows[TS] < d["_d_ts"]))
        rows = rows.join(d, condition, "left_anti")
    return rows.drop("$ts", "_segment")


def json_records(rows: DataFrame, metadata: dict):
    """Rows as dicts like `query(output_fields=["*"])`: JSON fields parsed, `$meta` merged."""
    json_fields = [f["name"] for f in metadata["collection"]["schema"]["fields"] if f["data_type"] == "Json"]
    for row in rows.toLocalIterator():
        record = row.asDict(recursive=True)
        dynamic = record.pop("$meta", None)
        for name in json_fields:
            if record.get(name) is not None:
                record[name] = json.loads(record[name])
        if dynamic:
            for key, value in json.loads(dynamic).items():
                record.setdefault(key, value)
        yield record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Read a Quiver snapshot with PySpark, delete logs applied.")
    parser.add_argument("--root", required=True, help="object store root: a local dir, file:///dir or s3a://bucket/prefix")
    parser.add_argument("--collection", required=True, help="collection name or id")
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--out", help="where to write the rows (a directory for parquet, a local file for jsonl)")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    parser.add_argument("--manifests", choices=["fastavro", "spark-avro"], default="fastavro")
    parser.add_argument("--master", default=None, help="Spark master (default: local[*] or spark-submit's)")
    parser.add_argument("--packages", help="extra Maven packages (hadoop-aws for s3a, spark-avro)")
    parser.add_argument("--s3-endpoint")
    parser.add_argument("--s3-access-key")
    parser.add_argument("--s3-secret-key")
    args = parser.parse_args(argv)

    spark = spark_session(args)
    spark.sparkContext.setLogLevel("WARN")
    root = args.root.rstrip("/")
    metadata = find_snapshot(spark, root, args.collection, args.snapshot)
    manifests = read_manifests(spark, root, metadata["manifest_list"], args.manifests)
    rows = visible_rows(spark, root, metadata, manifests).cache()
    count = rows.count()
    if args.out and args.format == "parquet":
        rows.write.mode("errorifexists").parquet(args.out)
    elif args.out:
        with open(args.out, "w") as out:
            for record in json_records(rows, metadata):
                out.write(json.dumps(record) + "\n")
    name = metadata["collection"]["collection_name"]
    print(f"spark: {count} visible rows in snapshot {args.snapshot} of {name} "
          f"({len(manifests)} segments, create_ts {metadata['snapshot_info']['create_ts']})")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
