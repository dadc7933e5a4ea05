"""Athena API calls beyond queries that clients send: the tags of work groups and data catalogs (what
Terraform's aws_athena_workgroup reads back on every refresh) and GetQueryRuntimeStatistics
(docs/aws-behaviour.md, "Athena API")."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

ARN = "arn:aws:athena:us-east-1:123456789012:{kind}/{name}"


@pytest.fixture
def athena(clients):
    return clients("athena")


def test_work_group_tags_are_kept_changed_and_listed(athena):
    athena.create_work_group(Name="tagged", Tags=[{"Key": "team", "Value": "blue"}])
    arn = ARN.format(kind="workgroup", name="tagged")
    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "blue"}]
    athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "red"}, {"Key": "env", "Value": "lab"}])
    assert sorted(map(tuple, (t.values() for t in athena.list_tags_for_resource(ResourceARN=arn)["Tags"]))) == [
        ("env", "lab"), ("team", "red")]
    athena.untag_resource(ResourceARN=arn, TagKeys=["team", "env"])
    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == []  # untagged, it still exists
    athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "green"}])
    athena.delete_work_group(WorkGroup="tagged")
    athena.create_work_group(Name="tagged")
    assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == []  # a new one of the same name starts bare


def test_the_primary_work_group_and_the_data_catalogs_take_tags(athena):
    primary = ARN.format(kind="workgroup", name="primary")
    assert athena.list_tags_for_resource(ResourceARN=primary)["Tags"] == []
    athena.create_data_catalog(Name="hive_elsewhere", Type="GLUE", Parameters={"catalog-id": "210987654321"})
    for arn in (primary, ARN.format(kind="datacatalog", name="hive_elsewhere")):
        athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "owner", "Value": "lab"}])
        assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "owner", "Value": "lab"}]


@pytest.mark.parametrize("arn", [ARN.format(kind="workgroup", name="nope"),
                                 ARN.format(kind="datacatalog", name="nope"),
                                 "arn:aws:athena:eu-west-1:123456789012:workgroup/primary",  # another region's
                                 "arn:aws:athena:us-east-1:999999999999:workgroup/primary"])  # another account's
def test_tags_of_what_does_not_exist_here_are_refused_and_stored_nowhere(athena, arn):
    for call in (lambda: athena.list_tags_for_resource(ResourceARN=arn),
                 lambda: athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}]),
                 lambda: athena.untag_resource(ResourceARN=arn, TagKeys=["k"])):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    if arn.endswith("workgroup/nope"):  # the refused TagResource left nothing for a work group made later
        athena.create_work_group(Name="nope")
        assert athena.list_tags_for_resource(ResourceARN=arn)["Tags"] == []


def test_query_runtime_statistics(clients, athena):
    clients("s3").create_bucket(Bucket="runtime-results")
    execution = athena.start_query_execution(QueryString="SELECT x FROM UNNEST(sequence(1, 5)) AS t(x)",
                                             ResultConfiguration={"OutputLocation": "s3://runtime-results/"})
    execution_id = execution["QueryExecutionId"]
    while athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]["State"] in (
            "QUEUED", "RUNNING"):
        time.sleep(0.02)
    statistics = athena.get_query_runtime_statistics(QueryExecutionId=execution_id)["QueryRuntimeStatistics"]
    timeline = statistics["Timeline"]
    assert timeline["TotalExecutionTimeInMillis"] >= timeline["EngineExecutionTimeInMillis"] >= 0
    result = clients("s3").get_object(Bucket="runtime-results", Key=f"{execution_id}.csv")["Body"].read()
    assert statistics["Rows"] == {"InputBytes": 0, "OutputBytes": len(result), "OutputRows": 5}
    with pytest.raises(ClientError, match="QueryExecution nope was not found"):
        athena.get_query_runtime_statistics(QueryExecutionId="nope")
