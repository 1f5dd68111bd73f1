#!/usr/bin/env python3
"""Test data for `weir-data validate` with its truth computed independently, in plain Python.

Writes, under OUT:
  parquet/part-0.parquet … part-{FILES-1}.parquet  (pyarrow; nulls as Parquet nulls)
  parquet/_SUCCESS                               (a marker a prefix scan must skip)
  csv/data.csv                                   (the same rows; a null is an empty field)
  suite.json                                     (every expectation kind; GE's own shape)
  truth.json                                     (per expectation: unexpected count,
                                                  considered rows, observed value, sample)

The data has known nulls, duplicates, out-of-range values, set and pattern violations and
multi-byte strings. The truth is counted from the Python lists the files were written from,
never from a dataframe library. Deterministic for a given --seed.

  python validate_truth.py --rows 5000 --seed 7 --files 3 --out DIR
"""
import argparse
import csv
import json
import os
import random
import re
import statistics
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq

CURRENCIES = ["EUR", "USD", "GBP"]
COUNTRIES = ["DE", "FR", "NL", "XX"]
CITIES = ["a", "b", "c"]
EMAIL_RE = r"^[a-z0-9.]+@[a-z]+\.(com|org)$"
SAMPLE = 20


def generate(rows, rng):
    cols = {k: [] for k in [
        "id", "amount", "qty", "qty_check", "currency", "email", "code",
        "country", "city", "street", "price_a", "price_b", "note"]}
    for i in range(rows):
        # id: unique except every 97th row repeats the previous id (groups of two).
        cols["id"].append(i - 1 if i % 97 == 0 and i > 0 else i)
        r = rng.random()
        cols["amount"].append(None if r < 0.03 else
                              round(rng.uniform(-50, 0), 2) if r < 0.05 else
                              round(rng.uniform(10000.01, 20000), 2) if r < 0.06 else
                              round(rng.uniform(0, 10000), 2))
        q = None if rng.random() < 0.02 else rng.randint(0, 6)
        cols["qty"].append(q)
        cols["qty_check"].append(None if rng.random() < 0.01 else
                                 (q if rng.random() < 0.9 else rng.randint(0, 6)))
        c = rng.random()
        cols["currency"].append(None if c < 0.02 else "XXX" if c < 0.05 else
                                "eur" if c < 0.06 else rng.choice(CURRENCIES))
        e = rng.random()
        name = "".join(rng.choice("abcdefgh.") for _ in range(rng.randint(1, 8)))
        cols["email"].append(None if e < 0.04 else
                             f"{name} x@y.com" if e < 0.07 else
                             f"{name}@test.org" if e < 0.09 else
                             f"{name}@example.{rng.choice(['com', 'org', 'net'])}")
        k = rng.random()
        cols["code"].append(None if k < 0.01 else
                            "café1" if k < 0.05 else
                            "".join(rng.choice("ABCDE") for _ in range(rng.choice([4, 6])))
                            if k < 0.08 else
                            "".join(rng.choice("ABCDE12345") for _ in range(5)))
        cols["country"].append(None if rng.random() < 0.05 else rng.choice(COUNTRIES))
        cols["city"].append(None if rng.random() < 0.05 else rng.choice(CITIES))
        cols["street"].append(rng.randint(0, rows // 4))
        a = None if rng.random() < 0.03 else round(rng.uniform(0, 100), 2)
        b = None if rng.random() < 0.03 else (
            a if a is not None and rng.random() < 0.1 else round(rng.uniform(0, 100), 2))
        cols["price_a"].append(a)
        cols["price_b"].append(b)
        cols["note"].append("n/a" if rng.random() < 0.01 else None)
    return cols


def suite(rows):
    return [
        ("expect_table_row_count_to_be_between", {"min_value": 1, "max_value": rows * 2}),
        ("expect_table_row_count_to_equal", {"value": rows + 1}),
        ("expect_table_columns_to_match_ordered_list", {"column_list": COLUMN_ORDER}),
        ("expect_table_columns_to_match_set",
         {"column_set": sorted(COLUMN_ORDER[:-1]), "exact_match": False}),
        ("expect_column_to_exist", {"column": "id"}),
        ("expect_column_to_exist", {"column": "missing_column"}),
        ("expect_column_values_to_be_of_type", {"column": "id", "type_": "int64"}),
        ("expect_column_values_to_be_in_type_list",
         {"column": "amount", "type_list": ["float64", "float32"]}),
        ("expect_column_values_to_not_be_null", {"column": "amount", "mostly": 0.95}),
        ("expect_column_values_to_not_be_null", {"column": "email"}),
        ("expect_column_values_to_be_null", {"column": "note", "mostly": 0.98}),
        ("expect_column_values_to_be_unique", {"column": "id"}),
        ("expect_column_values_to_be_between",
         {"column": "amount", "min_value": 0, "max_value": 10000, "mostly": 0.9}),
        ("expect_column_values_to_be_between",
         {"column": "qty", "min_value": 1, "max_value": 5, "strict_max": True}),
        ("expect_column_values_to_be_in_set",
         {"column": "currency", "value_set": "${ref:sets.currencies}"}),
        ("expect_column_values_to_be_in_set", {"column": "qty", "value_set": [1, 2, 3, 4]}),
        ("expect_column_values_to_not_be_in_set", {"column": "country", "value_set": ["XX"]}),
        ("expect_column_values_to_match_regex", {"column": "email", "regex": EMAIL_RE}),
        ("expect_column_values_to_not_match_regex", {"column": "email", "regex": "test"}),
        ("expect_column_value_lengths_to_be_between",
         {"column": "code", "min_value": 5, "max_value": 5}),
        ("expect_column_value_lengths_to_equal", {"column": "code", "value": 5}),
        ("expect_column_mean_to_be_between", {"column": "amount", "min_value": 0, "max_value": 6000}),
        ("expect_column_min_to_be_between", {"column": "amount", "min_value": 0}),
        ("expect_column_max_to_be_between", {"column": "amount", "max_value": 30000}),
        ("expect_column_median_to_be_between",
         {"column": "amount", "min_value": 4000, "max_value": 6000}),
        ("expect_column_stdev_to_be_between", {"column": "amount", "min_value": 1, "max_value": 1e6}),
        ("expect_column_pair_values_a_to_be_greater_than_b",
         {"column_A": "price_a", "column_B": "price_b", "or_equal": True}),
        ("expect_column_pair_values_to_be_equal", {"column_A": "qty", "column_B": "qty_check"}),
        ("expect_compound_columns_to_be_unique", {"column_list": ["country", "city", "street"]}),
    ]


COLUMN_ORDER = ["id", "amount", "qty", "qty_check", "currency", "email", "code", "country",
                "city", "street", "price_a", "price_b", "note"]


def truth(kind, kw, cols, rows):
    """(unexpected, considered, observed, sample) for one expectation, or None fields."""
    col = cols.get(kw.get("column"))
    nonnull = [v for v in col if v is not None] if col is not None else None
    t = {"unexpected": None, "considered": None, "observed": None, "sample": None}

    def per_row(bad, values=None, skip_nulls=True):
        values = col if values is None else values
        kept = [v for v in values if (v is not None or not skip_nulls)]
        flagged = [v for v in kept if bad(v)]
        t.update(unexpected=len(flagged), considered=len(kept), sample=flagged[:SAMPLE])

    if kind == "expect_column_values_to_not_be_null":
        per_row(lambda v: v is None, skip_nulls=False)
        t["sample"] = None
    elif kind == "expect_column_values_to_be_null":
        per_row(lambda v: v is not None, skip_nulls=False)
    elif kind == "expect_column_values_to_be_unique":
        counts = Counter(nonnull)
        per_row(lambda v: counts[v] > 1)
        t["sample"] = None
    elif kind == "expect_column_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        strict_max = kw.get("strict_max", False)
        per_row(lambda v: v < lo or (v >= hi if strict_max else v > hi))
    elif kind == "expect_column_values_to_be_in_set":
        allowed = set(CURRENCIES) if isinstance(kw["value_set"], str) else set(kw["value_set"])
        per_row(lambda v: v not in allowed)
    elif kind == "expect_column_values_to_not_be_in_set":
        per_row(lambda v: v in set(kw["value_set"]))
    elif kind == "expect_column_values_to_match_regex":
        per_row(lambda v: re.search(kw["regex"], v) is None)
    elif kind == "expect_column_values_to_not_match_regex":
        per_row(lambda v: re.search(kw["regex"], v) is not None)
    elif kind == "expect_column_value_lengths_to_be_between":
        per_row(lambda v: not (kw["min_value"] <= len(v) <= kw["max_value"]))
    elif kind == "expect_column_value_lengths_to_equal":
        per_row(lambda v: len(v) != kw["value"])
    elif kind.startswith("expect_column_") and kind.endswith("_to_be_between"):
        stat = kind[len("expect_column_"):-len("_to_be_between")]
        fn = {"mean": statistics.fmean, "min": min, "max": max,
              "median": statistics.median, "stdev": statistics.stdev}[stat]
        t["observed"] = fn(nonnull)
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        pairs = [(a, b) for a, b in zip(cols[kw["column_A"]], cols[kw["column_B"]])
                 if not (a is None and b is None)]
        bad = [[a, b] for a, b in pairs if a is None or b is None or not a >= b]
        t.update(unexpected=len(bad), considered=len(pairs), sample=bad[:SAMPLE])
    elif kind == "expect_column_pair_values_to_be_equal":
        pairs = [(a, b) for a, b in zip(cols[kw["column_A"]], cols[kw["column_B"]])
                 if not (a is None and b is None)]
        bad = [[a, b] for a, b in pairs if a is None or b is None or a != b]
        t.update(unexpected=len(bad), considered=len(pairs), sample=bad[:SAMPLE])
    elif kind == "expect_compound_columns_to_be_unique":
        keys = [k for k in zip(*(cols[c] for c in kw["column_list"]))
                if not all(v is None for v in k)]
        counts = Counter(keys)
        t.update(unexpected=sum(1 for k in keys if counts[k] > 1), considered=len(keys))
    elif kind.startswith("expect_table_row_count"):
        t["observed"] = rows
    t["success"] = success(kind, kw, t, rows)
    return t


def success(kind, kw, t, rows):
    """The verdict GE gives, from the truth above."""
    if t["unexpected"] is not None:
        if t["considered"] == 0:
            return True
        return 1 - t["unexpected"] / t["considered"] >= kw.get("mostly", 1)
    if kind == "expect_table_row_count_to_equal":
        return rows == kw["value"]
    if t["observed"] is not None:
        x, lo, hi = t["observed"], kw.get("min_value"), kw.get("max_value")
        return (lo is None or x >= lo) and (hi is None or x <= hi)
    if kind == "expect_column_to_exist":
        return kw["column"] in COLUMN_ORDER
    if kind == "expect_table_columns_to_match_ordered_list":
        return kw["column_list"] == COLUMN_ORDER
    if kind == "expect_table_columns_to_match_set":
        return set(kw["column_set"]) <= set(COLUMN_ORDER)
    # Types: id is written as int64 and amount as float64.
    return True


def write(cols, rows, files, out):
    types = {"id": pa.int64(), "amount": pa.float64(), "qty": pa.int64(),
             "qty_check": pa.int64(), "street": pa.int64(), "price_a": pa.float64(),
             "price_b": pa.float64()}
    table = pa.table({c: pa.array(cols[c], type=types.get(c, pa.string()))
                      for c in COLUMN_ORDER})
    os.makedirs(f"{out}/parquet", exist_ok=True)
    os.makedirs(f"{out}/csv", exist_ok=True)
    step = -(-rows // files)
    for n in range(files):
        pq.write_table(table.slice(n * step, step), f"{out}/parquet/part-{n}.parquet")
    open(f"{out}/parquet/_SUCCESS", "w").close()
    with open(f"{out}/csv/data.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMN_ORDER)
        for i in range(rows):
            w.writerow(["" if cols[c][i] is None else cols[c][i] for c in COLUMN_ORDER])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--files", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    cols = generate(a.rows, random.Random(a.seed))
    write(cols, a.rows, a.files, a.out)
    expectations = suite(a.rows)
    doc = {"name": "truth", "sets": {"currencies": CURRENCIES},
           "expectations": [{"type": k, "kwargs": kw} for k, kw in expectations]}
    with open(f"{a.out}/suite.json", "w") as f:
        # JSON is YAML; the reference stays a plain string for weir to resolve.
        json.dump(doc, f, indent=1)
    with open(f"{a.out}/truth.json", "w") as f:
        json.dump([dict(type=k, **truth(k, kw, cols, a.rows)) for k, kw in expectations], f)


if __name__ == "__main__":
    main()
