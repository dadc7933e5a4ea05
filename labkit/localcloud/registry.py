"""Everything the local cloud changes in moto, on one screen: the patches of moto's models and
responses, the hooks that run after moto answered, the handlers that answer instead of moto, and the
learner-side endpoints under /_labkit/. `tests/localcloud/test_moto_contract.py` checks that every
patched moto function still exists with the signature its patch expects (a patch without one adds what
moto lacks), and that the private parts of moto the local cloud uses are still there.
"""

from __future__ import annotations

import os

from moto.athena.models import AthenaBackend
from moto.cloudwatch.models import CloudWatchBackend
from moto.core import utils as moto_utils
from moto.core.base_backend import AccountSpecificBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.ec2.models import instance_types
from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.models.instance_types import InstanceTypeBackend
from moto.ec2.models.instances import InstanceBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.glue.models import GlueBackend
from moto.iam import aws_managed_policies as iam_policies, models as iam_models
from moto.logs.models import LogGroup, LogsBackend, LogStream
from moto.s3.models import FakeKey
from moto.sns.models import SNSBackend, Subscription
from moto.sns.responses import SNSResponse

from . import backends
from .app import LocalCloudApp, MotoPatch
from .athena import api as athena_api, checks as athena_checks, models as athena_models
from .cloudwatch import checks as cloudwatch_checks, models as cloudwatch_models, responses as cloudwatch_responses
from .ec2 import checks as ec2_checks, learner_actions, models as ec2_models
from .flowlogs import checks as flowlogs_checks, models as flowlogs_models
from .flowlogs.delivery import DeliveryDelays, FlowLogDelivery
from .home import labkit_home, user_id
from .lifecycle import code_version
from .logs import checks as logs_checks, models as logs_models, responses as logs_responses
from .s3 import checks as s3_checks, storage
from .timing import AwsTiming
from .sns import checks as sns_checks, models as sns_models, responses as sns_responses

PATCHES = (
    # moto: a new backend's regions without keeping its service's model a second time; models without their docs
    MotoPatch(AccountSpecificBackend, "_generate_regions", backends.regions_listed_from_the_endpoints,
              "(self, service_name)"),
    MotoPatch(moto_utils, "_load_service_model", backends.models_without_documentation,
              "(service_name, model_name)"),
    # IAM: AWS's managed policies (moto's JSON text) let go unless moto is told to load them
    MotoPatch(iam_models, "aws_managed_policies_data", backends.managed_policies_kept_only_if_loaded, "str"),
    MotoPatch(iam_policies, "aws_managed_policies_data", backends.managed_policies_kept_only_if_loaded, "str"),
    # EC2: an instance's new security groups replace its network interface's; the default VPC as AWS makes it
    MotoPatch(InstanceBackend, "modify_instance_security_groups",
              ec2_models.modify_instance_groups_replaces_the_eni_groups, "(self, instance_id, new_group_id_list)"),
    MotoPatch(VPCBackend, "create_default_vpc", ec2_models.default_vpc_as_aws_makes_it, "(self)"),
    # EC2: the instance-type offerings of a region read when first asked for, not every region's kept for good
    MotoPatch(instance_types, "INSTANCE_TYPE_OFFERINGS", ec2_models.offerings_read_per_region_on_first_use,
              "dict[str, dict[str, list]]"),
    # EC2: the instance types' descriptions read when first asked for (DescribeInstanceTypes)
    MotoPatch(instance_types, "INSTANCE_TYPES", ec2_models.instance_types_read_on_first_use,
              "dict[str, dict[str, bool]]"),
    MotoPatch(InstanceTypeBackend, "instance_types", ec2_models.instance_type_list_made_on_first_use, "list"),
    # Flow logs: AWS's LogFormat check, and S3 destinations with a folder
    MotoPatch(FlowLogsBackend, "create_flow_logs", flowlogs_models.create_flow_logs_as_aws_does,
              "(self, resource_type, resource_ids, traffic_type, deliver_logs_permission_arn, log_destination_type, "
              "log_destination, log_group_name, log_format, max_aggregation_interval)"),
    # CloudWatch Logs: metric filters validated, matched by the real engine, published on every event
    MotoPatch(LogsBackend, "put_metric_filter", logs_models.checked_put_metric_filter,
              "(self, filter_name, filter_pattern, log_group_name, metric_transformations)"),
    MotoPatch(LogsBackend, "filter_log_events", logs_models.checked_filter_log_events,
              "(self, log_group_name, log_stream_names, start_time, end_time, limit, next_token, filter_pattern, "
              "interleaved)"),
    MotoPatch(LogStream, "filter_log_events", logs_models.stream_filter_log_events,
              "(self, start_time, end_time, filter_pattern)"),
    MotoPatch(LogGroup, "put_log_events", logs_models.publishing_put_log_events,
              "(self, log_stream_name, log_events)"),
    # CloudWatch: alarms keep their state and act on SetAlarmState; statistics over AWS's periods; history
    MotoPatch(CloudWatchBackend, "put_metric_alarm", cloudwatch_models.put_metric_alarm_keeps_state,
              "(self, name, namespace, metric_name, comparison_operator, evaluation_periods, period, threshold, "
              "statistic, description, dimensions, alarm_actions, metric_data_queries=None, datapoints_to_alarm=None, "
              "extended_statistic=None, ok_actions=None, insufficient_data_actions=None, unit=None, "
              "actions_enabled=True, treat_missing_data=None, evaluate_low_sample_count_percentile=None, "
              "threshold_metric_id=None, rule=None, tags=None)"),
    MotoPatch(CloudWatchBackend, "set_alarm_state", cloudwatch_models.set_alarm_state_acts,
              "(self, alarm_name, reason, reason_data, state_value)"),
    MotoPatch(CloudWatchBackend, "get_metric_data", cloudwatch_models.metric_data_from_rounded_start,
              "(self, queries, start_time, end_time, scan_by='TimestampAscending')"),
    MotoPatch(CloudWatchBackend, "get_metric_statistics", cloudwatch_models.metric_statistics_from_rounded_start,
              "(self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit=None)"),
    MotoPatch(CloudWatchResponse, "describe_alarm_history", cloudwatch_responses.describe_alarm_history),
    # SNS: email subscriptions wait for confirmation; email and SQS subscribers get AWS's messages
    MotoPatch(SNSBackend, "subscribe", sns_models.subscribe_pending, "(self, topic_arn, endpoint, protocol)"),
    MotoPatch(Subscription, "publish", sns_models.publish_to_email_and_sqs,
              "(self, message, message_id, subject=None, message_attributes=None, group_id=None, "
              "deduplication_id=None, message_structure=None)"),
    MotoPatch(Subscription, "subscription_arn", sns_models.subscription_arn_while_pending),
    MotoPatch(SNSResponse, "subscribe", sns_responses.answer_pending_subscribe, "(self)"),
    MotoPatch(SNSResponse, "confirm_subscription", sns_responses.confirm_with_token, "(self)"),
    # S3: object bodies in named files, which Athena's engine reads in place
    MotoPatch(FakeKey, "value", storage.bodies_in_named_files, "(self, new_value)"),
    # Glue and Athena: the `default` database and the AwsDataCatalog of every region
    MotoPatch(GlueBackend, "__init__", athena_models.glue_has_the_default_database, "(self, region_name, account_id)"),
    MotoPatch(AthenaBackend, "__init__", athena_models.athena_has_the_glue_data_catalog,
              "(self, region_name, account_id)"),
)

# Private parts of moto that the patches and behaviours read or write (checked like the signatures):
# (module, class, attribute), the attribute of a class or of an instance that moto makes.
MOTO_INTERNALS = (
    ("moto.ec2.models.instances", "Instance", "nics"),
    ("moto.ec2.models.elastic_network_interfaces", "NetworkInterface", "_group_set"),
    ("moto.ec2.models.route_tables", "RouteTable", "_associations"),
    ("moto.s3.models", "FakeKey", "_value_buffer"),
    ("moto.sns.models", "SNSBackend", "_find_subscription"),
    ("moto.sns.models", "Subscription", "_filter_policy_matcher"),
    ("moto.sns.models", "Subscription", "_parse_message_structure"),
    ("moto.core.responses", "BaseResponse", "_get_param"),
)


def build_app() -> LocalCloudApp:
    app = LocalCloudApp()
    app.patch(*PATCHES)
    home = str(labkit_home().resolve())  # where this local cloud keeps its state and email
    timing = AwsTiming.from_environment()  # LABKIT_DELIVERY=realistic: AWS's time, times LABKIT_TIME_SCALE
    delivery = FlowLogDelivery(DeliveryDelays.of(timing))

    app.endpoint("health", lambda _request: {"status": "ok", "pid": os.getpid(), "code": code_version(),
                                              "user": user_id(), "home": home, "delivery": timing.mode,
                                              "time_scale": timing.scale})
    # S3 (Parts 1 and 4): its rules for buckets, keys and policies
    for action, check in s3_checks.CHECKS.items():
        app.check("s3", action, check)
    # EC2 and flow logs (Parts 1 and 2): their rules; the bucket policy and delivery role; the learner's traffic
    for action, check in {**ec2_checks.CHECKS, **flowlogs_checks.CHECKS}.items():
        app.check("ec2", action, check)
    app.after("ec2", "CreateFlowLogs", flowlogs_models.on_create_flow_logs)
    app.after("ec2", "RunInstances", ec2_models.InstanceBoot(timing))  # pending, then booting, with AWS's timing
    app.endpoint("connect", learner_actions.ConnectionAttempts(delivery))
    app.endpoint("background-traffic", learner_actions.BackgroundTraffic(delivery))
    # CloudWatch Logs (Parts 3 and 4): its limits, TestMetricFilter and Logs Insights
    for action, check in logs_checks.CHECKS.items():
        app.check("logs", action, check)
    app.handle("logs", "TestMetricFilter", logs_responses.answer_test_metric_filter)
    app.handle("logs", "StartQuery", logs_responses.start_query)
    app.handle("logs", "GetQueryResults", logs_responses.get_query_results)
    app.handle("logs", "StopQuery", logs_responses.stop_query)
    app.handle("logs", "DescribeQueries", logs_responses.describe_queries)
    # Athena (Part 4): SQL on DuckDB over the S3 objects, tables in Glue
    for (service, action), check in athena_checks.CHECKS.items():
        app.check(service, action, check)
    for action, handler in athena_api.handlers().items():
        app.handle("athena", action, handler)
    app.after("athena", "DeleteWorkGroup", athena_models.forget_the_tags_of_a_deleted_work_group)
    # SNS (Part 3): its rules for topics, subscriptions and messages
    for action, check in sns_checks.CHECKS.items():
        app.check("sns", action, check)
    # CloudWatch (Part 3): its rules for alarms and metrics; alarms evaluate on their own
    for action, check in cloudwatch_checks.CHECKS.items():
        app.check("monitoring", action, check)
    cloudwatch_models.EVALUATOR.start()
    return app

