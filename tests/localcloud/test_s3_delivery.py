import gzip
import io
import zlib
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labkit.localcloud.flowlogs.background import NetworkInterface, generate_background_traffic
from labkit.localcloud.flowlogs.records import FlowRecord, LogFormat, format_lines, format_record, records_to_table
from labkit.localcloud.flowlogs.s3_files import (
    DeliveryOptions,
    S3Destination,
    S3FlowLog,
    S3FlowLogWriter,
    deliver_to_s3,
    object_key,
    window_start,
)
from labkit.localcloud.flowlogs.log_events import log_events, log_stream_name

ACCOUNT, REGION, FLOW_LOG_ID = "123456789012", "us-east-1", "fl-1234abcd"
T_1620 = int(datetime(2018, 6, 20, 16, 20, tzinfo=timezone.utc).timestamp())
ENIS = [NetworkInterface(f"eni-0{i}aaaaaaaaaaaaaaa", f"10.0.0.{i + 10}", ACCOUNT, "vpc-0abc", "subnet-0abc",
                         f"i-0{i}bbbbbbbbbbbbbbb", REGION, "use1-az1") for i in range(3)]


def flow_log(prefix="", file_format="plain-text", hive=False, hourly=False, log_format=LogFormat()):
    return S3FlowLog(FLOW_LOG_ID, ACCOUNT, REGION, S3Destination("flow-log-bucket", prefix), log_format,
                     DeliveryOptions(file_format, hive, hourly))


def record(start, end, eni="eni-1235b8ca123456789", srcport=20641):
    return FlowRecord(account_id=ACCOUNT, interface_id=eni, srcaddr="203.0.113.12", dstaddr="172.31.16.139",
                      srcport=srcport, dstport=22, protocol=6, packets=1, bytes=44, start=start, end=end,
                      action="REJECT")


class Bucket(dict):
    """A sink that keeps every object, refusing to overwrite one."""

    def __call__(self, key, body):
        assert key not in self, f"object written twice: {key}"
        self[key] = body


def text_lines(body: bytes) -> list[str]:
    return gzip.decompress(body).decode().splitlines()


@pytest.mark.parametrize("arn, bucket, prefix", [
    ("arn:aws:s3:::flow-log-bucket", "flow-log-bucket", ""),
    ("arn:aws:s3:::flow-log-bucket/", "flow-log-bucket", ""),
    ("arn:aws:s3:::flow-log-bucket/custom-flow-logs/", "flow-log-bucket", "custom-flow-logs/"),
    ("arn:aws:s3:::flow-log-bucket/a/b", "flow-log-bucket", "a/b/"),
])
def test_destination_from_arn(arn, bucket, prefix):
    assert S3Destination.from_arn(arn) == S3Destination(bucket, prefix)


def test_destination_must_be_an_s3_arn():
    with pytest.raises(ValueError):
        S3Destination.from_arn("arn:aws:logs:us-east-1:123456789012:log-group:x")


@pytest.mark.parametrize("prefix, hive, hourly, expected_folder", [
    ("", False, False, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/"),
    ("", False, True, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/"),
    ("", True, False, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
                      "year=2018/month=06/day=20/"),
    ("", True, True, "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
                     "year=2018/month=06/day=20/hour=16/"),
    ("custom/", False, False, "custom/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/"),
    ("custom/", True, True, "custom/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/"
                            "aws-region=us-east-1/year=2018/month=06/day=20/hour=16/"),
])
def test_object_key_layouts(prefix, hive, hourly, expected_folder):
    key = object_key(flow_log(prefix, hive=hive, hourly=hourly), T_1620, "fe123456")
    # The file name is the doc's example.
    assert key == expected_folder + "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"


def test_parquet_files_end_in_log_parquet():
    key = object_key(flow_log(file_format="parquet"), T_1620, "fe123456")
    assert key.endswith("_20180620T1620Z_fe123456.log.parquet")


def test_delivery_options_from_the_api_structure():
    assert DeliveryOptions.from_api(None) == DeliveryOptions("plain-text", False, False)
    assert DeliveryOptions.from_api({"FileFormat": "parquet", "HiveCompatiblePartitions": True,
                                     "PerHourPartition": True}) == DeliveryOptions("parquet", True, True)


def test_file_window_is_the_five_minutes_holding_end():
    assert window_start(T_1620) == T_1620
    assert window_start(T_1620 + 299) == T_1620  # 16:24:59
    assert window_start(T_1620 + 300) == T_1620 + 300


def test_records_go_to_the_file_of_the_window_their_end_falls_in():
    records = [record(T_1620 - 50, T_1620, srcport=1),  # starts in the earlier window: end decides
               record(T_1620 + 200, T_1620 + 299, srcport=2),
               record(T_1620 + 250, T_1620 + 300, srcport=3)]
    bucket = Bucket()

    deliver_to_s3(flow_log(), [records_to_table(records)], bucket)

    by_stamp = {key.split("_")[-2]: text_lines(body) for key, body in bucket.items()}
    header = LogFormat().header
    assert by_stamp == {
        "20180620T1620Z": [header, format_record(records[0], LogFormat()), format_record(records[1], LogFormat())],
        "20180620T1625Z": [header, format_record(records[2], LogFormat())],
    }


def test_text_file_is_a_single_gzip_member_with_the_header_first():
    bucket = Bucket()
    deliver_to_s3(flow_log(), [records_to_table([record(T_1620, T_1620 + 5)])], bucket)

    (body,) = bucket.values()
    member = zlib.decompressobj(wbits=31)
    text = member.decompress(body)
    assert member.eof and member.unused_data == b""
    assert text.decode().splitlines()[0] == ("version account-id interface-id srcaddr dstaddr srcport dstport"
                                             " protocol packets bytes start end action log-status")


def test_every_generated_record_is_delivered_exactly_once():
    start = T_1620 + 17  # capture windows not aligned with file windows
    batches = list(generate_background_traffic(ENIS, seed=7, start=start, records=20_000,
                                               aggregation_interval=60, batch_rows=3_000))
    given = sorted(line for t in batches for line in format_lines(t, LogFormat()).decode().splitlines())
    bucket = Bucket()

    report = deliver_to_s3(flow_log(), batches, bucket)

    delivered = sorted(line for body in bucket.values() for line in text_lines(body)[1:])
    assert report.records == len(given) == 20_000
    assert delivered == given
    assert report.files == len(bucket) == len({k.split("_")[-2] for k in bucket})  # one file per window
    assert report.bytes == sum(map(len, bucket.values()))


def test_out_of_order_batches_are_still_delivered_whole():
    late = records_to_table([record(T_1620 + 10, T_1620 + 20, srcport=1)])
    early_and_later = records_to_table([record(T_1620 + 610, T_1620 + 620, srcport=2),
                                        record(T_1620 + 11, T_1620 + 21, srcport=3)])
    bucket = Bucket()

    report = deliver_to_s3(flow_log(), [early_and_later, late], bucket)

    assert report.records == 3
    assert sum(len(text_lines(body)) - 1 for body in bucket.values()) == 3


def test_a_full_window_is_split_into_files_that_each_start_with_the_header():
    table = records_to_table([record(T_1620 + i % 200, T_1620 + 200, srcport=i) for i in range(1000)])
    bucket = Bucket()

    report = deliver_to_s3(flow_log(), [table], bucket, max_file_bytes=20_000)

    assert report.files > 1
    texts = [gzip.decompress(body) for body in bucket.values()]
    assert all(len(text) <= 20_000 and text.startswith(LogFormat().header.encode() + b"\n") for text in texts)
    assert sorted(line for body in bucket.values() for line in text_lines(body)[1:]) == \
        sorted(format_lines(table, LogFormat()).decode().splitlines())


def test_parquet_delivery_writes_readable_files_per_window():
    records = [record(T_1620, T_1620 + 1), record(T_1620 + 300, T_1620 + 301)]
    bucket = Bucket()

    deliver_to_s3(flow_log(file_format="parquet", hive=True), [records_to_table(records)], bucket)

    assert len(bucket) == 2 and all(key.endswith(".log.parquet") for key in bucket)
    tables = [pq.read_table(io.BytesIO(body)) for body in bucket.values()]
    assert sum(t.num_rows for t in tables) == 2
    assert tables[0].column_names == list(LogFormat().columns)


def test_file_hashes_differ_between_deliveries_and_repeat_for_a_given_salt():
    table = records_to_table([record(T_1620, T_1620 + 1)])

    def keys(salt=None):
        bucket = Bucket()
        deliver_to_s3(flow_log(), [table], bucket, salt=salt)
        return list(bucket)

    assert keys() != keys()
    assert keys("fixed") == keys("fixed")
    (key,) = keys()
    assert len(key.split("_")[-1]) == len("fe123456.log.gz")


def test_writer_holds_a_window_until_the_input_moves_past_it():
    bucket = Bucket()
    writer = S3FlowLogWriter(flow_log(), bucket)

    writer.add(records_to_table([record(T_1620, T_1620 + 1)]))
    assert not bucket
    writer.add(records_to_table([record(T_1620 + 2, T_1620 + 3)]))
    assert not bucket
    writer.add(records_to_table([record(T_1620 + 300, T_1620 + 301)]))
    assert len(bucket) == 1 and len(text_lines(next(iter(bucket.values())))) == 3
    assert writer.flush().records == 3 and len(bucket) == 2


def test_records_without_end_cannot_be_placed():
    table = pa.table({"interface_id": ["eni-1"], "end": pa.array([None], pa.int64())})
    with pytest.raises(ValueError, match="end"):
        deliver_to_s3(flow_log(), [table], Bucket())


def test_cloudwatch_logs_events_per_eni_without_header():
    records = [record(T_1620 + 30, T_1620 + 40, eni="eni-b"), record(T_1620 + 10, T_1620 + 20, eni="eni-a"),
               record(T_1620 + 5, T_1620 + 6, eni="eni-b"),
               FlowRecord.no_data(ACCOUNT, "eni-a", T_1620 + 60, T_1620 + 119)]

    streams = log_events(records_to_table(records), LogFormat())

    assert log_stream_name("eni-0c19436730cc350ae") == "eni-0c19436730cc350ae-all"
    assert set(streams) == {"eni-a-all", "eni-b-all"}
    assert streams["eni-b-all"] == [
        {"timestamp": (T_1620 + 5) * 1000, "message": format_record(records[2], LogFormat())},
        {"timestamp": (T_1620 + 30) * 1000, "message": format_record(records[0], LogFormat())},
    ]
    assert [e["message"].split(" ")[-1] for e in streams["eni-a-all"]] == ["OK", "NODATA"]


def test_delivered_files_read_back_with_duckdb(tmp_path):
    import duckdb

    def write_file(key, body):
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)

    batches = list(generate_background_traffic(ENIS, seed=5, start=T_1620, records=3_000))
    deliver_to_s3(flow_log(prefix="text/"), batches, write_file)
    deliver_to_s3(flow_log(prefix="parquet/", file_format="parquet", hive=True, hourly=True), batches, write_file)

    db = duckdb.connect()
    text = db.execute(f"SELECT * FROM read_csv('{tmp_path}/text/**/*.log.gz', delim=' ', header=true,"
                      " all_varchar=true)")
    assert [column[0] for column in text.description] == list(LogFormat().fields)
    assert len(text.fetchall()) == 3_000
    parquet = db.execute(f"SELECT count(*), min(\"aws-account-id\"), min(hour) FROM read_parquet("
                         f"'{tmp_path}/parquet/**/*.log.parquet', hive_partitioning=true, hive_types_autocast=false)")
    assert parquet.fetchone() == (3_000, ACCOUNT, "16")
