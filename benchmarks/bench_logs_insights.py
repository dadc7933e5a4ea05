"""Logs Insights over 1 million default-format flow-log events: seconds per console sample query.

Target: each query under 2 s (in particular the REJECT count by srcAddr and the top-20 query).
Measured twice: on the engine alone, and through StartQuery + GetQueryResults (boto3) against a local
cloud whose log group holds the same events (loaded straight into its logs backend: 1 M events over
PutLogEvents would measure ingestion, not the query). Then JSON application events: the seconds
events_relation takes to discover their fields (which every StartQuery pays, as the local cloud keeps
no fields between queries), and queries over those fields.
Run: .venv/bin/python benchmarks/bench_logs_insights.py [--events N] [--json-events N] [--repeat R]
"""
from __future__ import annotations

import argparse
import time

import duckdb

from labkit.localcloud.logs.insights import events_relation, run_query

TARGET_SECONDS = 2.0
START_S = 1_700_000_000
SPAN_S = 86_400

QUERIES = {
    # Console "Sample queries -> VPC Flow Logs" (docs/aws-behaviour.md, "Sample queries")
    "avg/min/max bytes by src,dst": "stats avg(bytes), min(bytes), max(bytes) by srcAddr, dstAddr",
    "UDP count by srcAddr": "filter protocol=17 | stats count(*) by srcAddr",
    "top 10 byte transfers": "stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10",
    "top 20 rejected sources": 'filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20',
    "top 15 packet transfers": "stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15",
    "SKIPDATA by hour": 'filter logStatus="SKIPDATA" | stats count(*) by bin(1h) as t | sort t',
    # The lab's own views
    "SSH rejects by src, 5m": 'filter action="REJECT" and dstPort=22 and protocol=6 | stats count(*) as attempts by srcAddr, bin(5m)',
    "subnet bytes by dst": 'filter isIpv4InSubnet(srcAddr, "10.0.0.0/16") | stats sum(bytes) as bytesTransferred by dstAddr | sort bytesTransferred desc | limit 15',
    "latest 25 events": "fields @timestamp, @message | sort @timestamp desc | limit 25",
}


def build_events(connection: duckdb.DuckDBPyConnection, count: int) -> duckdb.DuckDBPyRelation:
    """`count` default-format records on 20 ENIs over one day; about 1 in 5 rejected, 1 in 10 UDP, as
    events_relation gives them to the engine (with their JSON fields discovered: none here)."""
    connection.execute(f"""
        CREATE OR REPLACE TABLE events AS
        WITH raw AS (
            SELECT i,
                   'eni-' || lpad(CAST(i % 20 AS VARCHAR), 17, '0') AS eni,
                   CASE WHEN hash(i, 1) % 2 = 0 THEN '10.0.' || (hash(i, 2) % 4) || '.' || (hash(i, 3) % 250)
                        ELSE '203.0.113.' || (hash(i, 4) % 250) END AS src,
                   '10.0.1.' || (hash(i, 5) % 50) AS dst,
                   1024 + hash(i, 6) % 60000 AS sport,
                   [22, 80, 443, 3389, 53][CAST(1 + hash(i, 7) % 5 AS BIGINT)] AS dport,
                   CASE WHEN hash(i, 8) % 10 = 0 THEN 17 ELSE 6 END AS proto,
                   1 + hash(i, 9) % 100 AS packets,
                   {START_S} + hash(i, 10) % {SPAN_S} AS start_s,
                   CASE WHEN hash(i, 11) % 5 = 0 THEN 'REJECT' ELSE 'ACCEPT' END AS action,
                   CASE WHEN hash(i, 12) % 1000 = 0 THEN 'SKIPDATA' ELSE 'OK' END AS status
            FROM range({count}) t(i)
        )
        SELECT '/vpc/flow-logs' AS log_group, eni || '-all' AS log_stream,
               start_s * 1000 AS timestamp_ms, (start_s + 360) * 1000 AS ingestion_time_ms,
               CASE WHEN status = 'OK'
                    THEN concat_ws(' ', '2', '123456789012', eni, src, dst, sport, dport, proto, packets,
                                   packets * 60, start_s, start_s + 59, action, status)
                    ELSE concat_ws(' ', '2', '123456789012', eni, '- - - - - - -', start_s, start_s + 59, '-', status)
               END AS message
        FROM raw
    """)
    return events_relation(connection.table("events").to_arrow_table(), connection)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--events", type=int, default=1_000_000)
    arguments.add_argument("--json-events", type=int, default=100_000)
    arguments.add_argument("--repeat", type=int, default=3, help="runs per query; the best is reported")
    options = arguments.parse_args()

    connection = duckdb.connect()
    started = time.perf_counter()
    events = build_events(connection, options.events)
    print(f"built {options.events:,} events in {time.perf_counter() - started:.2f} s")
    print(f"{'query':32} {'seconds':>8} {'/target':>8} {'rows':>6}")
    for title, query in QUERIES.items():
        best, rows = float("inf"), 0
        for _ in range(options.repeat):
            started = time.perf_counter()
            result = run_query(query, events, START_S, START_S + SPAN_S)
            best = min(best, time.perf_counter() - started)
            rows = len(result.results)
        print(f"{title:32} {best:8.3f} {best / TARGET_SECONDS:8.2f} {rows:6}")
    through_the_api(connection, options.repeat)
    json_events(options.json_events, options.repeat)


def through_the_api(connection: duckdb.DuckDBPyConnection, repeat: int) -> None:
    import boto3

    from labkit.localcloud import backends
    from labkit.localcloud.server import InProcessServer

    group = "/vpc/flow-logs"
    with InProcessServer() as cloud:
        logs = boto3.client("logs", endpoint_url=cloud.endpoint, region_name="us-east-1",
                            aws_access_key_id=cloud.credentials.access_key_id,
                            aws_secret_access_key=cloud.credentials.secret_access_key)
        logs.create_log_group(logGroupName=group)
        backend = backends.logs("123456789012", "us-east-1")
        streams = connection.execute("SELECT log_stream, list(struct_pack(timestamp := timestamp_ms, message := message) "
                                     "ORDER BY timestamp_ms) FROM events GROUP BY log_stream").fetchall()
        for stream, events in streams:
            backend.create_log_stream(group, stream)
            backend.groups[group].put_log_events(stream, events)
        print(f"through StartQuery + GetQueryResults against the local cloud ({sum(len(e) for _, e in streams):,} events)")
        for title in ("top 20 rejected sources", "UDP count by srcAddr"):
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                # AWS refuses a query that ends before its log group was made (just now): it ends now
                query_id = logs.start_query(logGroupName=group, startTime=START_S, endTime=int(time.time()) + 60,
                                            queryString=QUERIES[title])["queryId"]
                response = logs.get_query_results(queryId=query_id)
                best = min(best, time.perf_counter() - started)
                assert response["status"] == "Complete"
            print(f"{title:32} {best:8.3f} {best / TARGET_SECONDS:8.2f} {len(response['results']):6}")


JSON_QUERIES = {
    "JSON: count, avg by status": "stats count(*), avg(latency) by status",
    "JSON: nested filter by path": "filter user.id < 10 | stats count(*) by path | sort path | limit 5",
    "JSON: latest 25 with a field": "fields @timestamp, status | sort @timestamp desc | limit 25",
}


def json_events(count: int, repeat: int) -> None:
    """`count` JSON events of a web application: a status, a path, a latency and a nested user."""
    rows = duckdb.sql(f"""
        SELECT '/app/web' AS log_group, 'web-' || (i % 4) AS log_stream,
               ({START_S} + i % {SPAN_S}) * 1000 AS timestamp_ms, ({START_S} + i % {SPAN_S}) * 1000 AS ingestion_time_ms,
               '{{"status": ' || [200, 404, 500][CAST(1 + hash(i, 1) % 3 AS BIGINT)]
               || ', "path": "/p' || hash(i, 2) % 50 || '", "latency": ' || round((hash(i, 3) % 100000) / 1000, 3)
               || ', "user": {{"id": ' || hash(i, 4) % 1000 || ', "tags": ["a", "b"]}}}}' AS message
        FROM range({count}) t(i)
    """).to_arrow_table()
    started = time.perf_counter()
    events = events_relation(rows)
    print(f"discovered the fields of {count:,} JSON events in {time.perf_counter() - started:.2f} s")
    for title, query in JSON_QUERIES.items():
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            result = run_query(query, events, START_S, START_S + SPAN_S)
            best = min(best, time.perf_counter() - started)
        print(f"{title:32} {best:8.3f} {best / TARGET_SECONDS:8.2f} {len(result.results):6}")


if __name__ == "__main__":
    main()
