"""Lab resources the tests build the way the notebooks do (Parts 1 and 2), and an Athena table over them."""

from __future__ import annotations

from labkit import flow_logs, traffic

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}
PERMISSIONS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                                       "Resource": "*"}]}


def provision_part1(lab):
    vpc_id = flow_logs.ensure_vpc(lab)
    bucket = flow_logs.ensure_bucket(lab)
    flow_logs.ensure_flow_log(lab, lab.config.s3_flow_log_name, ResourceType="VPC", ResourceIds=[vpc_id],
                              TrafficType="ALL", MaxAggregationInterval=60, LogDestinationType="s3",
                              LogDestination=f"arn:aws:s3:::{bucket}")
    group = flow_logs.ensure_log_group(lab)
    role_arn = flow_logs.ensure_role(lab, RoleName=lab.config.role_name, AssumeRolePolicyDocument=TRUST,
                                     PolicyDocument=PERMISSIONS)
    flow_logs.ensure_flow_log(lab, lab.config.cw_flow_log_name, ResourceType="VPC", ResourceIds=[vpc_id],
                              TrafficType="ALL", MaxAggregationInterval=60, LogDestinationType="cloud-watch-logs",
                              LogGroupName=group, DeliverLogsPermissionArn=role_arn)
    return vpc_id


def provision_part2(lab) -> traffic.Part2:
    """Part 1, then the public subnet, both security groups and the server (with the SSH group)."""
    vpc_id = provision_part1(lab)
    subnet_id = traffic.ensure_public_subnet(lab, VpcId=vpc_id)
    me = traffic.learner_address(lab)
    ssh = traffic.ensure_security_group(lab, vpc_id, lab.config.ssh_group_name, "SSH from the learner", [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": f"{me}/32"}]}])
    http = traffic.ensure_security_group(lab, vpc_id, lab.config.http_group_name, "HTTP only", [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return traffic.Part2(traffic.ensure_server(lab, SubnetId=subnet_id, SecurityGroupIds=[ssh]), ssh, http)


def ssh_accepted_then_rejected(lab) -> traffic.Part2:
    """Part 2 as the walkthrough runs it: SSH accepted with the SSH group, then rejected after the swap to
    the HTTP-only group (the server is left with that group)."""
    part2 = provision_part2(lab)
    traffic.attempt_connection(lab, part2.server, 22)
    traffic.replace_security_groups(lab, part2.server.instance_id, [part2.http_group])
    traffic.attempt_connection(lab, part2.server, 22, timeout_s=2)
    return part2


def flow_log_table(table: str, bucket: str, folder: str) -> tuple[str, str]:
    """Athena DDL for a table over the bucket's flow-log files, partitioned by day, and the partition of
    one day's folder (`YYYY/MM/DD`)."""
    prefix = f"s3://{bucket}/AWSLogs/123456789012/vpcflowlogs/us-east-1/"
    return (f"""CREATE EXTERNAL TABLE {table} (
  version int, account_id string, interface_id string, srcaddr string, dstaddr string, srcport int, dstport int,
  protocol bigint, packets bigint, bytes bigint, start bigint, `end` bigint, action string, log_status string)
PARTITIONED BY (day string) ROW FORMAT DELIMITED FIELDS TERMINATED BY ' '
LOCATION '{prefix}' TBLPROPERTIES ("skip.header.line.count"="1")""",
            f"ALTER TABLE {table} ADD PARTITION (day='{folder}') LOCATION '{prefix}{folder}/'")
