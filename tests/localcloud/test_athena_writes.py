"""Athena statements that write, as the ecosystem sends them (docs/aws-behaviour.md, "Writing tables"):
CTAS in each format, partitioned and bucketed, INSERT INTO, UNLOAD, views, SHOW CREATE TABLE and SHOW
COLUMNS, through pyathena and boto3; and awswrangler's read_sql_query, whose CTAS and UNLOAD approaches
must give the same DataFrame as the plain one. Every file is checked where Athena puts it, and read back.
"""

from __future__ import annotations

import io
import os

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pyathena import connect
from pyathena.error import OperationalError

from ..clouds import as_owner

wr = pytest.importorskip("awswrangler")  # a client tool: installed by `make venv-clients`

REGION, DATA, RESULTS = "us-east-1", "writes-data", "writes-results"
# A source with the types a flow-log analysis produces, NULLs among them
SOURCE = """SELECT x AS id, CAST(x AS integer) AS port, 'host-' || CAST(x % 4 AS varchar) AS host,
  CAST(x AS double) / 8 AS share, x % 3 = 0 AS flagged, DATE '2024-05-01' + x * INTERVAL '1' DAY AS seen,
  CASE WHEN x % 5 = 0 THEN NULL ELSE 'note ' || CAST(x AS varchar) END AS note,
  CAST(x % 2 AS varchar) AS dt
FROM UNNEST(sequence(1, 40)) AS t(x)"""


@pytest.fixture(scope="module")
def env(local_cloud):
    with pytest.MonkeyPatch.context() as patch:
        as_owner(patch, local_cloud, REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=DATA)
        s3.create_bucket(Bucket=RESULTS)
        cursor = connect(s3_staging_dir=f"s3://{RESULTS}/", region_name=REGION, poll_interval=0.02).cursor()
        cursor.execute(f"CREATE TABLE source WITH (external_location = 's3://{DATA}/source/') AS {SOURCE}")
        yield cursor


@pytest.fixture(autouse=True)
def _env_per_test(env, local_cloud, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name, value in local_cloud.credentials.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def _rows(cursor, sql: str) -> list[tuple]:
    cursor.execute(sql)
    return cursor.fetchall()


def _execution(cursor) -> dict:
    return boto3.client("athena").get_query_execution(QueryExecutionId=cursor.query_id)["QueryExecution"]


def _manifest(execution: dict) -> list[str]:
    bucket, _, key = execution["Statistics"]["DataManifestLocation"][len("s3://"):].partition("/")
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return body.splitlines()


def _glue_table(name: str) -> dict:
    return boto3.client("glue").get_table(DatabaseName="default", Name=name)["Table"]


def _failure(cursor, sql: str) -> str:
    with pytest.raises(OperationalError) as failed:
        cursor.execute(sql)
    return str(failed.value)


@pytest.mark.parametrize("file_format", ["PARQUET", "ORC", "TEXTFILE", "JSON"])
def test_ctas_writes_each_format_and_reads_it_back(env, file_format):
    name = f"copy_{file_format.lower()}"
    env.execute(f"CREATE TABLE {name} WITH (format = '{file_format}', external_location = 's3://{DATA}/{name}/') "
                f"AS SELECT * FROM source")
    execution = _execution(env)
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DDL", "CREATE_TABLE_AS_SELECT")
    files = _manifest(execution)
    assert files and all(url.startswith(f"s3://{DATA}/{name}/") for url in files)
    assert _rows(env, f"SELECT * FROM {name} ORDER BY id") == _rows(env, "SELECT * FROM source ORDER BY id")
    table = _glue_table(name)
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "bigint"), ("port", "int"), ("host", "string"), ("share", "double"), ("flagged", "boolean"),
        ("seen", "timestamp"), ("note", "string"), ("dt", "string")]
    assert table["StorageDescriptor"]["Location"] == f"s3://{DATA}/{name}/"


def test_ctas_without_a_location_writes_under_the_results_tables_folder(env):
    env.execute("CREATE TABLE placed AS SELECT id FROM source")
    location = _glue_table("placed")["StorageDescriptor"]["Location"]
    assert location == f"s3://{RESULTS}/tables/{env.query_id}/"
    assert all(url.startswith(location) for url in _manifest(_execution(env)))
    assert _glue_table("placed")["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith(
        "ParquetHiveSerDe")  # Parquet unless told


def test_ctas_partitions_in_hive_folders_registered_in_glue(env):
    env.execute(f"CREATE TABLE by_dt WITH (external_location = 's3://{DATA}/by_dt/', partitioned_by = ARRAY['dt']) "
                f"AS SELECT id, host, dt FROM source")
    assert {url.rsplit("/", 2)[1] for url in _manifest(_execution(env))} == {"dt=0", "dt=1"}
    partitions = boto3.client("glue").get_partitions(DatabaseName="default", TableName="by_dt")["Partitions"]
    assert sorted((p["Values"], p["StorageDescriptor"]["Location"]) for p in partitions) == [
        (["0"], f"s3://{DATA}/by_dt/dt=0/"), (["1"], f"s3://{DATA}/by_dt/dt=1/")]
    assert [k["Name"] for k in _glue_table("by_dt")["PartitionKeys"]] == ["dt"]
    assert _rows(env, "SELECT count(*) FROM by_dt WHERE dt = '1'") == [(20,)]
    assert _rows(env, "SHOW PARTITIONS by_dt") == [("dt=0",), ("dt=1",)]


def test_ctas_buckets_rows_by_the_bucketing_columns(env):
    env.execute(f"CREATE TABLE bucketed WITH (external_location = 's3://{DATA}/bucketed/', "
                f"bucketed_by = ARRAY['host'], bucket_count = 3) AS SELECT id, host FROM source")
    descriptor = _glue_table("bucketed")["StorageDescriptor"]
    assert (descriptor["BucketColumns"], descriptor["NumberOfBuckets"]) == (["host"], 3)
    s3 = boto3.client("s3")
    hosts_per_file = []
    for url in _manifest(_execution(env)):
        assert "_bucket-0000" in url
        key = url[len(f"s3://{DATA}/"):]
        hosts_per_file.append(set(pq.read_table(io.BytesIO(s3.get_object(Bucket=DATA, Key=key)["Body"].read()))
                                  .column("host").to_pylist()))
    assert len(hosts_per_file) <= 3
    assert sum(len(hosts) for hosts in hosts_per_file) == 4  # each host in one bucket only
    assert _rows(env, "SELECT count(*) FROM bucketed") == [(40,)]


def test_ctas_with_no_data_makes_the_table_only(env):
    env.execute(f"CREATE TABLE empty_copy WITH (external_location = 's3://{DATA}/empty_copy/') "
                f"AS SELECT id, host FROM source WITH NO DATA")
    assert _manifest(_execution(env)) == []
    assert _rows(env, "SELECT count(*) FROM empty_copy") == [(0,)]


def test_insert_into_appends_in_the_table_format_and_adds_partitions(env):
    env.execute(f"CREATE TABLE growing WITH (format = 'TEXTFILE', external_location = 's3://{DATA}/growing/', "
                f"partitioned_by = ARRAY['dt']) AS SELECT id, host, dt FROM source WHERE dt = '0'")
    env.execute("INSERT INTO growing SELECT id, host, dt FROM source WHERE dt = '1' AND id < 10")
    execution = _execution(env)
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DML", "INSERT")
    assert all("/dt=1/" in url and url.endswith(".gz") for url in _manifest(execution))
    env.execute("INSERT INTO growing (id, dt) VALUES (100, '7')")  # columns left out are NULL
    assert _rows(env, "SELECT dt, count(*), count(host) FROM growing GROUP BY dt ORDER BY dt") == [
        ("0", 20, 20), ("1", 5, 5), ("7", 1, 0)]
    assert _rows(env, "SHOW PARTITIONS growing") == [("dt=0",), ("dt=1",), ("dt=7",)]


def test_unload_writes_files_listed_in_the_manifest(env):
    env.execute(f"UNLOAD (SELECT id, host FROM source WHERE id <= 10) TO 's3://{DATA}/unloaded/' "
                f"WITH (format = 'PARQUET', compression = 'SNAPPY')")
    execution = _execution(env)
    assert (execution["StatementType"], execution["SubstatementType"]) == ("DML", "UNLOAD")
    s3 = boto3.client("s3")
    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=DATA, Key=url[len(f"s3://{DATA}/"):])["Body"].read()))
              for url in _manifest(execution)]
    assert sorted(row["id"] for table in tables for row in table.to_pylist()) == list(range(1, 11))
    assert "HIVE_PATH_ALREADY_EXISTS" in _failure(env, f"UNLOAD (SELECT 1 AS a) TO 's3://{DATA}/unloaded/' "
                                                       f"WITH (format = 'PARQUET')")


def test_views_are_glue_virtual_views_that_queries_read(env):
    env.execute("CREATE VIEW flagged AS SELECT id, host FROM source WHERE flagged")
    table = _glue_table("flagged")
    assert table["TableType"] == "VIRTUAL_VIEW" and table["ViewOriginalText"].startswith("/* Presto View: ")
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["id", "host"]
    assert _rows(env, "SELECT count(*) FROM flagged") == [(13,)]
    env.execute("CREATE VIEW flagged_hosts AS SELECT DISTINCT host FROM flagged")  # a view of a view
    assert sorted(_rows(env, "SELECT * FROM flagged_hosts")) == [("host-0",), ("host-1",), ("host-2",), ("host-3",)]
    assert "TABLE_ALREADY_EXISTS" in _failure(env, "CREATE VIEW flagged AS SELECT 1 AS a")
    env.execute("CREATE OR REPLACE VIEW flagged AS SELECT id FROM source WHERE flagged AND id > 30")
    assert _rows(env, "SELECT * FROM flagged ORDER BY id") == [(33,), (36,), (39,)]
    assert _rows(env, "SHOW CREATE VIEW flagged")[-1] == ("SELECT id FROM source WHERE flagged AND id > 30",)
    env.execute("DROP VIEW flagged_hosts")
    assert "TABLE_NOT_FOUND" in _failure(env, "SELECT * FROM flagged_hosts")
    assert "TABLE_NOT_FOUND" in _failure(env, "DROP VIEW flagged_hosts")
    env.execute("DROP VIEW IF EXISTS flagged_hosts")
    assert "TABLE_NOT_FOUND" in _failure(env, "CREATE VIEW broken AS SELECT * FROM nowhere")


def test_show_create_table_gives_ddl_that_makes_the_same_table(env):
    env.execute(f"CREATE EXTERNAL TABLE shown (a int, `end` bigint, s string) PARTITIONED BY (dt string) "
                f"ROW FORMAT DELIMITED FIELDS TERMINATED BY ' ' LOCATION 's3://{DATA}/shown/' "
                f"TBLPROPERTIES (\"skip.header.line.count\"=\"1\")")
    ddl = "\n".join(line for (line,) in _rows(env, "SHOW CREATE TABLE shown"))
    assert ddl.startswith("CREATE EXTERNAL TABLE `default`.`shown`(\n  `a` int,\n  `end` bigint,\n  `s` string)")
    env.execute(ddl.replace("`shown`", "`shown_again`"))
    original, again = _glue_table("shown"), _glue_table("shown_again")
    assert again["StorageDescriptor"] == original["StorageDescriptor"]
    assert (again["PartitionKeys"], again["Parameters"]) == (original["PartitionKeys"], original["Parameters"])
    assert _rows(env, "SHOW COLUMNS IN shown") == [("a",), ("end",), ("s",), ("dt",)]
    formatted = [line.split("\t") for (line,) in _rows(env, "DESCRIBE FORMATTED shown")]
    fields = {cells[0].strip(): cells[1].strip() for cells in formatted if cells[0].strip().endswith(":")}
    assert fields["Location:"] == f"s3://{DATA}/shown/" and fields["SerDe Library:"].endswith("LazySimpleSerDe")
    parameters = {c[1].strip(): c[2].strip() for c in formatted if len(c) == 3 and not c[0].strip() and c[1].strip()}
    assert parameters["skip.header.line.count"] == "1" and "serialization.format" in parameters
    assert "is a table, not a view" in _failure(env, "SHOW CREATE VIEW shown")


@pytest.mark.parametrize(("sql", "error"), [
    ("CREATE TABLE source AS SELECT 1 AS a", "TABLE_ALREADY_EXISTS: line 1:1: Destination table "
                                             "'awsdatacatalog.default.source' already exists"),
    (f"CREATE TABLE again WITH (external_location = 's3://{DATA}/source/') AS SELECT 1 AS a",
     f"HIVE_PATH_ALREADY_EXISTS: Target directory for table 'default.again' already exists: s3://{DATA}/source/"),
    ("CREATE TABLE unnamed AS SELECT 1", "Column name not specified at position 1"),
    ("CREATE TABLE twice AS SELECT 1 AS a, 2 AS a", "Column name 'a' specified more than once"),
    ("CREATE TABLE odd WITH (colour = 'red') AS SELECT 1 AS a", "table property 'colour' does not exist"),
    ("CREATE TABLE order_wrong WITH (partitioned_by = ARRAY['a']) AS SELECT 1 AS a, 2 AS b",
     "HIVE_COLUMN_ORDER_MISMATCH: Partition keys must be the last columns"),
    ("CREATE TABLE half WITH (bucket_count = 2) AS SELECT 1 AS a", "bucketed_by and bucket_count"),
    ("CREATE TABLE local WITH (external_location = 'file:///tmp/athena-ctas/') AS SELECT 1 AS a",
     "external_location is not an S3 location: file:///tmp/athena-ctas/"),
    ("UNLOAD (SELECT 1 AS a) TO '/tmp/athena-unload/' WITH (format = 'TEXTFILE')",
     "UNLOAD location is not an S3 location: /tmp/athena-unload/"),
    ("INSERT INTO source SELECT 1", "TYPE_MISMATCH: line 1:1: Insert query has mismatched column types"),
    ("INSERT INTO nowhere SELECT 1", "TABLE_NOT_FOUND"),
])
def test_misuse_gets_athenas_errors_and_changes_nothing(env, sql, error):
    tables = boto3.client("glue").get_tables(DatabaseName="default")["TableList"]
    assert error in _failure(env, sql)
    assert boto3.client("glue").get_tables(DatabaseName="default")["TableList"] == tables
    assert not any(os.path.exists(path) for path in ("/tmp/athena-ctas", "/tmp/athena-unload"))  # no file written


QUERY = "SELECT id, port, host, share, flagged, seen, note FROM source WHERE id > 3 ORDER BY id"


def test_awswrangler_gives_the_same_dataframe_with_and_without_ctas_and_with_unload(env):
    s3_output = f"s3://{RESULTS}/wrangler/"
    plain = wr.athena.read_sql_query(QUERY, database="default", ctas_approach=False, s3_output=s3_output)
    assert len(plain) == 37 and plain["note"].isna().sum() == 8
    ctas = wr.athena.read_sql_query(QUERY, database="default", s3_output=s3_output)  # ctas_approach=True
    wr_tables = [t["Name"] for t in boto3.client("glue").get_tables(DatabaseName="default")["TableList"]]
    assert not [name for name in wr_tables if name.startswith("temp_table_")]  # awswrangler dropped its table
    unload = wr.athena.read_sql_query(QUERY, database="default", ctas_approach=False, unload_approach=True,
                                      s3_output=f"s3://{RESULTS}/wrangler-unload/")
    for frame in (ctas, unload):
        pd.testing.assert_frame_equal(frame.sort_values("id").reset_index(drop=True), plain)


def test_awswrangler_ctas_of_an_empty_result_keeps_the_columns(env):
    frame = wr.athena.read_sql_query("SELECT id, host FROM source WHERE id < 0", database="default",
                                     s3_output=f"s3://{RESULTS}/wrangler-empty/")
    assert list(frame.columns) == ["id", "host"] and len(frame) == 0



def test_awswrangler_with_nothing_but_the_database_uses_its_default_results_bucket(env):
    """read_sql_query(sql, database) as a user writes it: awswrangler makes (or finds) the account's
    aws-athena-query-results-{account}-{region} bucket, runs its CTAS there and reads it back."""
    frame = wr.athena.read_sql_query("SELECT id, host FROM source WHERE id <= 5", database="default")
    assert frame.sort_values("id")["id"].tolist() == [1, 2, 3, 4, 5]
    account = boto3.client("sts").get_caller_identity()["Account"]
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    assert f"aws-athena-query-results-{account}-{REGION}" in buckets
