"""Only the owner gets in: the local cloud answers only requests signed with its own credentials, from its
own address; every other request gets the error AWS gives for it, and changes nothing."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import stat
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from labkit.localcloud import home
from labkit.localcloud.lifecycle import control_request

FOREIGN = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
INVALID_TOKEN = "The security token included in the request is invalid."
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.")


def _client(cloud, service: str, key: str, secret: str, token: str | None = None):
    return boto3.client(service, endpoint_url=cloud.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": 1}))


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["Error"].get("Message", ""), response["ResponseMetadata"]["HTTPStatusCode"]


def _owner(cloud, service: str):
    return _client(cloud, service, cloud.credentials.access_key_id, cloud.credentials.secret_access_key)


@pytest.mark.parametrize("service, call, expected", [
    ("logs", lambda c: c.create_log_group(logGroupName="intruder"), ("UnrecognizedClientException", INVALID_TOKEN, 400)),
    ("sns", lambda c: c.create_topic(Name="intruder"), ("InvalidClientTokenId", INVALID_TOKEN, 403)),
    ("ec2", lambda c: c.create_vpc(CidrBlock="10.9.0.0/16"),
     ("AuthFailure", "AWS was not able to validate the provided access credentials", 401)),
    ("s3", lambda c: c.create_bucket(Bucket="intruder"),
     ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)),
    ("cloudwatch", lambda c: c.put_metric_data(Namespace="intruder", MetricData=[{"MetricName": "m", "Value": 1}]),
     ("InvalidClientTokenId", INVALID_TOKEN, 403)),
    ("athena", lambda c: c.list_work_groups(), ("UnrecognizedClientException", INVALID_TOKEN, 400)),
])
def test_a_request_signed_with_other_keys_gets_aws_error_and_changes_nothing(local_cloud, service, call, expected):
    with pytest.raises(ClientError) as raised:
        call(_client(local_cloud, service, *FOREIGN))
    code, message, status = _error(raised)
    assert (code, message, status) == expected
    assert "intruder" not in json.dumps(_owner(local_cloud, "logs").describe_log_groups()["logGroups"])
    assert "intruder" not in str(_owner(local_cloud, "s3").list_buckets()["Buckets"])
    assert "intruder" not in str(_owner(local_cloud, "sns").list_topics()["Topics"])


def test_the_old_testing_keys_no_longer_work(local_cloud):
    with pytest.raises(ClientError, match="UnrecognizedClientException"):
        _client(local_cloud, "logs", "testing", "testing").describe_log_groups()


def test_the_owners_key_with_a_wrong_secret_does_not_match(local_cloud):
    key = local_cloud.credentials.access_key_id
    with pytest.raises(ClientError) as raised:
        _client(local_cloud, "logs", key, "not-the-secret").describe_log_groups()
    assert _error(raised) == ("InvalidSignatureException", MISMATCH, 400)
    with pytest.raises(ClientError) as raised:
        _client(local_cloud, "sts", key, "not-the-secret").get_caller_identity()
    assert _error(raised) == ("SignatureDoesNotMatch", MISMATCH, 403)


def test_a_session_token_is_refused_the_local_cloud_issues_none(local_cloud):
    with pytest.raises(ClientError) as raised:
        _client(local_cloud, "logs", local_cloud.credentials.access_key_id, local_cloud.credentials.secret_access_key,
                token="FwoGZXIvYXdzE").describe_log_groups()
    assert _error(raised)[:2] == ("UnrecognizedClientException", INVALID_TOKEN)


def _signed(cloud, service: str, target: str, body: dict, when: dt.datetime | None = None) -> urllib.request.Request:
    request = AWSRequest("POST", cloud.endpoint + "/", data=json.dumps(body), headers={
        "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    signer = SigV4Auth(Credentials(cloud.credentials.access_key_id, cloud.credentials.secret_access_key), service,
                       "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:  # botocore signs with the current time: sign as if it were `when`
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        signer._modify_request_before_signing(request)
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        signer._inject_signature_to_request(request, signature)
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    return urllib.request.Request(request.url, data=body, headers=dict(request.headers.items()))


def test_a_signature_made_more_than_15_minutes_ago_has_expired(local_cloud):
    then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(_signed(local_cloud, "logs", "Logs_20140328.DescribeLogGroups", {}, then))
    error = json.load(raised.value)
    assert raised.value.code == 400 and error["__type"] == "InvalidSignatureException"
    assert error["message"].startswith(f"Signature expired: {then:%Y%m%dT%H%M%SZ} is now earlier than ")


def test_a_signed_body_changed_on_the_way_does_not_match(local_cloud):
    request = _signed(local_cloud, "logs", "Logs_20140328.CreateLogGroup", {"logGroupName": "honest"})
    request.data = json.dumps({"logGroupName": "tampered"}).encode()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert json.load(raised.value)["__type"] == "InvalidSignatureException"
    groups = _owner(local_cloud, "logs").describe_log_groups()["logGroups"]
    assert not {g["logGroupName"] for g in groups} & {"honest", "tampered"}


@pytest.mark.parametrize("path, body, content_type, expected", [
    ("/", "Action=CreateTopic&Name=intruder&Version=2010-03-31", "application/x-www-form-urlencoded",
     b"<Code>MissingAuthenticationToken</Code>"),
    ("/intruder-bucket", "", "", b"<Code>AccessDenied</Code>"),
])
def test_an_unsigned_request_is_refused(local_cloud, path, body, content_type, expected):
    request = urllib.request.Request(local_cloud.endpoint + path, data=body.encode() if body else None,
                                     method="POST" if body else "PUT",
                                     headers={"Content-Type": content_type} if content_type else {})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 403 and expected in raised.value.read()
    assert "intruder" not in str(_owner(local_cloud, "s3").list_buckets()["Buckets"])


def test_a_presigned_url_works_until_it_expires(local_cloud):
    s3 = _owner(local_cloud, "s3")
    s3.create_bucket(Bucket="presigned")
    s3.put_object(Bucket="presigned", Key="k", Body=b"the body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "k"}, ExpiresIn=60)
    assert urllib.request.urlopen(url).read() == b"the body"
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(url.replace("Key", "Kay", 0).replace("/k?", "/other?"))
    assert raised.value.code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in raised.value.read()
    v4 = boto3.client("s3", endpoint_url=local_cloud.endpoint, region_name="us-east-1",
                      aws_access_key_id=local_cloud.credentials.access_key_id,
                      aws_secret_access_key=local_cloud.credentials.secret_access_key,
                      config=Config(signature_version="s3v4"))
    v4_url = v4.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "k"}, ExpiresIn=1)
    assert "X-Amz-Signature=" in v4_url and urllib.request.urlopen(v4_url).read() == b"the body"
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(v4_url)
    assert raised.value.code == 403 and b"<Message>Request has expired</Message>" in raised.value.read()
    foreign = _client(local_cloud, "s3", *FOREIGN).generate_presigned_url(
        "get_object", Params={"Bucket": "presigned", "Key": "k"}, ExpiresIn=60)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(foreign)
    assert raised.value.code == 403 and b"<Code>InvalidAccessKeyId</Code>" in raised.value.read()


def test_the_labkit_endpoints_answer_only_the_owner(local_cloud, monkeypatch):
    monkeypatch.setenv("LABKIT_HOME", str(local_cloud.home))
    assert control_request(local_cloud.endpoint, "health")["status"] == "ok"
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(urllib.request.Request(f"{local_cloud.endpoint}/_labkit/health", data=b"{}"))
    assert raised.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as raised:  # moto's own API, its state dump included
        urllib.request.urlopen(f"{local_cloud.endpoint}/moto-api/data.json")
    assert raised.value.code == 403


def _raw(cloud, method: str, headers: dict[str, str], body: bytes = b"") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", cloud.info.port, timeout=10)
    connection.putrequest(method, "/", skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    return connection.getresponse()


def test_a_web_page_of_another_site_is_refused_and_gets_no_cors_headers(local_cloud):
    host = f"127.0.0.1:{local_cloud.info.port}"
    preflight = _raw(local_cloud, "OPTIONS", {"Host": host, "Origin": "https://evil.example",
                                              "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "authorization,x-amz-target"})
    assert preflight.status == 403
    assert not [name for name, _ in preflight.getheaders() if name.lower().startswith("access-control-")]
    request = _signed(local_cloud, "logs", "Logs_20140328.CreateLogGroup", {"logGroupName": "from-a-page"})
    posted = _raw(local_cloud, "POST", {**dict(request.header_items()), "Host": host, "Origin": "https://evil.example"},
                  request.data)
    assert posted.status == 403
    assert not [name for name, _ in posted.getheaders() if name.lower().startswith("access-control-")]
    groups = _owner(local_cloud, "logs").describe_log_groups()["logGroups"]
    assert "from-a-page" not in {g["logGroupName"] for g in groups}


def test_another_host_name_is_refused_against_dns_rebinding(local_cloud):
    answer = _raw(local_cloud, "GET", {"Host": f"rebound.evil.example:{local_cloud.info.port}"})
    assert answer.status == 403 and b"127.0.0.1" in answer.read()


def test_the_credentials_are_made_once_and_readable_by_their_owner_only(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    first, again = home.credentials(), home.credentials()
    assert first == again and first.access_key_id.startswith("LKIA") and len(first.secret_access_key) >= 40
    assert stat.S_IMODE(os.stat(home.credentials_file()).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "home").st_mode) == 0o700
