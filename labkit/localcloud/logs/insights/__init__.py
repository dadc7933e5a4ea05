"""CloudWatch Logs Insights: the query language, translated to SQL and run on DuckDB.

    result = run_query("filter action='REJECT' | stats count(*) by srcAddr",
                       events_relation(events), start_time, end_time)
"""
from .engine import (DEFAULT_ACCOUNT_ID, EVENT_SCHEMA, QueryResult, RecordPointer, decode_ptr, encode_ptr,
                     events_relation, run_query)
from .errors import MalformedQueryError
from .parser import parse_query

__all__ = [
    "DEFAULT_ACCOUNT_ID", "EVENT_SCHEMA", "MalformedQueryError", "QueryResult", "RecordPointer", "decode_ptr",
    "encode_ptr", "events_relation", "parse_query", "run_query",
]
