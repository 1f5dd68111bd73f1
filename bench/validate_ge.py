#!/usr/bin/env python3
"""Great Expectations 1.x on its pandas engine, end to end, as the baseline of
bench/validate.sh, and the agreement check of weir-data validate against it.

  validate_ge.py run --suite SUITE.json --data FILE_OR_DIR [--out RESULT.json]
      import GE, read the Parquet (or CSV) files with pandas, run the suite, print a summary
      line and (with --out) each expectation's result in suite order as JSON.
  validate_ge.py compare --ge GE.json --weir WEIR.json [--truth TRUTH.json]
      every expectation's unexpected count, success and observed value must agree (and
      match the truth file of validate_truth.py when given); exits 1 on any difference.

Facts of GE 1.x this follows: `context.data_sources` (not `sources`); the dataframe goes in
at run time (`batch_parameters={"dataframe": df}`); the suite is added with
`context.suites.add` before running; results come back grouped by column, not in suite
order, so they are matched back on type and kwargs; the result format is SUMMARY.
"""
import argparse
import glob
import json
import math
import os
import sys
import time


def load_frame(data):
    import pandas as pd

    files = sorted(glob.glob(os.path.join(data, "*.parquet")) + glob.glob(os.path.join(data, "*.csv"))) \
        if os.path.isdir(data) else [data]
    frames = [pd.read_csv(f) if f.endswith(".csv") else pd.read_parquet(f) for f in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


IDENTITY = ("column", "column_A", "column_B", "column_list", "column_set", "value_set",
            "regex", "type_", "type_list", "value", "min_value", "max_value")


def key(kind, kwargs):
    """What identifies an expectation among GE's reordered results (GE adds defaults to
    the kwargs it echoes, so only the identifying ones are compared)."""
    def norm(v):
        if isinstance(v, bool) or not isinstance(v, (int, float, list)):
            return v
        return [norm(x) for x in v] if isinstance(v, list) else float(v)
    return json.dumps([kind, {k: norm(kwargs.get(k)) for k in IDENTITY
                              if kwargs.get(k) is not None}], sort_keys=True, default=str)


def resolve_refs(value, root):
    """weir's `${ref:a.b.c}`: the value at that path of the same document."""
    if isinstance(value, str) and value.startswith("${ref:") and value.endswith("}"):
        node = root
        for part in value[6:-1].split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return resolve_refs(node, root)
    if isinstance(value, list):
        return [resolve_refs(v, root) for v in value]
    if isinstance(value, dict):
        return {k: resolve_refs(v, root) for k, v in value.items()}
    return value


def run(args):
    started = time.perf_counter()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    imported = time.perf_counter()
    with open(args.suite) as f:
        doc = json.load(f)
    doc = resolve_refs(doc, doc)
    df = load_frame(args.data)
    read = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("pandas")
    asset = source.add_dataframe_asset("data")
    batch = asset.add_batch_definition_whole_dataframe("all")
    wanted = [(e["type"], e.get("kwargs", {})) for e in doc["expectations"]]
    suite = context.suites.add(gx.ExpectationSuite(
        name=doc.get("name", "suite"),
        expectations=[ExpectationConfiguration(type=kind, kwargs=kwargs).to_domain_obj()
                      for kind, kwargs in wanted]))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="validation", data=batch, suite=suite))
    result = definition.run(batch_parameters={"dataframe": df}, result_format="SUMMARY")
    done = time.perf_counter()
    by_key = {}
    for r in result.results:
        cfg = r.expectation_config
        by_key.setdefault(key(cfg.type, dict(cfg.kwargs)), []).append(r)
    ordered = []
    for kind, kwargs in wanted:
        r = by_key[key(kind, kwargs)].pop(0)
        res = r.result or {}
        ordered.append({"type": kind, "success": bool(r.success),
                        "unexpected_count": res.get("unexpected_count"),
                        "unexpected_percent": res.get("unexpected_percent"),
                        "observed_value": res.get("observed_value")})
    ok = sum(1 for r in ordered if r["success"])
    print(f"ge: {ok} of {len(ordered)} expectations succeeded over {len(df)} rows; "
          f"import {imported - started:.2f}s, read {read - imported:.2f}s, "
          f"validate {done - read:.2f}s", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(ordered, f, default=str)


def close(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def compare(args):
    with open(args.ge) as f:
        ge = json.load(f)
    with open(args.weir) as f:
        weir = json.load(f)["results"]
    truth = None
    if args.truth:
        with open(args.truth) as f:
            truth = json.load(f)
    failures = 0
    for i, (g, w) in enumerate(zip(ge, weir)):
        kind = g["type"]
        wr = w["result"]
        checks = [("success", g["success"], w["success"]),
                  ("unexpected_count", g["unexpected_count"], wr.get("unexpected_count"))]
        if isinstance(g["observed_value"], (int, float)) and not isinstance(g["observed_value"], bool):
            checks.append(("observed_value", g["observed_value"], wr.get("observed_value")))
        if truth is not None:
            checks.append(("truth unexpected", truth[i]["unexpected"], g["unexpected_count"]))
        for name, a, b in checks:
            if not close(a, b):
                failures += 1
                print(f"#{i} {kind}: {name}: GE {a!r}, other {b!r}", file=sys.stderr)
    n = len(ge)
    if len(weir) != n:
        failures += 1
        print(f"GE has {n} results, weir {len(weir)}", file=sys.stderr)
    print(f"agreement: {n - min(failures, n)} of {n} expectations agree"
          f"{' (and match the truth)' if truth and not failures else ''}; {failures} differences")
    sys.exit(1 if failures else 0)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--suite", required=True)
    r.add_argument("--data", required=True)
    r.add_argument("--out")
    c = sub.add_parser("compare")
    c.add_argument("--ge", required=True)
    c.add_argument("--weir", required=True)
    c.add_argument("--truth")
    args = p.parse_args()
    run(args) if args.cmd == "run" else compare(args)


if __name__ == "__main__":
    main()
