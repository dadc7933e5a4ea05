"""Athena's SQL in the local cloud, without a server: DDL parsing, partition projection, the
Trino-to-DuckDB rewrites and Athena's value text."""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import pytest
import sqlglot

from labkit.localcloud.athena import dialect
from labkit.localcloud.athena.catalog import Table
from labkit.localcloud.athena.ddl import (PARQUET_SERDE, AddPartitions, AthenaSyntaxError, CreateTable, Describe,
                                         DropDatabase, DropPartitions, Query, RepairTable, ShowTables, TableRef,
                                         parse_statement)
from labkit.localcloud.athena.projection import MAX_PARTITIONS, Condition, column_values, partitions
from labkit.localcloud.athena.results import csv_text, java_double, value_text, ResultColumn

PROJECTION_DDL = """
CREATE EXTERNAL TABLE IF NOT EXISTS test_table_vpclogs (version int, account_id string, srcaddr string, `end` bigint)
PARTITIONED BY (region string, day string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
LOCATION 's3://bucket/prefix/AWSLogs/123456789012/vpcflowlogs/'
TBLPROPERTIES ("skip.header.line.count"="1", "projection.enabled" = "true",
  "projection.region.type" = "enum", "projection.region.values" = "us-east-1,eu-west-1",
  "projection.day.type" = "date", "projection.day.range" = "2021/01/01,NOW", "projection.day.format" = "yyyy/MM/dd",
  "storage.location.template" = "s3://bucket/prefix/AWSLogs/123456789012/vpcflowlogs/${region}/${day}")
"""


def test_create_external_table_gives_columns_partitions_storage_and_properties():
    create = parse_statement(PROJECTION_DDL)
    assert isinstance(create, CreateTable) and create.if_not_exists
    assert create.table == TableRef(None, "test_table_vpclogs")
    assert [(c.name, c.type) for c in create.columns] == [("version", "int"), ("account_id", "string"),
                                                         ("srcaddr", "string"), ("end", "bigint")]
    assert [c.name for c in create.partition_keys] == ["region", "day"]
    assert create.storage.serde_parameters["field.delim"] == " "
    assert create.properties["skip.header.line.count"] == "1"
    assert create.properties["storage.location.template"].endswith("${region}/${day}")
    assert "" not in create.properties  # EXTERNAL is a keyword, not a property (Glue refuses an empty key)


def test_parquet_ddl_uses_the_parquet_serde():
    create = parse_statement("""CREATE EXTERNAL TABLE db.p (protocol bigint) PARTITIONED BY (`aws-account-id` string)
        ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
        STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
        OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
        LOCATION 's3://b/prefix/AWSLogs/' TBLPROPERTIES ('EXTERNAL'='true')""")
    assert create.storage.serde == PARQUET_SERDE
    assert create.table == TableRef("db", "p")
    assert create.partition_keys[0].name == "aws-account-id"
    assert parse_statement("CREATE EXTERNAL TABLE q (a int) STORED AS PARQUET LOCATION 's3://b/q/'").storage.serde \
        == PARQUET_SERDE


def test_utility_statements():
    add = parse_statement("ALTER TABLE vpc_flow_logs ADD IF NOT EXISTS PARTITION (`date`='2024-05-01') "
                          "LOCATION 's3://b/p/2024/05/01' PARTITION (`date`='2024-05-02') LOCATION 's3://b/p/2024/05/02';")
    assert isinstance(add, AddPartitions) and add.if_not_exists
    assert [(p.values, p.location) for p in add.partitions] == [({"date": "2024-05-01"}, "s3://b/p/2024/05/01"),
                                                               ({"date": "2024-05-02"}, "s3://b/p/2024/05/02")]
    drop = parse_statement("ALTER TABLE db.t DROP PARTITION (region='us-east-1', day='2024/05/01')")
    assert isinstance(drop, DropPartitions) and drop.partitions[0].values == {"region": "us-east-1",
                                                                               "day": "2024/05/01"}
    assert parse_statement("MSCK REPAIR TABLE vpc_flow_logs_parquet") == RepairTable(TableRef(None,
                                                                                              "vpc_flow_logs_parquet"))
    assert parse_statement("SHOW TABLES IN lab 'vpc*'") == ShowTables("lab", "vpc*")
    assert parse_statement("DESCRIBE `lab`.`vpc_flow_logs`") == Describe(TableRef("lab", "vpc_flow_logs"))
    assert parse_statement("DROP DATABASE IF EXISTS lab CASCADE") == DropDatabase("lab", True, True)
    assert isinstance(parse_statement("-- top talkers\nSELECT 1;"), Query)


@pytest.mark.parametrize("sql, message", [
    ("SELEC * FROM t", "line 1:1: mismatched input 'SELEC'"),
    ("SELECT a FROM t WHERE (a = 1", "line 1:28: mismatched input '1'"),
])
def test_syntax_errors_name_the_line_and_column(sql, message):
    with pytest.raises(AthenaSyntaxError, match=message):
        parse_statement(sql)


def _projection_table() -> Table:
    create = parse_statement(PROJECTION_DDL)
    return Table("db", create.table.name, create.columns, create.partition_keys, create.location,
                 create.storage.serde, create.storage.serde_parameters, create.properties)


def _all_partitions(table: Table, now: datetime, conditions: list[Condition] = ()) -> list:
    return list(partitions(table, column_values(table, list(conditions), now)))


def test_projection_enumerates_enum_times_dates_up_to_now_with_the_template():
    now = datetime(2021, 1, 3, 12, tzinfo=timezone.utc)
    partitions = _all_partitions(_projection_table(), now)
    assert [p.values for p in partitions] == [("us-east-1", "2021/01/01"), ("us-east-1", "2021/01/02"),
                                              ("us-east-1", "2021/01/03"), ("eu-west-1", "2021/01/01"),
                                              ("eu-west-1", "2021/01/02"), ("eu-west-1", "2021/01/03")]
    assert partitions[1].location == "s3://bucket/prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/2021/01/02"


def test_projection_integer_with_digits_and_relative_now_and_hive_default_location():
    table = Table("db", "t", (), (_column("date"), _column("hour")), "s3://b/logs/", "", {},
                  {"projection.enabled": "true", "projection.date.type": "date",
                   "projection.date.range": "NOW-1DAYS,NOW", "projection.date.format": "yyyy-MM-dd",
                   "projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2"})
    partitions = _all_partitions(table, datetime(2024, 3, 1, 5, tzinfo=timezone.utc))
    assert len(partitions) == 2 * 24
    assert partitions[0].values == ("2024-02-29", "00")
    assert partitions[-1].location == "s3://b/logs/date=2024-03-01/hour=23/"


def _column(name: str, kind: str = "string"):
    from labkit.localcloud.athena.ddl import Column
    return Column(name, kind)


def _bootstrap_like(kind: str = "string") -> Table:
    """Accounts x regions x days x hours, as awslabs' security-analytics bootstrap projects flow logs."""
    return Table("db", "vpcflow", (), (_column("accountid"), _column("region"), _column("date"),
                                       _column("hour", kind)), "s3://b/AWSLogs/", "", {},
                 {"projection.enabled": "true", "projection.accountid.type": "enum",
                  "projection.accountid.values": "111111111111,222222222222",
                  "projection.region.type": "enum", "projection.region.values": "us-east-1,eu-west-1,ap-south-1",
                  "projection.date.type": "date", "projection.date.range": "2020/01/01,NOW",
                  "projection.date.format": "yyyy/MM/dd", "projection.date.interval.unit": "DAYS",
                  "projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
                  "storage.location.template": "s3://b/AWSLogs/${accountid}/vpcflowlogs/${region}/${date}/${hour}"})


NOW = datetime(2024, 3, 1, 5, tzinfo=timezone.utc)


def test_projection_counts_before_making_and_refuses_more_than_athenas_limit():
    too_many = Table("db", "t", (), (_column("n", "int"),), "s3://b/", "", {}, {
        "projection.enabled": "true", "projection.n.type": "integer", "projection.n.range": f"1,{MAX_PARTITIONS + 1}"})
    with pytest.raises(Exception, match=rf"HIVE_EXCEEDED_PARTITION_LIMIT: Query over table 'db.t' can potentially "
                                        rf"read more than {MAX_PARTITIONS} partitions"):
        column_values(too_many, [], NOW)
    # the same table, narrowed by the query, is fine: and its values are made one at a time
    values = column_values(too_many, [Condition("n", ">=", ("10",)), Condition("n", "<", ("13",))], NOW)
    assert [p.values for p in partitions(too_many, values)] == [("10",), ("11",), ("12",)]
    assert len(column_values(_bootstrap_like(), [], NOW)[2]) == 1522  # 2020-01-01 to 2024-03-01, never made


@pytest.mark.parametrize("conditions, expected", [
    ([Condition("date", "=", ("2024/02/29",)), Condition("region", "=", ("eu-west-1",))], 2 * 1 * 1 * 24),
    ([Condition("date", ">=", ("2024/02/28",)), Condition("accountid", "=", ("111111111111", "999"))], 1 * 3 * 3 * 24),
    ([Condition("date", "=", ("2019/12/31",))], 0),  # before the range
    ([Condition("date", "=", ("2024-02-29",))], 0),  # not the format: no such partition
    ([Condition("hour", "=", ("7",))], 0),  # a string column: '7' is not '07'
    ([Condition("hour", "=", ("07",)), Condition("date", "<", ("2020/01/03",))], 2 * 3 * 3 * 1),
])
def test_the_querys_conditions_narrow_the_projected_values(conditions, expected):
    assert len(_all_partitions(_bootstrap_like(), NOW, conditions)) == expected


def test_an_integer_column_is_narrowed_by_numeric_ranges():
    values = column_values(_bootstrap_like("int"), [Condition("hour", ">", ("21",))], NOW)
    assert list(values[3]) == ["22", "23"]
    assert list(column_values(_bootstrap_like("int"), [Condition("hour", "=", ("7",))], NOW)[3]) == ["07"]


def test_an_injected_column_takes_the_querys_values_and_needs_them():
    table = Table("db", "t", (), (_column("account"),), "s3://b/", "", {},
                  {"projection.enabled": "true", "projection.account.type": "injected"})
    assert [p.values for p in _all_partitions(table, NOW, [Condition("account", "=", ("1", "2"))])] == [("1",), ("2",)]
    with pytest.raises(Exception, match="CONSTRAINT_VIOLATION: For the injected projected partition column account"):
        column_values(table, [], NOW)


@pytest.fixture(scope="module")
def duck():
    connection = duckdb.connect()
    dialect.install(connection)
    return connection


def _run(duck, trino_sql: str):
    return duck.execute(dialect.to_duckdb(sqlglot.parse_one(trino_sql, read="athena"))).fetchall()


def test_trino_functions_on_duckdb(duck):
    assert _run(duck, "SELECT to_iso8601(from_unixtime(1418530010)), day_of_week(DATE('2020-05-04')), "
                      "split_part('10.117.1.22', '.', 2)") == [("2014-12-14T04:06:50.000Z", 1, "117")]


@pytest.mark.parametrize("trino_sql, expected", [
    ("SELECT contains('172.16.0.0/12', CAST('172.31.9.69' AS IPADDRESS))", True),
    ("SELECT contains('172.16.0.0/12', CAST('172.32.0.1' AS IPADDRESS))", False),
    ("SELECT contains('10.0.0.0/8', CAST('2001:db8::1' AS IPADDRESS))", False),
    ("SELECT contains('2001:db8::/32', CAST('2001:db8:1234::1' AS IPADDRESS))", True),
    ("SELECT contains('0.0.0.0/0', CAST('8.8.8.8' AS IPADDRESS))", True),
    ("SELECT CAST('10.0.0.9' AS IPADDRESS) > IPADDRESS '10.0.0.10'", False),  # numeric, not text, order
    ("SELECT CAST('10.20.0.1' AS IPADDRESS) BETWEEN IPADDRESS '10.0.0.0' AND IPADDRESS '10.255.255.255'", True),
])
def test_ip_addresses_compare_and_contain_like_trino(duck, trino_sql, expected):
    assert _run(duck, trino_sql) == [(expected,)]


def test_an_ipaddress_prints_as_trino_prints_it(duck):
    assert _run(duck, "SELECT CAST('10.0.0.1' AS IPADDRESS), CAST('2001:DB8:0:0:0:0:0:1' AS IPADDRESS), "
                      "CAST('::ffff:10.1.2.3' AS IPADDRESS)") == [("10.0.0.1", "2001:db8::1", "10.1.2.3")]


@pytest.mark.parametrize("text", ["-", "300.1.1.1", "10.0.0", "zz::g"])
def test_text_that_is_no_address_fails_the_cast_like_trino(duck, text):
    with pytest.raises(duckdb.InvalidInputException, match=f"Cannot cast value to IPADDRESS: {text}$"):
        _run(duck, f"SELECT CAST('{text}' AS IPADDRESS)")


@pytest.mark.parametrize("trino_sql, expected", [
    ("SELECT 5 / 2, -7 / 2, 5.0 / 2, 5 / 2e0", (2, -3, 2.5, 2.5)),
    ("SELECT b / p, sum(b) / count(*), b / 4.0, avg(b) / 2, CAST(b AS double) / p FROM t GROUP BY b, p",
     (3, 7, 1.75, 3.5, 3.5)),
    ("WITH x AS (SELECT b AS total, p AS n FROM t) SELECT total / n FROM x", (3,)),
])
def test_integer_division_truncates_like_trino(duck, trino_sql, expected):
    duck.execute("CREATE OR REPLACE TABLE t AS SELECT 7::BIGINT AS b, 2::INTEGER AS p")
    sql = dialect.to_duckdb(sqlglot.parse_one(trino_sql, read="athena"), {"t": {"b": "bigint", "p": "int"}})
    assert duck.execute(sql).fetchall() == [expected]


def test_text_becomes_an_integer_only_if_it_is_digits_like_trino(duck):
    assert _run(duck, "SELECT CAST('12' AS INT), CAST('-7' AS SMALLINT), TRY_CAST('+5' AS BIGINT), TRY_CAST('1.5' AS INT), "
                      "TRY_CAST(' 12' AS BIGINT), TRY_CAST('1e3' AS INT), TRY_CAST('300' AS TINYINT), "
                      "CAST(CAST(NULL AS VARCHAR) AS INT), CAST(1.5 AS INT)") == [(12, -7, 5, None, None, None, None, None, 2)]
    for sql, message in [("CAST('1.5' AS INT)", "Cannot cast '1.5' to INT"),
                         ("CAST('99999999999' AS INTEGER)", "Cannot cast '99999999999' to INT"),
                         ("CAST('-' AS BIGINT)", "Cannot cast '-' to BIGINT")]:
        with pytest.raises(duckdb.InvalidInputException, match=f"{message}$"):
            _run(duck, f"SELECT {sql}")


@pytest.mark.parametrize("joda, strftime", [
    ("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%M:%S"), ("yyyy/MM/dd", "%Y/%m/%d"), ("yy-M-d H:m:s", "%y-%-m-%-d %-H:%-M:%-S"),
    ("EEE, dd MMM yyyy hh:mm a", "%a, %d %b %Y %I:%M %p"), ("EEEE MMMM", "%A %B"), ("HH:mm:ss.SSS", "%H:%M:%S.%g"),
    ("yyyy-MM-dd'T'HH:mm", "%Y-%m-%dT%H:%M"), ("''yy'' 100%", "'%y' 100%%"),
])
def test_joda_patterns_become_strftime_codes(joda, strftime):
    assert dialect.joda_to_strftime(joda) == strftime


def test_format_and_parse_datetime_like_trino(duck):
    assert _run(duck, "SELECT format_datetime(from_unixtime(1418530010), 'EEE dd MMM yyyy HH:mm:ss.SSS'), "
                      "format_datetime(parse_datetime('2014/12/14 04:06', 'yyyy/MM/dd HH:mm'), 'h:mm a')") == [
        ("Sun 14 Dec 2014 04:06:50.000", "4:06 AM")]
    with pytest.raises(dialect.UnsupportedSql, match="'ww'"):
        _run(duck, "SELECT format_datetime(from_unixtime(0), 'ww')")


def test_unaliased_expressions_are_named_like_trino(duck):
    result = duck.execute(dialect.to_duckdb(sqlglot.parse_one(
        "SELECT SrcAddr, count(*), sum(x) AS Total FROM (SELECT 'a' AS srcaddr, 1 AS x) GROUP BY srcaddr",
        read="athena")))
    assert [d[0] for d in result.description] == ["srcaddr", "_col1", "total"]


@pytest.mark.parametrize("value, text", [
    (2.5, "2.5"), (20.0, "20.0"), (1e7, "1.0E7"), (12345678.9, "1.23456789E7"), (0.00015, "1.5E-4"), (0.0, "0.0"),
    (True, "true"), (date(2020, 5, 4), "2020-05-04"), (datetime(2014, 12, 14, 4, 6, 50), "2014-12-14 04:06:50.000"),
    (datetime(2014, 12, 14, 4, 6, 50, tzinfo=timezone.utc), "2014-12-14 04:06:50.000 UTC"),
    (["10.0.0.1", None], "[10.0.0.1, null]"), ({"a": 1}, "{a=1}"), (None, None),
])
def test_values_print_as_athena_prints_them(value, text):
    assert value_text(value) == text


def test_java_double_matches_java_for_small_and_negative_numbers():
    assert java_double(-3.25) == "-3.25" and java_double(0.001) == "0.001"


def test_csv_quotes_values_and_leaves_null_empty():
    body = csv_text([ResultColumn.varchar("a"), ResultColumn("n", "bigint")], [['x"y', "1"], [None, None]])
    assert body == b'"a","n"\n"x""y","1"\n,\n'
