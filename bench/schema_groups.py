"""The schema-groups benchmark (issue 10): weir-data schema-groups against pyarrow reading the
same Parquet footers (pyarrow.parquet.read_schema through pyarrow's S3FileSystem), in one run,
on the loopback S3 server (moto) of tests/cluster/objstore.sh.

    python bench/schema_groups.py --weir-data BIN --endpoint http://127.0.0.1:PORT \
        --moto-pid PID --moto-log LOG [--gofakes3-endpoint URL --gofakes3-pid PID]
        [--files 10000] [--rounds 3] [--threads 32]

1. writes N small Parquet files once (cached under ~/.cache/weir/bench-parquet-N), four
   schemas, among them the seed's all-null `price` as INT64 in some files and DOUBLE in
   others, and uploads them to s3://weir-bench/in/ unless the bucket already holds them;
2. for each round, runs `weir-data schema-groups s3://weir-bench/in/` and then a pyarrow
   script (list, then read_schema on a thread pool of --threads, the same concurrency as
   weir-data's default) as separate processes, and measures wall time, the client's CPU
   time, the S3 server's CPU time (from /proc/PID/stat) and the requests it served (from
   its access log), so a server-bound run shows;
3. checks that both found the same groups (same work), then does the same on gofakes3 when
   given (a Go S3 server that serves requests concurrently, so that the server is not the
   bottleneck as single-process moto is) and on file:// (the client's own cost, no server),
   and prints a Markdown table of the medians.
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

BUCKET = "weir-bench"
PREFIX = "in/"

SCHEMAS = {
    # The seed's case: `price` all null, written as INT64 by one writer, DOUBLE by another.
    "price_int64": [("id", "string", False), ("ts", "timestamp[ms]", False),
                    ("symbol", "string", False), ("price", "int64", True),
                    ("volume", "double", True), ("venue", "string", True)],
    "price_double": [("id", "string", False), ("ts", "timestamp[ms]", False),
                     ("symbol", "string", False), ("price", "double", True),
                     ("volume", "double", True), ("venue", "string", True)],
    "id_nullable": [("id", "string", True), ("ts", "timestamp[ms]", False),
                    ("symbol", "string", False), ("price", "double", True),
                    ("volume", "double", True), ("venue", "string", True)],
    "extra_column": [("id", "string", False), ("ts", "timestamp[ms]", False),
                     ("symbol", "string", False), ("price", "double", True),
                     ("volume", "double", True), ("venue", "string", True),
                     ("fee", "double", True)],
}
ROWS = 64


def schema_of(name):
    import pyarrow as pa
    return pa.schema([pa.field(n, pa.type_for_alias(t), nullable=null) for n, t, null in SCHEMAS[name]])


def table_for(name, seed):
    import pyarrow as pa
    schema = schema_of(name)
    columns = []
    for field in schema:
        if field.nullable and field.name in ("price", "volume", "fee", "venue"):
            columns.append(pa.nulls(ROWS, field.type))
        elif field.name == "ts":
            columns.append(pa.array([1_700_000_000_000 + seed * ROWS + i for i in range(ROWS)], field.type))
        else:
            columns.append(pa.array([f"{field.name}-{seed}-{i}" for i in range(ROWS)], field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_files(directory, count):
    """Writes `count` files (once): file i has schema i % 4 in a shuffled-looking order."""
    import pyarrow.parquet as pq
    done = directory / ".complete"
    if done.exists():
        return
    directory.mkdir(parents=True, exist_ok=True)
    names = list(SCHEMAS)
    for i in range(count):
        name = names[(i * 7 + i // 13) % len(names)]
        pq.write_table(table_for(name, i), directory / f"part-{i:05d}.parquet")
    done.touch()


def s3_client(endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(max_pool_connections=32, s3={"addressing_style": "path"}))


def upload(endpoint, directory, count):
    client = s3_client(endpoint)
    try:
        client.create_bucket(Bucket=BUCKET)
    except (client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
        pass
    have = sum(page.get("KeyCount", 0) for page in
               client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX))
    if have == count:
        return
    files = sorted(directory.glob("*.parquet"))
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda p: client.put_object(Bucket=BUCKET, Key=PREFIX + p.name, Body=p.read_bytes()), files))
    print(f"uploaded {len(files)} files in {time.monotonic() - started:.1f} s", file=sys.stderr)


def pyarrow_groups(args):
    """The pyarrow side: list, then read_schema on a thread pool; prints a JSON summary."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
    if args.local:
        fs, base = pafs.LocalFileSystem(), args.local
    else:
        host = args.endpoint.split("://", 1)[1]
        fs = pafs.S3FileSystem(access_key="test", secret_key="test", region="us-east-1",
                               endpoint_override=host, scheme="http")
        base = f"{BUCKET}/{PREFIX.rstrip('/')}"
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=False))
    paths = [i.path for i in infos if i.is_file and i.path.endswith(".parquet")]

    def read(path):
        schema = pq.read_schema(path, filesystem=fs)
        return path, schema.remove_metadata().to_string(show_field_metadata=False)

    groups = {}
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        for path, key in pool.map(read, paths):
            groups.setdefault(key, []).append(path)
    print(json.dumps({"files": len(paths), "groups": sorted(len(v) for v in groups.values())}))


def timed(command, env, moto_pid, moto_log):
    """Runs `command`; returns (wall s, client CPU s, server CPU s, requests the server
    logged, stdout, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_seconds(moto_pid)
    log_offset = os.path.getsize(moto_log) if moto_log else 0
    started = time.monotonic()
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = cpu_seconds(moto_pid) - server_before if moto_pid else 0.0
    requests = logged_requests(moto_log, log_offset) if moto_log else 0
    if out.returncode != 0:
        sys.exit(f"{command[0]} failed ({out.returncode}): {out.stderr}")
    client = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, client, server, requests, out.stdout, out.stderr


def logged_requests(log, offset):
    """Requests moto logged after `offset` (one werkzeug access line each)."""
    with open(log, "rb") as f:
        f.seek(offset)
        return sum(1 for line in f if b" HTTP/1.1" in line)


def cpu_seconds(pid):
    if not pid:
        return 0.0
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def weir_groups(stdout):
    items = json.loads(stdout)
    return sorted(item["count"] for item in items)


def bench(args):
    directory = pathlib.Path.home() / ".cache" / "weir" / f"bench-parquet-{args.files}"
    write_files(directory, args.files)
    if not args.no_moto:
        upload(args.endpoint, directory, args.files)
    if args.gofakes3_endpoint:
        upload(args.gofakes3_endpoint, directory, args.files)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    manifest_dir = pathlib.Path(args.scratch)

    def s3_weir(endpoint):
        return [args.weir_data, "schema-groups", f"s3://{BUCKET}/{PREFIX}",
                f"--s3-endpoint={endpoint}", "--s3-region=us-east-1", "--s3-path-style",
                f"--concurrency={args.threads}",
                f"--manifest-dir=file://{manifest_dir}/s3", f"--termination-log={manifest_dir}/log"]

    def s3_py(endpoint):
        return [sys.executable, __file__, "pyarrow", "--endpoint", endpoint, "--threads", str(args.threads)]

    local_weir = [args.weir_data, "schema-groups", f"file://{directory}/",
                  f"--concurrency={args.threads}",
                  f"--manifest-dir=file://{manifest_dir}/local", f"--termination-log={manifest_dir}/log"]
    local_py = s3_py(args.endpoint) + ["--local", str(directory)]
    # (label, weir-data, pyarrow, server pid, server access log or "")
    stores = []
    if not args.no_moto:
        stores.append(("S3 (moto)", s3_weir(args.endpoint), s3_py(args.endpoint), args.moto_pid, args.moto_log))
    if args.gofakes3_endpoint:
        stores.append(("S3 (gofakes3)", s3_weir(args.gofakes3_endpoint),
                       s3_py(args.gofakes3_endpoint), args.gofakes3_pid, ""))
    stores.append(("file://", local_weir, local_py, 0, ""))
    rows = {}
    for label, weir, py, pid, log in stores:
        if label == "file://":
            timed(weir, env, 0, "")  # warm-up: the page cache (the S3 servers are warm already)
        runs = {"weir": [], "pyarrow": []}
        for _ in range(args.rounds):
            wall, cpu, server, requests, out, err = timed(weir, env, pid, log)
            runs["weir"].append((wall, cpu, server, requests))
            weir_result, summary = weir_groups(out), err.strip()
            wall, cpu, server, requests, out, _ = timed(py, env, pid, log)
            runs["pyarrow"].append((wall, cpu, server, requests))
            py_result = json.loads(out)
            if sorted(py_result["groups"]) != weir_result or py_result["files"] != args.files:
                sys.exit(f"different work: weir-data {weir_result}, pyarrow {py_result}")
        rows[label] = (runs, summary, weir_result)
    report(args, rows)


def report(args, rows):
    print(f"{args.files} files, {args.rounds} rounds, concurrency {args.threads}; medians")
    print("| store | tool | wall s | client CPU s | server CPU s | server busy | requests | req/s | pyarrow / weir-data |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, (runs, summary, groups) in rows.items():
        med = {tool: [statistics.median(r[i] for r in runs[tool]) for i in range(4)] for tool in runs}
        for tool in ("weir", "pyarrow"):
            wall, cpu, server, requests = med[tool]
            name = "weir-data schema-groups" if tool == "weir" else "pyarrow read_schema"
            busy = f"{100 * server / wall:.0f}%" if server else "–"
            reqs = f"{requests:.0f} | {requests / wall:.0f}" if requests else "– | –"
            ratio = f"{med['pyarrow'][0] / med['weir'][0]:.1f}x" if tool == "weir" else ""
            print(f"| {label} | {name} | {wall:.2f} | {cpu:.2f} | {server:.2f} | {busy} | {reqs} | {ratio} |")
        print(f"<!-- {label}: groups {groups}; {summary} -->")
    for label, (runs, summary, _) in rows.items():
        walls = ", ".join(f"{r[0]:.2f}" for r in runs["weir"])
        pywalls = ", ".join(f"{r[0]:.2f}" for r in runs["pyarrow"])
        print(f"{label}: weir-data walls [{walls}] s; pyarrow walls [{pywalls}] s")
        print(f"{label}: {summary}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    py = sub.add_parser("pyarrow", help="the pyarrow side alone (run by the benchmark)")
    py.add_argument("--endpoint", default="")
    py.add_argument("--local", default="")
    py.add_argument("--threads", type=int, default=32)
    parser.add_argument("--weir-data")
    parser.add_argument("--endpoint")
    parser.add_argument("--moto-pid", type=int, default=0)
    parser.add_argument("--moto-log", default="", help="moto's access log, to count requests")
    parser.add_argument("--gofakes3-endpoint", default="",
                        help="a second S3 server (gofakes3, Go, concurrent) for the same runs")
    parser.add_argument("--gofakes3-pid", type=int, default=0)
    parser.add_argument("--no-moto", action="store_true",
                        help="skip the moto rows (server-bound: ~3 minutes a round at 10,000 files)")
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--scratch", default="/tmp/weir-bench-schema-groups")
    args = parser.parse_args()
    if args.command == "pyarrow":
        pyarrow_groups(args)
    else:
        pathlib.Path(args.scratch).mkdir(parents=True, exist_ok=True)
        bench(args)


if __name__ == "__main__":
    main()
