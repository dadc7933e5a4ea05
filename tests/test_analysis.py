"""Part 4 through the local cloud: Logs Insights and Athena answer the lab's questions like an
independent computation over the records read back with labkit.records; the Athena resources are
created once, tagged, and removed by teardown; the plots draw what they are given."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from labkit import analysis, plots, records, teardown, traffic  # noqa: E402
from labkit.config import ConfigError, LabConfig  # noqa: E402
from labkit.session import connect  # noqa: E402

from .labs import provision_part2  # noqa: E402

TABLE = """CREATE EXTERNAL TABLE IF NOT EXISTS `vpc_flow_logs` (
  version int, account_id string, interface_id string, srcaddr string, dstaddr string, srcport int, dstport int,
  protocol bigint, packets bigint, bytes bigint, start bigint, `end` bigint, action string, log_status string)
PARTITIONED BY (`date` date) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
LOCATION '{location}' TBLPROPERTIES ("skip.header.line.count"="1")"""


@pytest.fixture(scope="module")
def lab(local_cloud):
    """Parts 1 and 2 (the server, with one rejected SSH attempt) and the local target's noise."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
        patch.setenv("LABKIT_HOME", str(local_cloud.home))
        lab = connect(LabConfig.resolve(run_id="part4"))
        part2 = provision_part2(lab)
        server = part2.server
        # a web server, as in notebook 04
        traffic.replace_security_groups(lab, server.instance_id, [part2.ssh_group, part2.http_group])
        traffic.attempt_connection(lab, server, 22, source="198.51.100.9")  # not allowed: REJECT
        assert analysis.ensure_internet_noise(lab, server)["generated"] == analysis.NOISE_RECORDS
        yield lab


@pytest.fixture(autouse=True)
def endpoint(local_env):
    return local_env


@pytest.fixture(scope="module")
def s3_records(lab):
    return records.read_s3_records(lab, lab.bucket)


@pytest.fixture(scope="module")
def athena(lab):
    work_group = analysis.ensure_work_group(lab, lab.config.work_group_name, Configuration={
        "ResultConfiguration": {"OutputLocation": analysis.results_location(lab)},
        "EnforceWorkGroupConfiguration": True, "BytesScannedCutoffPerQuery": 1_000_000_000})
    database = analysis.ensure_database(lab, lab.config.database_name)
    connection = analysis.athena_connection(lab, work_group, database)
    location = f"s3://{lab.bucket}/AWSLogs/{lab.account_id}/vpcflowlogs/{lab.region}/"
    assert analysis.ensure_table(lab, connection, database, "vpc_flow_logs", TABLE.format(location=location))
    for day in analysis.flow_log_days(lab, lab.bucket):
        analysis.execute(connection, f"ALTER TABLE vpc_flow_logs ADD IF NOT EXISTS PARTITION (`date`='{day}') "
                                     f"LOCATION '{location}{day:%Y/%m/%d}'")
    return connection


def _top(counts: pd.Series, n: int) -> list[tuple[int, str]]:
    return sorted(((int(c), a) for a, c in counts.items()), key=lambda item: (-item[0], item[1]))[:n]


def test_noise_is_delivered_once_to_both_destinations(lab, s3_records):
    server = traffic.find_part2(lab).server
    assert analysis.ensure_internet_noise(lab, server) is None
    assert len(records.read_s3_records(lab, lab.bucket)) == len(s3_records)
    noise = s3_records[s3_records["srcaddr"] != "198.51.100.9"]  # all but the learner-side attempt
    assert 0 < len(noise) < analysis.NOISE_RECORDS  # replies to refused web requests are never sent
    assert len(records.read_log_events(lab, lab.config.log_group)) == len(s3_records)


def test_insights_top_20_rejected_sources_match_the_log_events(lab):
    frame = analysis.insights_query(
        lab, 'filter action="REJECT" | stats count(*) as numRejections by srcAddr | sort numRejections desc | limit 20')
    events = records.read_log_events(lab, lab.config.log_group)
    expected = _top(events[events["action"] == "REJECT"]["srcaddr"].value_counts(), 20)
    assert list(frame.columns) == ["srcAddr", "numRejections"]
    assert str(frame["numRejections"].dtype) == "Int64"
    assert sorted(zip(frame["numRejections"], frame["srcAddr"]), key=lambda i: (-i[0], i[1])) == expected
    assert frame.attrs["statistics"]["recordsMatched"] == (events["action"] == "REJECT").sum()


def test_insights_bytes_from_inside_the_vpc(lab, s3_records):
    frame = analysis.insights_query(lab, 'filter isIpv4InSubnet(srcAddr, "10.0.0.0/16") '
                                         '| stats sum(bytes) as bytesTransferred by dstAddr '
                                         '| sort bytesTransferred desc | limit 15')
    inside = s3_records[s3_records["srcaddr"].str.startswith("10.0.")]
    expected = _top(inside.groupby("dstaddr")["bytes"].sum(), 15)
    assert list(zip(frame["bytesTransferred"], frame["dstAddr"])) == expected


def test_insights_frame_types_columns_and_drops_pointers():
    frame = analysis.insights_frame([
        [{"field": "bin(1h)", "value": "2024-05-01 10:00:00.000"}, {"field": "avg(bytes)", "value": "12.5"},
         {"field": "count(*)", "value": "3"}, {"field": "srcAddr", "value": "10.0.1.4"}, {"field": "@ptr", "value": "x"}],
        [{"field": "bin(1h)", "value": "2024-05-01 11:00:00.000"}, {"field": "avg(bytes)", "value": "7"},
         {"field": "count(*)", "value": "1"}, {"field": "srcAddr", "value": "-"}, {"field": "@ptr", "value": "y"}],
    ])
    assert list(frame.columns) == ["bin(1h)", "avg(bytes)", "count(*)", "srcAddr"]
    assert frame["bin(1h)"].iloc[1] == pd.Timestamp("2024-05-01 11:00", tz="UTC")
    assert list(frame["avg(bytes)"]) == [12.5, 7.0] and str(frame["count(*)"].dtype) == "Int64"
    assert list(frame["srcAddr"]) == ["10.0.1.4", "-"]
    assert analysis.insights_frame([]).empty


def test_athena_answers_like_the_s3_records(athena, s3_records):
    top = analysis.query(athena, "SELECT srcaddr, count(*) AS rejects FROM vpc_flow_logs WHERE action = 'REJECT' "
                                 "GROUP BY srcaddr ORDER BY rejects DESC, srcaddr LIMIT 20")
    expected = _top(s3_records[s3_records["action"] == "REJECT"]["srcaddr"].value_counts(), 20)
    assert list(zip(top["rejects"], top["srcaddr"])) == expected
    by_action = analysis.query(athena, "SELECT action, count(*) AS n, sum(bytes) AS bytes FROM vpc_flow_logs "
                                       "GROUP BY action ORDER BY action")
    grouped = s3_records.groupby("action").agg(n=("action", "size"), bytes=("bytes", "sum"))
    assert list(by_action["n"]) == list(grouped["n"])
    assert [0 if pd.isna(b) else b for b in by_action["bytes"]] == list(grouped["bytes"])


def test_walkthrough_query_returns_typed_rejected_tcp(athena):
    frame = analysis.query(athena, "SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol "
                                   "FROM vpc_flow_logs WHERE action = 'REJECT' AND protocol = 6 LIMIT 100;")
    assert len(frame) == 100 and set(frame["action"]) == {"REJECT"}
    assert (frame["day"] == frame["date"].dt.day_of_week + 1).all()


def test_setup_is_idempotent_tagged_and_refuses_foreign_names(lab, athena):
    name = lab.config.work_group_name
    assert analysis.ensure_work_group(lab, name) == name
    assert analysis.ensure_database(lab, lab.config.database_name) == "aerosecure_flow_logs"
    assert not analysis.ensure_table(lab, athena, "aerosecure_flow_logs", "vpc_flow_logs", "not run")
    group = lab.client("athena").get_work_group(WorkGroup=name)["WorkGroup"]
    assert group["Configuration"]["BytesScannedCutoffPerQuery"] == 1_000_000_000
    lab.client("athena").create_work_group(Name="someone-elses", Tags=[{"Key": "team", "Value": "x"}])
    with pytest.raises(ConfigError, match="not this lab run's"):
        analysis.ensure_work_group(lab, "someone-elses")
    columns = analysis.table_columns(lab, "aerosecure_flow_logs", "vpc_flow_logs")
    assert list(columns[columns["partition key"]]["column"]) == ["date"]


def test_plots_draw_the_frames():
    hours = pd.DataFrame({"hour": [0, 0, 23], "dstport": [22, 23, 22], "rejects": [5, 2, 7]})
    heat = plots.port_by_hour_heatmap(hours, "hour", "dstport", "rejects")
    assert heat.images[0].get_array().shape == (2, 24)
    assert heat.images[0].get_array()[0, 23] == 7
    talkers = plots.top_talkers(pd.DataFrame({"srcaddr": ["a", "b"], "bytes": [10, 1000]}), "srcaddr", "bytes")
    assert [t.get_text() for t in talkers.get_yticklabels()] == ["a", "b"]  # biggest at the top
    times = pd.DataFrame({"bucket": pd.date_range("2024-05-01", periods=3, freq="10min", tz="UTC"), "n": [1, 2, 3]})
    assert len(plots.rejects_over_time(times, "bucket", "n", bucket_minutes=10).patches) == 3


def test_teardown_never_removes_the_accounts_default_database(lab, athena):
    """Not even one that carries the lab's tags, for a lab told to use it: it is every account's, and
    so are the tables others keep in it."""
    glue = lab.client("glue")
    glue.create_table(DatabaseName="default", TableInput={"Name": "someone_elses", "StorageDescriptor": {
        "Columns": [{"Name": "a", "Type": "string"}], "Location": f"s3://{lab.bucket}/elsewhere/"}})
    glue.tag_resource(ResourceArn=analysis.database_arn(lab, "default"), TagsToAdd=lab.config.tags)
    in_default = connect(dataclasses.replace(lab.config, database_base="default"))
    assert teardown.teardown(in_default, [teardown.AthenaTables(), teardown.GlueDatabases()]) == []
    assert glue.get_table(DatabaseName="default", Name="someone_elses")["Table"]["Name"] == "someone_elses"
    glue.delete_table(DatabaseName="default", Name="someone_elses")


def test_teardown_removes_the_athena_resources_last_test(lab, athena):
    removals = teardown.teardown(lab)
    kinds = [r.kind for r in removals]
    assert kinds.count("Athena table") == 1 and "Glue database" in kinds and "Athena work group" in kinds
    assert kinds.index("Athena query results") < kinds.index("S3 bucket")
    assert all(r.status == "removed" for r in removals), removals
    assert teardown.remaining(lab) == {}
    names = [g["Name"] for g in lab.client("athena").list_work_groups()["WorkGroups"]]
    assert "someone-elses" in names and lab.config.work_group_name not in names
