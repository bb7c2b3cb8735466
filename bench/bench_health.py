"""Health benchmark: usage measures and scores of 50,000 accounts from 100 million events.

The events are generated straight into a DuckDB rollup table (one row per day, account,
user and event; counts 1-7, summing to about ``--events``), as the analytics store
keeps them. Each engine then runs in a child process of its own, so that its time and
peak memory (RSS) are its own:

- ``ibis``:   :func:`keepwell.health.usage.usage_measures` (Ibis on DuckDB);
- ``sql``:    a hand-written DuckDB SQL query computing the same usage measures;
- ``pandas``: the same measures with pandas (after loading the rollup into a frame,
  timed apart);
- ``score``:  the whole scoring of every account (all measures, segments, stages and the
  default scorecard), as ``keepwell score`` does it.

The Ibis and SQL results are compared value by value. Goals (issue 4): Ibis within
1.5x of the hand-written SQL, scoring under 15 s, peak memory under 4 GB.

    .venv/bin/python bench/bench_health.py [--accounts 50000] [--events 100000000]
        [--keep DIR [--reuse]] [--engines sql,ibis,pandas,score]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

AS_OF = date(2026, 3, 31)
EVENTS = (
    "login",
    "dashboard_viewed",
    "comment_added",
    "data_exported",
    "integration_synced",
    "alert_configured",
    "report_created",
    "workflow_automated",
)
KEY_FEATURES = ("integration_synced", "report_created", "workflow_automated")
MEAN_COUNT = 4  # counts are 1..7


def rollup_sql(as_of: date, accounts: int, rows: int, events: tuple[str, ...]) -> str:
    """``CREATE TABLE event_daily`` of ``rows`` synthetic rollup rows over 120 days before
    ``as_of``: ``accounts`` accounts, up to 30 users each (2% anonymous), ``events``
    names, counts 1-7 (deterministic: hashes of the row number)."""
    names = ", ".join(f"'{e}'" for e in events)
    return f"""
        CREATE OR REPLACE TABLE event_daily AS
        SELECT DATE '{as_of}' - CAST(hash(i, 1) % 120 AS INTEGER) AS day,
               'ACC-' || lpad(CAST(a AS VARCHAR), 6, '0') AS account_id,
               CASE WHEN hash(i, 3) % 50 = 0 THEN NULL
                    ELSE 'ACC-' || lpad(CAST(a AS VARCHAR), 6, '0') || '-U'
                         || CAST(hash(i, 2) % (1 + a % 30) AS VARCHAR) END AS user_id,
               [{names}][1 + CAST(hash(i, 4) % {len(events)} AS INTEGER)] AS event,
               CAST(1 + hash(i, 5) % 7 AS BIGINT) AS count
        FROM (SELECT i, hash(i, 0) % {accounts} AS a FROM range({rows}) AS t(i))
        """


def generate(path: Path, accounts: int, events: int) -> int:
    """Write the rollup table ``event_daily`` to the DuckDB file at ``path``; its rows."""
    import duckdb

    rows = events // MEAN_COUNT
    con = duckdb.connect(str(path))
    con.execute("SET threads = 2")
    con.execute(rollup_sql(AS_OF, accounts, rows, EVENTS))
    con.close()
    return rows


def hand_sql(as_of: date) -> str:
    """The usage measures of :func:`keepwell.health.usage.usage_measures`, by hand."""
    d = f"DATE '{as_of}'"
    q = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    n = 90
    sx, sxx = n * (n - 1) / 2, (n - 1) * n * (2 * n - 1) / 6
    key_flags = ",\n".join(
        f"bool_or(day > {d} - 30 AND event = '{k}') AS key_{i}" for i, k in enumerate(KEY_FEATURES)
    )
    key_sum = " + ".join(f"max(key_{i})::INT" for i in range(len(KEY_FEATURES)))
    return f"""
    WITH u AS (
        SELECT account_id, user_id, min(day) AS first_day, max(day) AS last_day,
            bool_or(day > {d} - 7) AS in_7,
            bool_or(day > {d} - 30) AS in_30,
            bool_or(day <= {d} - 30 AND day > {d} - 60) AS in_prev,
            sum(count) FILTER (WHERE day > {d} - 30) AS ev30,
            sum(count) FILTER (WHERE day <= {d} - 30 AND day > {d} - 60) AS ev_prev,
            sum(count) FILTER (WHERE day > {d} - 30 AND event = 'login') AS logins,
            sum(count) FILTER (WHERE day > {d} - 90) AS sum_y,
            sum(count * (89 - ({d} - day))) FILTER (WHERE day > {d} - 90) AS sum_xy,
            {key_flags}
        FROM event_daily WHERE day <= {d}
        GROUP BY account_id, user_id
    ), a AS (
        SELECT account_id, max(last_day) AS last_day,
            count(*) FILTER (WHERE user_id IS NOT NULL AND first_day >= DATE '{q}') AS added,
            count(*) FILTER (WHERE user_id IS NOT NULL
                AND last_day BETWEEN DATE '{q}' - 30 AND {d} - 30) AS removed,
            count(*) FILTER (WHERE user_id IS NOT NULL AND in_7) AS au7,
            count(*) FILTER (WHERE user_id IS NOT NULL AND in_30) AS au30,
            count(*) FILTER (WHERE user_id IS NOT NULL AND in_prev) AS au_prev,
            sum(ev30) AS ev30, sum(ev_prev) AS ev_prev, sum(logins) AS logins,
            sum(sum_y) AS sum_y, sum(sum_xy) AS sum_xy,
            {key_sum} AS keyf
        FROM u GROUP BY account_id
    )
    SELECT account_id,
        au7 AS active_users_7d,
        au30 AS active_users_30d,
        coalesce(ev30, 0) AS events_30d,
        CASE WHEN ev_prev > 0 THEN coalesce(ev30, 0) / ev_prev - 1 END AS events_trend_30d,
        CASE WHEN au_prev > 0 THEN au30 / au_prev - 1 END AS active_users_trend_30d,
        CASE WHEN sum_y > 0 THEN ({n} * sum_xy - {sx} * sum_y) / ({n} * {sxx} - {sx**2})
            * 30 / (sum_y / {n}) END AS usage_slope_90d,
        CASE WHEN au30 > 0 THEN coalesce(logins, 0) / au30 * 7 / 30 END
            AS logins_per_active_user_week,
        coalesce(keyf, 0) / {len(KEY_FEATURES)} AS feature_breadth_30d,
        {d} - last_day AS days_since_last_activity,
        added AS users_added_quarter,
        removed AS users_removed_quarter
    FROM a
    """


def run_ibis(db: Path) -> Any:
    import ibis

    from keepwell.health.usage import UsageConfig, usage_measures

    con = ibis.duckdb.connect(str(db), read_only=True, threads=2)
    config = UsageConfig(key_features=KEY_FEATURES)
    start = time.perf_counter()
    result = usage_measures(con.table("event_daily"), AS_OF, config).to_pyarrow()
    return time.perf_counter() - start, result


def run_sql(db: Path) -> Any:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET threads = 2")
    start = time.perf_counter()
    result = con.execute(hand_sql(AS_OF)).to_arrow_table()
    return time.perf_counter() - start, result


def run_pandas(db: Path) -> tuple[float, Any, float]:
    import duckdb
    import numpy as np
    import pandas as pd

    load = time.perf_counter()
    frame = duckdb.connect(str(db), read_only=True).execute("SELECT * FROM event_daily").df()
    load = time.perf_counter() - load
    start = time.perf_counter()
    as_of = pd.Timestamp(AS_OF)
    frame["age"] = (as_of - pd.to_datetime(frame["day"])).dt.days
    past = frame[frame["age"] >= 0]
    recent = past[past["age"] < 90]
    in30, prev = recent[recent["age"] < 30], recent[(recent["age"] >= 30) & (recent["age"] < 60)]
    by = "account_id"
    out = pd.DataFrame(
        {
            "active_users_7d": recent[recent["age"] < 7].groupby(by)["user_id"].nunique(),
            "active_users_30d": in30.groupby(by)["user_id"].nunique(),
            "au_prev": prev.groupby(by)["user_id"].nunique(),
            "events_30d": in30.groupby(by)["count"].sum(),
            "ev_prev": prev.groupby(by)["count"].sum(),
            "logins": in30[in30["event"] == "login"].groupby(by)["count"].sum(),
            "keyf": in30[in30["event"].isin(KEY_FEATURES)].groupby(by)["event"].nunique(),
            "sum_y": recent.groupby(by)["count"].sum(),
            "sum_xy": (recent["count"] * (89 - recent["age"])).groupby(recent[by]).sum(),
        }
    )
    users = past.groupby([by, "user_id"], dropna=False)["age"].agg(["min", "max"]).reset_index()
    q_age = (as_of - pd.Timestamp(date(AS_OF.year, 3 * ((AS_OF.month - 1) // 3) + 1, 1))).days
    named = users["user_id"].notna()
    history = pd.DataFrame(
        {
            "days_since_last_activity": users.groupby(by)["min"].min(),
            "users_added_quarter": (named & (users["max"] <= q_age)).groupby(users[by]).sum(),
            "users_removed_quarter": (named & users["min"].between(30, q_age + 30))
            .groupby(users[by])
            .sum(),
        }
    )
    out = history.join(out, how="left")
    n, sx = 90, 90 * 89 / 2
    sxx = 89 * 90 * 179 / 6
    out["usage_slope_90d"] = (
        (n * out["sum_xy"] - sx * out["sum_y"]) / (n * sxx - sx**2) * 30 / (out["sum_y"] / n)
    )
    out["events_trend_30d"] = np.where(
        out["ev_prev"] > 0, out["events_30d"] / out["ev_prev"] - 1, np.nan
    )
    out["feature_breadth_30d"] = out["keyf"].fillna(0) / len(KEY_FEATURES)
    return time.perf_counter() - start, out, load


def run_score(db: Path) -> Any:
    import ibis
    import numpy as np
    import pyarrow as pa

    from keepwell.health.config import default_config_text, parse_config
    from keepwell.health.measures import MeasureInputs
    from keepwell.health.portfolio import assess_portfolio

    con = ibis.duckdb.connect(str(db), read_only=True, threads=2)
    ids = con.table("event_daily").select("account_id").distinct().to_pyarrow()["account_id"]
    n = len(ids)
    rng = np.random.default_rng(1)
    accounts = pa.table(
        {
            "account_id": ids,
            "name": ids,
            "created_at": pa.nulls(n, pa.date32()),
            "category_budget": pa.nulls(n, pa.decimal128(18, 6)),
            "is_prospect": pa.array([False] * n),
        }
    )
    subs = pa.table(
        {
            "line_id": ids,
            "account_id": ids,
            "product": pa.array(["core"] * n),
            "mrr": pa.array(rng.lognormal(7, 1.2, n).round(2)).cast(pa.decimal128(18, 6)),
            "quantity": pa.array(rng.integers(1, 31, n)),
            "starts_on": pa.array([AS_OF - timedelta(days=400)] * n),
            "ends_on": pa.array([AS_OF + timedelta(days=int(d)) for d in rng.integers(1, 365, n)]),
            "auto_renew": pa.array([True] * n),
        }
    )
    empty = _empty_entities()
    inputs = MeasureInputs(
        rollup=con.table("event_daily"),
        accounts=ibis.memtable(accounts),
        subscriptions=ibis.memtable(subs),
        **{k: ibis.memtable(v) for k, v in empty.items()},
    )
    config = parse_config(default_config_text())
    start = time.perf_counter()
    scored = assess_portfolio(inputs, AS_OF, config)
    return time.perf_counter() - start, len(scored)


def _empty_entities() -> dict[str, Any]:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    schemas = {
        "contacts": [("contact_id", pa.string()), ("account_id", pa.string()),
                     ("role", pa.string()), ("is_active", pa.bool_()), ("left_on", pa.date32())],
        "invoices": [("invoice_id", pa.string()), ("account_id", pa.string()),
                     ("amount", pa.decimal128(18, 6)), ("issued_on", pa.date32()),
                     ("due_on", pa.date32()), ("paid_on", pa.date32()), ("status", pa.string())],
        "tickets": [("ticket_id", pa.string()), ("account_id", pa.string()), ("opened_at", ts),
                    ("closed_at", ts), ("priority", pa.string()), ("csat", pa.int64())],
        "surveys": [("response_id", pa.string()), ("account_id", pa.string()),
                    ("contact_id", pa.string()), ("responded_at", ts), ("kind", pa.string()),
                    ("score", pa.int64())],
        "activities": [("activity_id", pa.string()), ("account_id", pa.string()),
                       ("occurred_at", ts), ("kind", pa.string())],
    }  # fmt: skip
    return {k: pa.schema(v).empty_table() for k, v in schemas.items()}


def child(engine: str, db: Path) -> None:
    """Run one engine and print its figures as JSON (peak RSS from the kernel)."""
    figures: dict[str, Any] = {"engine": engine}
    if engine == "pandas":
        seconds, result, load = run_pandas(db)
        figures |= {"seconds": seconds, "load_seconds": load, "accounts": len(result)}
    elif engine == "score":
        seconds, count = run_score(db)
        figures |= {"seconds": seconds, "accounts": count}
    else:
        seconds, result = run_ibis(db) if engine == "ibis" else run_sql(db)
        figures |= {"seconds": seconds, "accounts": result.num_rows}
        result.sort_by("account_id").to_pandas().to_parquet(db.with_suffix(f".{engine}.parquet"))
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def compare(db: Path) -> str:
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(db.with_suffix(".ibis.parquet")).set_index("account_id")
    b = pd.read_parquet(db.with_suffix(".sql.parquet")).set_index("account_id")
    b = b[a.columns]
    same = all(
        np.allclose(a[c].astype(float), b[c].astype(float), equal_nan=True, rtol=1e-9)
        for c in a.columns
    )
    return "identical" if same and a.index.equals(b.index) else "DIFFERENT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--keep", type=Path, help="keep the generated database in this folder")
    parser.add_argument("--engines", default="sql,ibis,pandas,score")
    parser.add_argument("--reuse", action="store_true", help="reuse the database in --keep")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        child(args.run, args.db)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kw-bench-health-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench_health.duckdb"
    if not (args.reuse and db.exists()):
        start = time.perf_counter()
        rows = generate(db, args.accounts, args.events)
        print(f"generated {rows:,} rollup rows (~{args.events:,} events, "
              f"{args.accounts:,} accounts) in {time.perf_counter() - start:.1f} s")  # fmt: skip
    figures = {}
    for engine in args.engines.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--run", engine, "--db", str(db)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures[engine] = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(figures[engine]))
    if "ibis" in figures and "sql" in figures:
        ratio = figures["ibis"]["seconds"] / figures["sql"]["seconds"]
        print(f"ibis / hand-written SQL: {ratio:.2f}x; results {compare(db)}")
    if "pandas" in figures and "ibis" in figures:
        ratio = figures["pandas"]["seconds"] / figures["ibis"]["seconds"]
        print(f"pandas / ibis: {ratio:.2f}x (pandas load not counted)")


if __name__ == "__main__":
    main()
