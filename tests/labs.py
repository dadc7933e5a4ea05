"""Lab resources the tests build the way the notebooks do (Parts 1 and 2)."""

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
