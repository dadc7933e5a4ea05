"""Athena query executions: from StartQueryExecution to results in the output location.

An execution is QUEUED when started, RUNNING on a worker thread, and ends SUCCEEDED, FAILED (with
Athena's StateChangeReason and AthenaError) or CANCELLED (StopQueryExecution, or the work group's
BytesScannedCutoffPerQuery: "Bytes scanned limit was exceeded", with DataScannedInBytes at the cutoff).
Results go where Athena puts them: `{OutputLocation}/{QueryExecutionId}.csv` for a query, `.txt`
for DDL and utility statements, each with its `.metadata` companion. Athena's `.metadata` format is
proprietary and undocumented; here it holds the ColumnInfo as JSON (no client reads it).

Each execution runs in a DuckDB database of its own (`sandboxed_database`: UTC, the Trino functions of
`dialect`, capped memory, no file but the S3 objects), so it can be interrupted, and its memory is
freed when it ends.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
from moto.backends import get_backend
from moto.core.base_backend import BackendDict, BaseBackend

from ..home import process_directory
from ..s3.storage import storage_directory
from . import dialect
from .catalog import CatalogError, GlueCatalog
from .ddl import AthenaSyntaxError, CreateTableAs, CreateView, DropView, InsertInto, Query, Statement, Unload, \
    parse_statement
from .query import Outcome, QueryFailed, ScanLimitExceeded, run_query
from .results import csv_text, tsv_text
from .scan import S3Listing, split_s3_url
from .utility import run_utility
from .writes import Writer

WRITING_STATEMENTS = (CreateTableAs, InsertInto, Unload, CreateView, DropView)

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"
ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}
# What one query may take of the local cloud: DuckDB's working memory, spilling to disk beyond it up to a
# limit (then the query fails, as Athena's do when they exhaust their resources), and its threads.
QUERY_MEMORY_LIMIT = "256MB"
QUERY_SPILL_LIMIT = "2GB"
QUERY_THREADS = 2
QUERY_TIMEOUT_S = 30 * 60.0  # Athena's default DML query timeout
CONCURRENT_QUERIES = 2


class InvalidRequest(Exception):
    """Athena's InvalidRequestException, raised while starting or reading an execution, with its
    AthenaErrorCode (INVALID_INPUT, MALFORMED_QUERY, IDEMPOTENT_PARAMETER_MISMATCH, ...)."""

    def __init__(self, message: str, athena_error_code: str = "INVALID_INPUT"):
        super().__init__(message)
        self.message = message
        self.athena_error_code = athena_error_code


@dataclass
class QueryExecution:
    id: str
    query: str
    statement: Statement
    database: str
    work_group: str
    output_location: str  # the result file: s3://bucket/prefix/{id}.csv or .txt
    cutoff: int | None
    submitted: float = field(default_factory=time.time)
    state: str = QUEUED
    reason: str | None = None
    started: float | None = None
    completed: float | None = None
    outcome: Outcome = field(default_factory=Outcome)
    output_bytes: int = 0  # of the result file
    manifest_location: str | None = None  # the list of data files a CTAS, INSERT INTO or UNLOAD wrote
    cursor: Any = None

    @property
    def finished(self) -> bool:
        return self.state in (SUCCEEDED, FAILED, CANCELLED)

    @property
    def has_header_row(self) -> bool:
        """DML results (a CSV file) start with a header row in GetQueryResults; DDL and utility ones do not."""
        return self.statement.statement_type == "DML"

    def as_api(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.state == FAILED:
            status["AthenaError"] = {"ErrorCategory": 2, "Retryable": False, "ErrorMessage": self.reason}
        return {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement.statement_type,
            "SubstatementType": self.statement.substatement_type,
            "ResultConfiguration": {"OutputLocation": self.output_location},
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": {"Database": self.database, "Catalog": "awsdatacatalog"},
            "Status": status,
            "Statistics": self._statistics(),
            "WorkGroup": self.work_group,
            "EngineVersion": ENGINE_VERSION,
        }

    def _statistics(self) -> dict[str, Any]:
        manifest = {"DataManifestLocation": self.manifest_location} if self.manifest_location else {}
        return {**self._timeline(), "DataScannedInBytes": self.outcome.data_scanned, **manifest,
                "ResultReuseInformation": {"ReusedPreviousResult": False}}

    def _timeline(self) -> dict[str, int]:
        queued_until = self.started or self.completed or time.time()
        end = self.completed or time.time()
        engine_ms = int((end - self.started) * 1000) if self.started else 0
        return {"EngineExecutionTimeInMillis": engine_ms,
                "TotalExecutionTimeInMillis": int((end - self.submitted) * 1000),
                "QueryQueueTimeInMillis": int((queued_until - self.submitted) * 1000),
                "ServicePreProcessingTimeInMillis": 0,
                "QueryPlanningTimeInMillis": 0,
                "ServiceProcessingTimeInMillis": 0}

    def runtime_statistics(self) -> dict[str, Any]:
        """GetQueryRuntimeStatistics: the timeline at any time; the rows and bytes once the query
        succeeded (the rows it read are not counted here: InputRows is left out)."""
        statistics: dict[str, Any] = {"Timeline": self._timeline()}
        if self.state == SUCCEEDED:
            statistics["Rows"] = {"InputBytes": self.outcome.data_scanned, "OutputBytes": self.output_bytes,
                                  "OutputRows": len(self.outcome.rows)}
        return statistics


class AthenaEngine(BaseBackend):
    """The query executions of one account and region."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.catalog = GlueCatalog(account_id, region_name)
        self.executions: dict[str, QueryExecution] = {}
        self._by_token: dict[str, tuple[tuple[Any, ...], str]] = {}  # ClientRequestToken -> (parameters, id)
        self._lock = threading.Lock()

    def start(self, query: str, *, database: str | None, work_group: str | None,
              output_location: str | None, client_request_token: str | None = None) -> QueryExecution:
        """A new execution; the same one again for a ClientRequestToken already used with the same query,
        database and output location (Athena's idempotency), InvalidRequest if used with others."""
        if client_request_token is not None and client_request_token in self._by_token:
            parameters, execution_id = self._by_token[client_request_token]
            if parameters != (query, database, output_location):
                raise InvalidRequest("Idempotent parameters do not match", "IDEMPOTENT_PARAMETER_MISMATCH")
            return self.executions[execution_id]
        statement = _parse(query)
        group_name = work_group or "primary"
        group = self._work_group(group_name)
        base = _output_base(group.configuration, output_location)
        execution_id = str(uuid.uuid4())
        suffix = "csv" if statement.statement_type == "DML" else "txt"
        cutoff = group.configuration.get("BytesScannedCutoffPerQuery")
        execution = QueryExecution(execution_id, query, statement, (database or "default").lower(), group_name,
                                   f"{base.rstrip('/')}/{execution_id}.{suffix}", int(cutoff) if cutoff else None)
        with self._lock:
            self.executions[execution_id] = execution
            if client_request_token is not None:
                self._by_token[client_request_token] = ((query, database, output_location), execution_id)
        _workers().submit(self._run, execution)
        return execution

    def get(self, execution_id: str) -> QueryExecution:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise InvalidRequest(f"QueryExecution {execution_id} was not found", "QUERY_EXECUTION_NOT_FOUND")
        return execution

    def stop(self, execution_id: str) -> None:
        execution = self.get(execution_id)
        with self._lock:
            if execution.finished:
                return
            execution.state = CANCELLED
            execution.completed = time.time()
            if execution.cursor is not None:
                execution.cursor.interrupt()

    def list(self, work_group: str | None) -> list[QueryExecution]:
        name = work_group or "primary"
        return sorted((e for e in self.executions.values() if e.work_group == name),
                      key=lambda e: e.submitted, reverse=True)

    # --- running ------------------------------------------------------------------------------

    def _run(self, execution: QueryExecution) -> None:
        database = _ready_database()
        with self._lock:
            if execution.state != QUEUED:
                database.close()
                return
            execution.state, execution.started = RUNNING, time.time()
            cursor = execution.cursor = database
        timer = threading.Timer(QUERY_TIMEOUT_S, cursor.interrupt)  # Athena's limit on a query's time
        timer.daemon = True
        timer.start()
        try:
            outcome = self._execute(execution, cursor)
            self._write_results(execution, outcome)
            self._finish(execution, SUCCEEDED, outcome=outcome)
        except ScanLimitExceeded as limit:
            self._finish(execution, CANCELLED, "Bytes scanned limit was exceeded", Outcome(data_scanned=limit.cutoff))
        except duckdb.InterruptException:
            if timer.is_alive():  # stopped (StopQueryExecution)
                self._finish(execution, CANCELLED)
            else:
                self._finish(execution, FAILED, f"Query exhausted resources at this scale factor: it ran longer "
                                                 f"than {QUERY_TIMEOUT_S / 60:.0f} minutes")
        except (QueryFailed, CatalogError) as failure:
            self._finish(execution, FAILED, failure.message)
        except Exception as error:  # a local-cloud bug fails the query, not the local cloud
            self._finish(execution, FAILED, f"GENERIC_INTERNAL_ERROR: {type(error).__name__}: {error}")
        finally:
            timer.cancel()
            cursor.close()

    def _execute(self, execution: QueryExecution, cursor: Any) -> Outcome:
        self._check_output_bucket(execution.output_location)
        listing = S3Listing(self.account_id)
        if isinstance(execution.statement, Query):
            return run_query(execution.statement, catalog=self.catalog, database=execution.database, cursor=cursor,
                             listing=listing, cutoff=execution.cutoff)
        if isinstance(execution.statement, WRITING_STATEMENTS):
            writer = Writer(self.catalog, execution.database, cursor, listing, self._put, execution.id,
                            execution.output_location.rsplit("/", 1)[0], execution.cutoff)
            return writer.run(execution.statement)
        return run_utility(execution.statement, self.catalog, execution.database, listing)

    def _put(self, url: str, body: bytes) -> None:
        bucket, key = split_s3_url(url)
        if bucket not in self._s3.buckets:
            raise QueryFailed(f"HIVE_FILESYSTEM_ERROR: Unable to write {url}: The specified bucket does not exist")
        self._s3.put_object(bucket, key, body)

    def _finish(self, execution: QueryExecution, state: str, reason: str | None = None,
                outcome: Outcome | None = None) -> None:
        with self._lock:
            execution.cursor = None
            if execution.state == CANCELLED and state != CANCELLED:
                return  # stopped while finishing: it stays cancelled
            execution.state, execution.reason = state, reason
            execution.completed = execution.completed or time.time()
            if outcome is not None:
                execution.outcome = outcome

    def _check_output_bucket(self, location: str) -> None:
        bucket, _ = split_s3_url(location)
        if bucket not in self._s3.buckets:
            raise QueryFailed(f"Unable to verify/create output bucket {bucket}")

    def _write_results(self, execution: QueryExecution, outcome: Outcome) -> None:
        bucket, key = split_s3_url(execution.output_location)
        if execution.has_header_row:
            body = csv_text(outcome.columns, outcome.rows)
        else:
            body = tsv_text(outcome.rows)
        self._s3.put_object(bucket, key, body)
        execution.output_bytes = len(body)
        metadata = {"ColumnInfo": [c.column_info() for c in outcome.columns]}
        self._s3.put_object(bucket, key + ".metadata", json.dumps(metadata).encode())
        if outcome.written is not None:  # Athena's data manifest: one S3 URL a line
            manifest = key.rsplit(".", 1)[0] + "-manifest.csv"
            self._s3.put_object(bucket, manifest, "".join(url + "\n" for url in outcome.written).encode())
            execution.manifest_location = f"s3://{bucket}/{manifest}"

    @property
    def _s3(self) -> Any:
        return get_backend("s3")[self.account_id]["aws"]

    def _work_group(self, name: str) -> Any:
        group = get_backend("athena")[self.account_id][self.region_name].work_groups.get(name)
        if group is None:
            raise InvalidRequest("WorkGroup is not found.")
        return group


athena_engines = BackendDict(AthenaEngine, "athena")


def _parse(query: str) -> Statement:
    try:
        return parse_statement(query)
    except AthenaSyntaxError as error:
        raise InvalidRequest(str(error), "MALFORMED_QUERY") from None


def _output_base(configuration: dict[str, Any], requested: str | None) -> str:
    """The work group's OutputLocation when it is enforced (or nothing was asked), else the request's."""
    group_location = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
    enforced = configuration.get("EnforceWorkGroupConfiguration", True)
    location = group_location if group_location and (enforced or not requested) else requested
    if not location:
        raise InvalidRequest("No output location provided. An output location is required either through the "
                             "Workgroup result configuration setting or as an API input.")
    return location


_database_lock = threading.Lock()
_shared: dict[str, Any] = {}


def sandboxed_database() -> Any:
    """A DuckDB database of its own for one query execution: its memory, threads and spill space capped
    (closing it frees them all), no extension loaded, and no file reachable but the S3 object bodies
    (`enable_external_access` off, `allowed_directories`), with the settings locked against the SQL."""
    spill = _spill_directory()
    database = duckdb.connect(config={
        "memory_limit": QUERY_MEMORY_LIMIT, "threads": QUERY_THREADS, "temp_directory": str(spill),
        "max_temp_directory_size": QUERY_SPILL_LIMIT, "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        # Hive's text semantics cast each string field after reading (`-` in an int column is
        # NULL); DuckDB would push the cast into the CSV reader, which then fails on `-`.
        "disabled_optimizers": "type_pushdown",
    })
    dialect.install(database)
    database.execute("SET allowed_directories = ?", [[f"{storage_directory()}/", f"{spill}/"]])
    database.execute("SET enable_external_access = false")
    database.execute("SET lock_configuration = true")
    return database


def _ready_database() -> Any:
    """A sandboxed database for an execution: the one made ahead, if any, and another made ahead, on a
    thread of its own, for the next (making one, with the dialect's functions, takes tens of milliseconds:
    most of what a short query costs). Each is used by one execution only."""
    with _database_lock:
        database = _shared.pop("spare", None)
    threading.Thread(target=_make_spare, name="athena-spare-database", daemon=True).start()
    return database if database is not None else sandboxed_database()


def _make_spare() -> None:
    database = sandboxed_database()
    with _database_lock:
        spare = _shared.setdefault("spare", database)
    if spare is not database:  # another thread made one already
        database.close()


def _spill_directory() -> Any:
    with _database_lock:
        if "spill" not in _shared:
            _shared["spill"] = process_directory("athena-spill")
        return _shared["spill"]


def _workers() -> ThreadPoolExecutor:
    with _database_lock:
        if "workers" not in _shared:
            _shared["workers"] = ThreadPoolExecutor(CONCURRENT_QUERIES, thread_name_prefix="athena-query")
        return _shared["workers"]
