"""What EC2 refuses when a flow log is created, described or deleted, checked before moto acts (each
check raises AWS's error, and nothing is made): destinations and their types, the aggregation interval,
resource ids of the wrong type, filters and flow log ids (docs/aws-behaviour.md, "Input validation";
tests/data/bad_inputs.jsonl). A LogFormat is checked where moto creates the flow log (`models`).
"""

from __future__ import annotations

import re

from ..wire import AwsCall, AwsError

AGGREGATION_INTERVALS = (60, 600)
# The id each ResourceType takes (TransitGatewayAttachment's is tgw-attach-, not tgw-).
RESOURCE_ID_PREFIXES = {"VPC": "vpc-", "Subnet": "subnet-", "NetworkInterface": "eni-", "TransitGateway": "tgw-",
                        "TransitGatewayAttachment": "tgw-attach-", "RegionalNatGateway": "nat-"}
DESCRIBE_FILTERS = ("deliver-log-status", "log-destination-type", "flow-log-id", "log-group-name", "resource-id",
                    "traffic-type", "tag-key")
_FLOW_LOG_ID = re.compile(r"fl-[0-9a-f]{8,17}")
_S3_ARN = re.compile(r"arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameter", message)


def create_flow_logs(call: AwsCall) -> None:
    params = call.params
    destination_type = params.get("LogDestinationType", "cloud-watch-logs")
    group, destination = params.get("LogGroupName"), params.get("LogDestination")
    if group and destination:
        raise _invalid("Please only provide LogGroupName or only provide LogDestination.")
    if not group and not destination:
        raise _invalid("LogDestination can't be empty if LogGroupName is not provided.")
    if group and destination_type != "cloud-watch-logs":
        raise _invalid("LogDestination type must be cloud-watch-logs if LogGroupName is provided.")
    if destination_type == "s3" and not _S3_ARN.fullmatch(destination or ""):
        raise _invalid(f"LogDestination: {destination} is not a valid S3 bucket ARN. Give the bucket's ARN "
                       f"(arn:aws:s3:::bucket-name), optionally with a folder (arn:aws:s3:::bucket-name/folder/).")
    if destination_type == "cloud-watch-logs" and not params.get("DeliverLogsPermissionArn"):
        raise _invalid("DeliverLogsPermissionArn can't be empty if LogDestinationType is cloud-watch-logs.")
    resource_type = params.get("ResourceType")
    interval = params.get("MaxAggregationInterval")
    if interval is not None and resource_type in ("TransitGateway", "TransitGatewayAttachment") and interval != 60:
        raise _invalid("max-aggregation-interval other than 60 sec / 1 min is not supported when the resource-type "
                       "is TransitGateway or TransitGatewayAttachment")
    if interval is not None and interval not in AGGREGATION_INTERVALS:
        raise _invalid("Invalid Flow Log Max Aggregation Interval.")
    prefix = RESOURCE_ID_PREFIXES.get(resource_type, "")
    for resource_id in params.get("ResourceIds") or []:
        wrong_kind = resource_type == "TransitGateway" and resource_id.startswith("tgw-attach-")
        if not resource_id.startswith(prefix) or wrong_kind:
            raise _invalid(f"Invalid Resource id {resource_id} for resource-type {resource_type}")


def describe_flow_logs(call: AwsCall) -> None:
    for name in (f.get("Name") for f in call.params.get("Filter") or []):
        if name not in DESCRIBE_FILTERS and not (name or "").startswith("tag:"):
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")


def delete_flow_logs(call: AwsCall) -> None:
    for flow_log_id in call.params.get("FlowLogIds") or []:
        if not _FLOW_LOG_ID.fullmatch(flow_log_id):
            raise AwsError("InvalidParameterValue", f"1 validation error detected: Value '{flow_log_id}' at "
                           f"'flowLogId' has an invalid format")


CHECKS = {
    "CreateFlowLogs": create_flow_logs,
    "DescribeFlowLogs": describe_flow_logs,
    "DeleteFlowLogs": delete_flow_logs,
}
