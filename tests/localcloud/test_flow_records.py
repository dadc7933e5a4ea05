import dataclasses
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labkit.localcloud.flowlogs.records import (
    DEFAULT_LOG_FORMAT_TEXT,
    FIELD_CATALOG,
    INT32,
    INT64,
    RECORD_SCHEMA,
    FlowLogFormatError,
    FlowRecord,
    LogFormat,
    format_lines,
    format_record,
    parse_log_format,
    records_to_table,
    to_parquet,
)

# Example records from the VPC user guide (docs/aws-behaviour.md, "Example records"), each with the format
# it was written in.
DOC_V2_RECORDS = [
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
    "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
    "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK",
    "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071"
    " 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
]
DOC_V3_FORMAT = ("${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr}"
                 " ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets}"
                 " ${start} ${end} ${action} ${tcp-flags} ${log-status}")
DOC_V3_RECORDS = [
    "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4"
    " 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
    "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4"
    " 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK",
]
DOC_V5_FORMAT = ("${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type}"
                 " ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region}"
                 " ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr}"
                 " ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}")
DOC_V5_RECORDS = [
    "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678"
    " subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19"
    " 52.95.128.179 10.0.0.71 S3 - - ingress OK",
    "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678"
    " subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3"
    " 10.0.0.71 52.95.128.179 - S3 8 egress OK",
]


def record_from_line(log_format: LogFormat, line: str) -> FlowRecord:
    """Read a doc record into a FlowRecord, the way a flow-log reader would."""
    values = {}
    for spec, text in zip(log_format.specs, line.split(" "), strict=True):
        if spec.name != "version" and text != "-":
            values[spec.column] = int(text) if spec.arrow_type in (INT32, INT64) else text
    return FlowRecord(**values)


@pytest.mark.parametrize("format_text, lines", [
    (DEFAULT_LOG_FORMAT_TEXT, DOC_V2_RECORDS),
    (DOC_V3_FORMAT, DOC_V3_RECORDS),
    (DOC_V5_FORMAT, DOC_V5_RECORDS),
], ids=["v2-default", "v3-tcp-flags", "v5"])
def test_doc_example_records_are_reproduced_exactly(format_text, lines):
    log_format = parse_log_format(format_text)
    records = [record_from_line(log_format, line) for line in lines]

    assert [format_record(r, log_format) for r in records] == lines
    assert format_lines(records_to_table(records), log_format).decode() == "".join(f"{line}\n" for line in lines)


def test_a_record_built_by_hand_prints_like_the_doc():
    record = FlowRecord(account_id="123456789010", interface_id="eni-1235b8ca123456789", srcaddr="172.31.16.139",
                        dstaddr="172.31.16.21", srcport=20641, dstport=22, protocol=6, packets=20, bytes=4249,
                        start=1418530010, end=1418530070, action="ACCEPT")
    assert format_record(record, parse_log_format(None)) == DOC_V2_RECORDS[0]


def test_nodata_and_skipdata_rows_are_written_as_aws_writes_them():
    default = LogFormat()
    nodata = FlowRecord.no_data("123456789010", "eni-1235b8ca123456789", 1431280876, 1431280934)
    skipdata = FlowRecord.skip_data("123456789010", "eni-11111111aaaaaaaaa", 1431280876, 1431280934)

    assert format_record(nodata, default) == DOC_V2_RECORDS[2]
    assert format_record(skipdata, default) == DOC_V2_RECORDS[3]


def test_v4_fields_print_and_missing_sublocation_is_a_dash():
    log_format = parse_log_format("${version} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id}")
    record = FlowRecord(account_id="123456789012", interface_id="eni-1235b8ca123456789", start=1, end=2,
                        region="us-east-1", az_id="use1-az1")
    assert format_record(record, log_format) == "4 eni-1235b8ca123456789 us-east-1 use1-az1 - -"


@pytest.mark.parametrize("format_text, version", [
    (None, 2),
    ("${srcaddr} ${dstaddr}", 2),
    ("${version} ${srcaddr} ${tcp-flags}", 3),
    ("${az-id} ${srcaddr}", 4),
    ("${flow-direction} ${vpc-id}", 5),
    ("${tgw-id} ${srcaddr}", 6),
    ("${srcaddr} ${ecs-task-id}", 7),
    ("${reject-reason} ${version}", 8),
])
def test_version_is_the_highest_version_among_the_chosen_fields(format_text, version):
    assert parse_log_format(format_text).version == version


def test_the_version_field_prints_the_format_version():
    record = FlowRecord(account_id="1", interface_id="eni-1", start=1, end=2, tcp_flags=2)
    assert format_record(record, parse_log_format("${version} ${tcp-flags}")) == "3 2"


def test_later_fields_are_carried_as_opaque_strings():
    log_format = parse_log_format("${version} ${action} ${reject-reason} ${encryption-status}")
    record = FlowRecord(account_id="1", interface_id="eni-1", start=1, end=2, action="REJECT",
                        later_fields={"reject_reason": "BPA"})
    assert format_record(record, log_format) == "10 REJECT BPA -"


def test_header_keeps_hyphens_and_parquet_columns_use_underscores():
    log_format = parse_log_format("${version} ${account-id} ${log-status} ${pkt-src-aws-service}")

    assert log_format.header == "version account-id log-status pkt-src-aws-service"
    assert log_format.columns == ("version", "account_id", "log_status", "pkt_src_aws_service")
    assert parse_log_format(log_format.text) == log_format
    assert LogFormat().header == ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets"
                                  " bytes start end action log-status")


def test_unknown_field_is_rejected_with_the_create_flow_logs_error():
    with pytest.raises(FlowLogFormatError) as caught:
        parse_log_format("${version} ${srcaddr} ${source-port}")

    assert caught.value.code == "InvalidParameter"
    assert caught.value.message == ("1 validation error detected: Value '${version} ${srcaddr} ${source-port}'"
                                    " at 'logFormat' has an invalid format")
    assert caught.value.unknown_fields == ("source-port",)


@pytest.mark.parametrize("format_text", [
    "",
    "version srcaddr",
    "${version} ${srcaddr} ",  # the trailing space AWS rejected (aws-cloudformation/rain#288)
    "${version}  ${srcaddr}",
    "${version},${srcaddr}",
    "${Version}",
])
def test_malformed_formats_are_rejected(format_text):
    with pytest.raises(FlowLogFormatError, match="has an invalid format"):
        parse_log_format(format_text)


def test_the_typed_record_and_the_table_schema_name_the_same_fields():
    attributes = [f.name for f in dataclasses.fields(FlowRecord) if f.name != "later_fields"]
    assert sorted(attributes) == sorted(RECORD_SCHEMA.names)
    assert all(FIELD_CATALOG[name.replace("_", "-")].version <= 5 for name in attributes)


def test_parquet_has_underscore_columns_and_aws_physical_types():
    log_format = parse_log_format(DOC_V5_FORMAT)
    records = [record_from_line(log_format, line) for line in DOC_V5_RECORDS]
    records.append(FlowRecord.no_data("123456789012", "eni-1235b8ca123456789", 1616729292, 1616729349))

    parquet = pq.ParquetFile(io.BytesIO(to_parquet(records_to_table(records), log_format)))

    physical = {parquet.schema.column(i).name: parquet.schema.column(i).physical_type
                for i in range(len(parquet.schema))}
    assert list(physical) == list(log_format.columns)
    int32 = {"version", "srcport", "dstport", "protocol", "tcp_flags", "traffic_path"}
    int64 = {"packets", "bytes", "start", "end"}
    assert {name for name, kind in physical.items() if kind == "INT32"} == int32
    assert {name for name, kind in physical.items() if kind == "INT64"} == int64
    strings = [parquet.schema.column(i) for i in range(len(parquet.schema)) if parquet.schema.column(i).name
               not in int32 | int64]
    assert all(c.physical_type == "BYTE_ARRAY" and c.logical_type.type == "STRING" for c in strings)
    assert parquet.metadata.row_group(0).column(0).compression == "GZIP"

    table = parquet.read()
    assert table.column("version").to_pylist() == [5, 5, 5]
    assert table.column("traffic_path").to_pylist() == [None, 8, None]
    assert table.column("log_status").to_pylist() == ["OK", "OK", "NODATA"]
    assert table.column("srcaddr").to_pylist()[2] is None


def test_table_columns_missing_from_a_batch_print_as_dashes():
    table = pa.table({"account_id": ["123"], "interface_id": ["eni-1"], "start": [10], "end": [20]})
    assert format_lines(table, parse_log_format("${account-id} ${vpc-id} ${start} ${end} ${log-status}")) == \
        b"123 - 10 20 -\n"


def test_a_log_format_built_directly_is_checked_too():
    with pytest.raises(FlowLogFormatError) as caught:
        LogFormat(("version", "nope"))
    assert caught.value.unknown_fields == ("nope",)
    with pytest.raises(FlowLogFormatError):
        LogFormat(())
