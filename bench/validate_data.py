#!/usr/bin/env python3
"""Benchmark data for bench/validate.sh: ROWS rows of a payments table in Parquet files of
1,000,000 rows each (snappy, pyarrow's defaults), with nulls, duplicates, out-of-range
values and pattern violations, and the 10-expectation suite run over it.

  validate_data.py --rows 2000000 --out DIR     # DIR/data/part-*.parquet, DIR/suite.json

Vectorised with numpy (the per-row truth generator of the tests would take minutes here);
deterministic for a given --seed.
"""
import argparse
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PART = 1_000_000

SUITE = {
    "name": "payments",
    "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount", "mostly": 0.95}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "amount", "min_value": 0, "max_value": 10000, "mostly": 0.9}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "currency", "value_set": ["EUR", "USD", "GBP"]}},
        {"type": "expect_column_values_to_match_regex",
         "kwargs": {"column": "email", "regex": r"^[a-z0-9.]+@[a-z]+\.(com|org)$", "mostly": 0.9}},
        {"type": "expect_column_value_lengths_to_be_between",
         "kwargs": {"column": "code", "min_value": 5, "max_value": 5}},
        {"type": "expect_column_mean_to_be_between",
         "kwargs": {"column": "amount", "min_value": 4000, "max_value": 6000}},
        {"type": "expect_column_pair_values_a_to_be_greater_than_b",
         "kwargs": {"column_A": "price_a", "column_B": "price_b", "or_equal": True, "mostly": 0.4}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}},
    ],
}


def pool(rng, n, make):
    return np.array([make(rng, i) for i in range(n)], dtype=object)


def email(rng, i):
    name = "".join(rng.choice(list("abcdefgh."), size=rng.integers(1, 9)))
    r = rng.random()
    return f"{name} x@y.com" if r < 0.05 else f"{name}@example.{['com', 'org', 'net'][i % 3]}"


def code(rng, i):
    return "".join(rng.choice(list("ABCDE12345"), size=4 if i % 40 == 0 else 5))


def part(rng, start, n, emails, codes):
    ids = np.arange(start, start + n, dtype=np.int64)
    ids[::97] -= 1                                    # every 97th row repeats an id
    amount = rng.uniform(0, 10000, n).round(2)
    amount[rng.random(n) < 0.02] = -1.0               # out of range
    amount_null = rng.random(n) < 0.03
    currency = np.array(["EUR", "USD", "GBP", "XXX"])[rng.choice(4, n, p=[0.4, 0.3, 0.27, 0.03])]
    email_idx = rng.integers(0, len(emails), n)
    email_null = rng.random(n) < 0.01
    price_a = rng.uniform(0, 100, n).round(2)
    price_b = rng.uniform(0, 100, n).round(2)
    return pa.table({
        "id": ids,
        "amount": pa.array(amount, mask=amount_null),
        "currency": pa.array(currency),
        "email": pa.array(emails[email_idx], type=pa.string(), mask=email_null),
        "code": pa.array(codes[rng.integers(0, len(codes), n)], type=pa.string()),
        "price_a": price_a,
        "price_b": price_b,
    })


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    emails = pool(rng, 50_000, email)
    codes = pool(rng, 10_000, code)
    os.makedirs(f"{a.out}/data", exist_ok=True)
    for n, start in enumerate(range(0, a.rows, PART)):
        table = part(rng, start, min(PART, a.rows - start), emails, codes)
        pq.write_table(table, f"{a.out}/data/part-{n:04}.parquet")
    with open(f"{a.out}/suite.json", "w") as f:
        json.dump(SUITE, f, indent=1)


if __name__ == "__main__":
    main()
