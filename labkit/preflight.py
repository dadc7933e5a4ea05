"""What the lab will create on AWS, where, and about what it costs: shown before anything is created, and
before the learner is asked for confirm_billable. A pure core: names from LabConfig, prices from PRICES.

The prices are AWS's us-east-1 on-demand list prices, with their sources and the date they were recorded, in
docs/aws-behaviour.md, "Prices the preflight uses"; other regions cost about the same or a little more.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import INSTANCE_TYPE, SELF_DESTRUCT_MINUTES, LabConfig

HOURS_PER_MONTH = 730  # AWS's pricing pages convert monthly prices at 730 hours
PRICES_RECORDED = "2026-12-01"
PRICES = {  # USD, us-east-1
    "t3.nano per hour": 0.0052,
    "public IPv4 address per hour": 0.005,
    "gp3 storage per GB-month": 0.08,
    "alarm (standard resolution) per month": 0.10,
    "custom metric per month": 0.30,
    "vended logs to CloudWatch Logs per GB": 0.50,
    "vended logs to S3 per GB": 0.25,
    "Athena per TB scanned (10 MB minimum per query)": 5.0,
}
ROOT_VOLUME_GB = 8  # Amazon Linux 2023's AMI
LAB_LOGS_GB = 0.01  # a run's flow records: a few MB to each destination
ATHENA_QUERIES, ATHENA_MINIMUM_TB = 20, 10 / 1024 / 1024  # Part 4 runs about 20 statements, each billed 10 MB at least


@dataclass(frozen=True)
class Item:
    part: str
    what: str
    cost: str  # how it is charged, in words


def items(config: LabConfig) -> list[Item]:
    """Everything the lab creates, part by part, with the names it gets."""
    return [
        Item("1", f"VPC {config.vpc_name!r} ({config.vpc_cidr}), flow logs {config.s3_flow_log_name!r} and "
                  f"{config.cw_flow_log_name!r}", "free; delivery is charged as vended logs"),
        Item("1", f"S3 bucket {config.name(config.bucket_base)}-<account>-{config.region}", "storage of a few MB"),
        Item("1", f"log group {config.log_group!r} (1-week retention)", "ingestion as vended logs"),
        Item("1", f"IAM role {config.role_name!r} with its inline policy {config.role_policy_name!r}", "free"),
        Item("2", f"subnet, internet gateway, route table, security groups {config.ssh_group_name!r} and "
                  f"{config.http_group_name!r}", "free"),
        Item("2", f"EC2 instance {config.server_name!r} ({INSTANCE_TYPE}, {ROOT_VOLUME_GB} GB gp3, a public IPv4 "
                  f"address); it terminates itself {SELF_DESTRUCT_MINUTES} minutes after boot",
             "per hour while it runs"),
        Item("3", f"metric filter {config.metric_filter_name!r} (metric {config.metric_namespace}/"
                  f"{config.metric_name}), alarm {config.alarm_name!r}", "per month, pro rata"),
        Item("3", f"SNS topic {config.topic_name!r} with an email subscription", "free tier (1,000 emails a month)"),
        Item("4", f"Athena work group {config.work_group_name!r}, Glue database {config.database_name!r}, tables",
             "per data scanned, 10 MB minimum per query"),
    ]


def estimate_usd(hours: float = SELF_DESTRUCT_MINUTES / 60) -> float:
    """The run's cost if its resources live `hours` (default: until the server's timer), at PRICES."""
    per_hour = (PRICES["t3.nano per hour"] + PRICES["public IPv4 address per hour"]
                + (ROOT_VOLUME_GB * PRICES["gp3 storage per GB-month"] + PRICES["alarm (standard resolution) per month"]
                   + PRICES["custom metric per month"]) / HOURS_PER_MONTH)
    once = (LAB_LOGS_GB * (PRICES["vended logs to CloudWatch Logs per GB"] + PRICES["vended logs to S3 per GB"])
            + ATHENA_QUERIES * ATHENA_MINIMUM_TB * PRICES["Athena per TB scanned (10 MB minimum per query)"])
    return per_hour * hours + once


def plan(config: LabConfig, account_id: str) -> str:
    """The preflight's text: account, region, what will be created, the estimate and the prices behind it."""
    hours = SELF_DESTRUCT_MINUTES / 60
    lines = [f"The lab will create, in AWS account {account_id}, region {config.region} "
             f"(tags labkit:lab=vpc-flow-logs, labkit:run-id={config.run_id}):"]
    lines += [f"  Part {item.part}: {item.what} [{item.cost}]" for item in items(config)]
    lines.append(f"Estimated cost: about ${estimate_usd(hours):.2f} if it all lives {hours:.0f} hours (the server's "
                 f"timer), from us-east-1 list prices recorded {PRICES_RECORDED}: "
                 + ", ".join(f"{name} ${price:g}" for name, price in PRICES.items()) + ".")
    lines.append("Remove it all with 99_teardown or `labkit teardown --target aws`; find leftovers in every region "
                 "with `labkit teardown --target aws --sweep`.")
    return "\n".join(lines)
