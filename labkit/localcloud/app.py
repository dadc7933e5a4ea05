"""The HTTP glue of the local cloud: moto answers every AWS call, and the behaviours that AWS performs
on its own are attached around it, in four ways:
- a *patch* changes one of moto's functions in place (`MotoPatch`: owner.name becomes
  wrapper(original)), for the whole process, since moto's classes are shared by every local cloud in it;
- an *after* hook runs once moto has answered a call successfully (CreateFlowLogs adds the bucket
  policy AWS adds);
- a *handler* answers a call instead of moto (where moto's answer is wrong);
- an *endpoint* under `/_labkit/` serves a learner-side action that has no AWS API (an SSH attempt).
Operations are named by the service's signing name and the action.

This module knows nothing about any particular behaviour; `registry.py` declares them all.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

CONTROL_PREFIX = "/_labkit/"

# SigV4: "Credential=AKID/20250101/us-east-1/ec2/aws4_request"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass
class AwsCall:
    """One AWS API request as the local cloud sees it."""

    service: str  # the signing name: ec2, s3, logs, monitoring, sns, athena, ...
    region: str
    action: str | None
    params: dict[str, Any]
    body: bytes
    account_id: str = DEFAULT_ACCOUNT_ID

    @classmethod
    def from_environ(cls, environ: dict[str, Any], body: bytes) -> AwsCall | None:
        scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope:
            return None
        region, service = scope.groups()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        content_type = environ.get("CONTENT_TYPE", "")
        params: dict[str, Any] = {}
        action = None
        if target:  # JSON protocols: "Logs_20140328.TestMetricFilter"
            action = target.rsplit(".", 1)[-1]
            params = json.loads(body or b"{}")
        elif content_type.startswith("application/x-www-form-urlencoded"):  # query protocol
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            action = form.pop("Action", None)
            params = form
        # moto's own choice of account: its x-moto-account-id header, else the default account
        account_id = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID
        return cls(service=service, region=region, action=action, params=params, body=body, account_id=account_id)


@dataclass
class Response:
    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")

    @classmethod
    def json(cls, payload: Any, status: str = "200 OK", content_type: str = "application/json") -> Response:
        return cls(status, [("Content-Type", content_type)], json.dumps(payload).encode())

    @classmethod
    def aws_json_error(cls, code: str, message: str, status: str = "400 Bad Request") -> Response:
        """An error in the awsJson protocol, as botocore parses it into ClientError."""
        return cls.json({"__type": code, "message": message}, status, "application/x-amz-json-1.1")


AfterHook = Callable[[AwsCall, Response], None]
Handler = Callable[[AwsCall], Response]
ControlEndpoint = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class MotoPatch:
    """owner.name (a function, or a property) becomes wrapper(original); the original is None where moto
    has no such attribute. `signature`: what the patch relies on, the original function's signature
    (a property: its getter's or setter's), checked against the installed moto by a test."""

    owner: type
    name: str
    wrapper: Callable[[Any], Any]
    signature: str | None = None

    @property
    def original(self) -> Any:
        """What moto itself defines (before any patch of this process)."""
        current = inspect.getattr_static(self.owner, self.name, None)
        return _ORIGINALS.get((self.owner, self.name), current)


_ORIGINALS: dict[tuple[type, str], Any] = {}
_APPLIED: dict[tuple[type, str], Callable[[Any], Any]] = {}
_patch_lock = threading.Lock()


def apply_patches(patches: Iterable[MotoPatch]) -> None:
    """Apply each patch once per process (building a second local cloud in it changes nothing). One
    attribute takes one patch: two would depend on their order."""
    with _patch_lock:
        for patch in patches:
            key = (patch.owner, patch.name)
            if key in _APPLIED:
                if _APPLIED[key] is not patch.wrapper:
                    raise ValueError(f"{patch.owner.__name__}.{patch.name} is patched twice")
                continue
            original = inspect.getattr_static(patch.owner, patch.name, None)
            _ORIGINALS[key], _APPLIED[key] = original, patch.wrapper
            replacement = patch.wrapper(original)
            if callable(original) and callable(replacement) and not isinstance(replacement, property):
                replacement = functools.wraps(original)(replacement)
            setattr(patch.owner, patch.name, replacement)


@dataclass
class LocalCloudApp:
    """WSGI application: moto plus the local cloud's behaviours."""

    moto: DomainDispatcherApplication = field(
        default_factory=lambda: DomainDispatcherApplication(create_backend_app)
    )
    patches: list[MotoPatch] = field(default_factory=list)
    after_hooks: dict[tuple[str, str], list[AfterHook]] = field(default_factory=dict)
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    control: dict[str, ControlEndpoint] = field(default_factory=dict)

    def patch(self, *patches: MotoPatch) -> None:
        apply_patches(patches)
        self.patches.extend(patches)

    def after(self, service: str, action: str, hook: AfterHook) -> None:
        self.after_hooks.setdefault((service, action), []).append(hook)

    def handle(self, service: str, action: str, handler: Handler) -> None:
        self.handlers[(service, action)] = handler

    def endpoint(self, name: str, function: ControlEndpoint) -> None:
        self.control[name] = function

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        body = _read_body(environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            response = self._control(path[len(CONTROL_PREFIX):], body)
        else:
            call = AwsCall.from_environ(environ, body)
            key = (call.service, call.action) if call and call.action else None
            if key in self.handlers:
                response = self.handlers[key](call)
            else:
                response = self._moto(environ, body)
                if key in self.after_hooks and response.ok:
                    for hook in self.after_hooks[key]:
                        hook(call, response)
        start_response(response.status, response.headers)
        return [response.body]

    def _moto(self, environ: dict[str, Any], body: bytes) -> Response:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured.update(status=status, headers=headers)

        environ["wsgi.input"] = io.BytesIO(body)
        chunks = self.moto(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return Response(captured["status"], captured["headers"], payload)

    def _control(self, name: str, body: bytes) -> Response:
        endpoint = self.control.get(name)
        if endpoint is None:
            return Response.json({"error": f"unknown local-cloud endpoint {name!r}"}, "404 Not Found")
        try:
            return Response.json(endpoint(json.loads(body or b"{}")))
        except ValueError as error:  # bad input from the caller: say what is wrong
            return Response.json({"error": str(error)}, "400 Bad Request")
        except Exception:  # a bug in the local cloud must not take it down
            return Response.json({"error": traceback.format_exc()}, "500 Internal Server Error")


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked upload: the server marks the end
        body = stream.read()
    else:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = stream.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body
