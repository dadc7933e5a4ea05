"""What AWS does when a flow log is created (EC2 CreateFlowLogs), beyond storing it.

- The LogFormat is checked: AWS refuses an unknown field (InvalidParameter) and creates nothing.
- An S3 destination may name a folder of the bucket (`arn:aws:s3:::bucket/folder/`).
- To an S3 bucket: AWS adds the log-delivery statements to the bucket policy (creating the policy
  if the bucket had none), so that `delivery.logs.amazonaws.com` may write the files.
- To CloudWatch Logs: delivery runs as the IAM role in `DeliverLogsPermissionArn`; when the role
  does not exist or does not trust `vpc-flow-logs.amazonaws.com`, the flow log reports
  DeliverLogsStatus FAILED with the error message "Access error". A log group that does not exist
  yet is not an error: AWS creates it when the first records are delivered.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from moto.ec2.exceptions import EC2ClientError
from moto.iam.exceptions import NotFoundException

from .. import backends
from ..wire import AwsCall, Response
from .policies import merged_log_delivery_policy, trusts_flow_logs
from .records import FlowLogFormatError, parse_log_format
from .s3_files import DeliveryOptions, S3Destination

ACCESS_ERROR = "Access error"


# --- moto's CreateFlowLogs ----------------------------------------------------------------------

def create_flow_logs_as_aws_does(original: Any) -> Any:
    """AWS refuses a LogFormat with an unknown field (InvalidParameter) and creates nothing; moto
    stores any text. AWS accepts `arn:aws:s3:::bucket/folder/` as an S3 destination; moto looks for a
    bucket named `bucket/folder/` and reports it missing: the bucket alone is checked, the folder kept."""
    def create_flow_logs(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            parse_log_format(kwargs.get("log_format"))
        except FlowLogFormatError as error:
            raise EC2ClientError(error.code, error.message) from None
        destination = kwargs.get("log_destination")
        if kwargs.get("log_destination_type") != "s3" or not destination or "/" not in destination:
            return original(self, *args, **kwargs)
        bucket_arn = S3Destination.from_arn(destination).bucket_arn
        flow_logs, unsuccessful = original(self, *args, **{**kwargs, "log_destination": bucket_arn})
        for flow_log in flow_logs:
            flow_log.log_destination = destination
        return flow_logs, unsuccessful
    return create_flow_logs


# --- after CreateFlowLogs -----------------------------------------------------------------------

def on_create_flow_logs(call: AwsCall, response: Response) -> None:
    ec2 = backends.ec2(call.account_id, call.region)
    for flow_log_id in _created_ids(response.body):
        flow_log = ec2.flow_logs[flow_log_id]
        if flow_log.log_destination_type == "s3":
            options = DeliveryOptions.from_api(call.params.get("DestinationOptions"))
            flow_log.destination_options = options.as_api()  # DescribeFlowLogs reports them, defaults filled in
            add_log_delivery_statements(call.account_id, call.region, S3Destination.from_arn(flow_log.log_destination),
                                        hive=options.hive_compatible_partitions)
        elif flow_log.log_destination_type == "cloud-watch-logs":
            error = delivery_role_error(call.account_id, flow_log.deliver_logs_permission_arn)
            flow_log.deliver_logs_status = "FAILED" if error else "SUCCESS"
            flow_log.deliver_logs_error_message = error


def _created_ids(body: bytes) -> list[str]:
    root = ElementTree.fromstring(body)
    return [item.text for item in root.iter() if item.tag.endswith("item") and item.text
            and item.text.startswith("fl-")]


def add_log_delivery_statements(account_id: str, region: str, destination: S3Destination, hive: bool = False) -> None:
    s3 = backends.s3(account_id)
    current = s3.get_bucket_policy(destination.bucket)
    policy = merged_log_delivery_policy(
        json.loads(current) if current else None, destination.bucket, destination.prefix, account_id, region, hive
    )
    s3.put_bucket_policy(destination.bucket, json.dumps(policy).encode())


def delivery_role_error(account_id: str, role_arn: str | None) -> str | None:
    """The DeliverLogsErrorMessage AWS reports for this delivery role, or None if delivery may run."""
    if not role_arn:
        return ACCESS_ERROR
    try:
        role = backends.iam(account_id).get_role_by_arn(role_arn)
    except NotFoundException:
        return ACCESS_ERROR
    trust = json.loads(role.assume_role_policy_document or "{}")
    return None if trusts_flow_logs(trust) else ACCESS_ERROR
