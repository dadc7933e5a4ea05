"""What a fresh account has before anyone creates anything, in every region, as AWS gives it
(docs/aws-behaviour.md, "Account defaults"): the Glue `default` database, Athena's AwsDataCatalog and
primary work group, and the default VPC with its subnets, internet gateway, route, security group and
network ACL."""

from __future__ import annotations

import ipaddress

import pytest

REGIONS = ["us-east-1", "eu-west-3", "ap-southeast-2"]


@pytest.fixture
def client(local_env):
    import boto3
    return lambda service, region: boto3.client(service, region_name=region)


@pytest.mark.parametrize("region", REGIONS)
def test_the_glue_default_database_exists_in_every_region(client, region):
    glue = client("glue", region)
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == ["default"]
    assert glue.get_database(Name="default")["Database"]["CatalogId"] == "123456789012"


@pytest.mark.parametrize("region", REGIONS)
def test_athena_has_the_aws_data_catalog_and_the_primary_work_group(client, region):
    athena = client("athena", region)
    assert athena.list_data_catalogs()["DataCatalogsSummary"] == [{"CatalogName": "AwsDataCatalog", "Type": "GLUE"}]
    catalog = athena.get_data_catalog(Name="AwsDataCatalog")["DataCatalog"]
    assert (catalog["Type"], catalog["Parameters"]) == ("GLUE", {"catalog-id": "123456789012"})
    primary = athena.get_work_group(WorkGroup="primary")["WorkGroup"]
    assert primary["State"] == "ENABLED"
    assert primary["Configuration"] == {
        "ResultConfiguration": {}, "EnforceWorkGroupConfiguration": False, "PublishCloudWatchMetricsEnabled": False,
        "RequesterPaysEnabled": False, "EnableMinimumEncryptionConfiguration": False,
        "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}}


@pytest.mark.parametrize("region", REGIONS)
def test_the_default_vpc_is_as_aws_makes_it(client, region):
    ec2 = client("ec2", region)
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    subnets = sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"],
                     key=lambda s: s["AvailabilityZone"])
    assert [s["AvailabilityZone"] for s in subnets] == sorted(zones)  # one default subnet per zone
    assert all(s["DefaultForAz"] and s["MapPublicIpOnLaunch"] for s in subnets)
    assert [s["CidrBlock"] for s in subnets] == [str(n) for n in list(
        ipaddress.ip_network("172.31.0.0/16").subnets(new_prefix=20))[:len(zones)]]
    (gateway,) = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    (main,) = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                 {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    assert {(r["DestinationCidrBlock"], r["GatewayId"]) for r in main["Routes"]} == {
        ("172.31.0.0/16", "local"), ("0.0.0.0/0", gateway["InternetGatewayId"])}
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                     {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert [(p["IpProtocol"], [pair["GroupId"] for pair in p["UserIdGroupPairs"]], p["IpRanges"])
            for p in group["IpPermissions"]] == [("-1", [group["GroupId"]], [])]  # all traffic from itself
    assert [(p["IpProtocol"], p["IpRanges"]) for p in group["IpPermissionsEgress"]] == [("-1", [{"CidrIp": "0.0.0.0/0"}])]
    (acl,) = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NetworkAcls"]
    assert acl["IsDefault"]
    assert sorted((e["Egress"], e["RuleNumber"], e["RuleAction"], e["CidrBlock"]) for e in acl["Entries"]) == [
        (False, 100, "allow", "0.0.0.0/0"), (False, 32767, "deny", "0.0.0.0/0"),
        (True, 100, "allow", "0.0.0.0/0"), (True, 32767, "deny", "0.0.0.0/0")]


@pytest.mark.parametrize("region", REGIONS)
def test_instance_type_offerings_are_those_of_the_region(client, region):
    """The local cloud reads a region's offerings when first asked for (moto reads every region's at
    import): each region still answers with its own, in each location type."""
    ec2 = client("ec2", region)
    nano = [{"Name": "instance-type", "Values": ["t3.nano"]}]
    in_region = ec2.describe_instance_type_offerings(Filters=nano)["InstanceTypeOfferings"]
    assert in_region == [{"InstanceType": "t3.nano", "LocationType": "region", "Location": region}]
    zones = ec2.describe_instance_type_offerings(LocationType="availability-zone", Filters=nano)["InstanceTypeOfferings"]
    assert zones and {o["Location"][:-1] for o in zones} == {region}
    assert {o["LocationType"] for o in zones} == {"availability-zone"}
