"""The HTTP glue of the local cloud: moto answers every AWS call, and the behaviours that AWS performs
on its own are attached around it, in five ways:
- a *patch* changes one of moto's functions in place (`MotoPatch`: owner.name becomes
  wrapper(original)), for the whole process, since moto's classes are shared by every local cloud in it;
- a *check* refuses a call's input as AWS refuses it, before anything is done;
- an *after* hook runs once moto has answered a call successfully (CreateFlowLogs adds the bucket
  policy AWS adds);
- a *handler* answers a call instead of moto (where moto's answer is wrong);
- an *endpoint* under `/_labkit/` serves a learner-side action that has no AWS API (an SSH attempt).
Operations are named by the service's signing name and the action.

Every request must first come from the local cloud's own address (Host, and Origin if a browser sent
one) and be signed with its owner's credentials (`auth`); anything else is refused with AWS's error and
changes nothing. This module knows nothing about any particular behaviour; `registry.py` declares them all.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import json
import logging
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import auth, validation
from .home import Credentials
from .wire import AwsCall, AwsError, Response, error_response, refusal_error

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_labkit/"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# The largest request body the local cloud reads (S3 takes up to 5 GB in one PUT; a lab's files are small).
MAX_BODY_BYTES = 256 * 1024 * 1024
INTERNAL_FAILURE = AwsError("InternalFailure", "The request processing has failed because of an unknown error, "
                                               "exception or failure.", 500)

AfterHook = Callable[[AwsCall, Response], None]
Handler = Callable[[AwsCall], Response]
ControlEndpoint = Callable[[dict[str, Any]], Any]
Check = Callable[[AwsCall], None]  # raises AwsError


@dataclass(frozen=True)
class MotoPatch:
    """owner.name (a function, a property, or a module's data) becomes wrapper(original); the original is
    None where moto has no such attribute. `signature`: what the patch relies on, the original function's
    signature (a property: its getter's or setter's; data: its type, as `dict[str, list]`), checked
    against the installed moto by a test."""

    owner: type | ModuleType
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


def _kept_of(original: Any) -> Any:
    """What is kept of moto's original: a function whole; data by its shape only (a dict's first member,
    an empty list), which is all the contract test reads of it: keeping the data would keep what a
    patch lets go (moto's instance types: 10 MiB)."""
    if isinstance(original, dict):
        return {key: _kept_of(value) for key, value in list(original.items())[:1]}
    return [] if isinstance(original, list) else original


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
            _ORIGINALS[key], _APPLIED[key] = _kept_of(original), patch.wrapper
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
    owner: Credentials = field(default_factory=lambda: _home_credentials())
    patches: list[MotoPatch] = field(default_factory=list)
    checks: dict[tuple[str, str], list[Check]] = field(default_factory=dict)
    after_hooks: dict[tuple[str, str], list[AfterHook]] = field(default_factory=dict)
    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    control: dict[str, ControlEndpoint] = field(default_factory=dict)

    def patch(self, *patches: MotoPatch) -> None:
        apply_patches(patches)
        self.patches.extend(patches)

    def check(self, service: str, action: str, check: Check) -> None:
        self.checks.setdefault((service, action), []).append(check)

    def after(self, service: str, action: str, hook: AfterHook) -> None:
        self.after_hooks.setdefault((service, action), []).append(hook)

    def handle(self, service: str, action: str, handler: Handler) -> None:
        self.handlers[(service, action)] = handler

    def endpoint(self, name: str, function: ControlEndpoint) -> None:
        self.control[name] = function

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        response = self.respond(environ)
        start_response(response.status, [(name, value) for name, value in response.headers
                                         if not name.lower().startswith("access-control-")])
        return [response.body]

    def respond(self, environ: dict[str, Any]) -> Response:
        foreign = _foreign_origin(environ)
        if foreign:
            return Response.json({"error": foreign}, "403 Forbidden")
        try:
            body = _read_body(environ)
        except ValueError as error:
            return Response.json({"error": str(error)}, "413 Request Entity Too Large")
        request = _arrived(environ, body)
        path = environ.get("PATH_INFO", "")
        try:
            scope = auth.verify(request, self.owner)
        except auth.Refusal as refusal:
            if path.startswith(CONTROL_PREFIX):
                return Response.json({"error": "the local cloud answers only its owner's signed requests"},
                                     "403 Forbidden")
            signing_name = _claimed_service(request)
            return error_response(refusal_error(refusal, signing_name, request.headers.get("content-type", "")),
                                  signing_name, request.headers.get("content-type", ""), request.method)
        if path.startswith(CONTROL_PREFIX):
            return self._control(path[len(CONTROL_PREFIX):], body)
        try:
            body = _decompressed(environ, body, scope.service)
        except ValueError as error:
            return Response.json({"error": str(error)}, "413 Request Entity Too Large")
        call = AwsCall.arrived(dataclasses.replace(request, body=body), scope)
        try:
            return self._aws(environ, body, call)
        except AwsError as error:
            return error_response(error, call.service, call.content_type, call.method)
        except Exception:  # a bug in the local cloud answers as AWS's own failures do, and is logged
            log.exception("%s %s failed", call.service, call.action)
            return error_response(INTERNAL_FAILURE, call.service, call.content_type, call.method)

    def _aws(self, environ: dict[str, Any], body: bytes, call: AwsCall) -> Response:
        key = (call.service, call.action) if call.action else None
        if key is not None:
            call.params = validation.checked_params(call)
            for check in self.checks.get(key, []):
                check(call)
        if key in self.handlers:
            return self.handlers[key](call)
        response = self._moto(environ, body)
        if response.status.startswith("5"):  # moto failed where AWS would have answered
            log.error("moto answered %s %s with %s: %s", call.service, call.action, response.status,
                      response.body[:2000])
            raise INTERNAL_FAILURE
        if key in self.after_hooks and response.ok:
            for hook in self.after_hooks[key]:
                hook(call, response)
        return response

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
        except Exception:  # a bug in the local cloud must not take it down; the details go to its log
            log.exception("local-cloud endpoint %s failed", name)
            return Response.json({"error": f"the local cloud's {name} failed; its log has the details"},
                                 "500 Internal Server Error")


def _home_credentials() -> Credentials:
    from .home import credentials

    return credentials()


def _foreign_origin(environ: dict[str, Any]) -> str | None:
    """Why a request does not come from the local cloud's own address, if it does not: a Host other than
    127.0.0.1 or localhost with this port (a DNS-rebinding page), or a browser's Origin of another site."""
    port = str(environ.get("SERVER_PORT", ""))
    allowed = {f"{host}:{port}" for host in LOCAL_HOSTS}
    host = environ.get("HTTP_HOST", "")
    if host not in allowed and not (host.endswith(f".localhost:{port}")):  # bucket.localhost: virtual-hosted S3
        return f"the local cloud answers only requests to {' or '.join(sorted(allowed))}, not {host!r}"
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and origin not in {f"http://{address}" for address in allowed}:
        return f"the local cloud answers no web page of another site ({origin})"
    return None


def _arrived(environ: dict[str, Any], body: bytes) -> auth.ArrivedRequest:
    """The request as its client signed it: the path and query exactly as sent, the headers by lower-case name."""
    headers = {name[5:].replace("_", "-").lower(): str(value) for name, value in environ.items()
               if name.startswith("HTTP_")}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = str(environ[name])
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        raw = environ.get("PATH_INFO", "") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
    return auth.ArrivedRequest(method=environ.get("REQUEST_METHOD", "GET"), url=f"http://{headers.get('host', '')}{raw}",
                               headers=headers, body=body)


def _claimed_service(request: auth.ArrivedRequest) -> str:
    """The service a refused request was meant for (its credential scope, else where it would go)."""
    for text in (request.headers.get("authorization", ""), request.url):
        for marker in ("Credential=", "X-Amz-Credential="):
            if marker in text:
                parts = text.split(marker, 1)[1].split(",")[0].split("&")[0].replace("%2F", "/").split("/")
                if len(parts) >= 4:
                    return parts[3]
    if request.headers.get("x-amz-target"):
        return "logs" if request.headers["x-amz-target"].startswith("Logs_") else "athena"
    return "s3" if "x-amz-content-sha256" in request.headers or request.method in ("GET", "PUT", "HEAD", "DELETE") \
        else "sts"


def _decompressed(environ: dict[str, Any], body: bytes, service: str) -> bytes:
    """The body of a request that botocore compressed (PutMetricData over 10 KB: Content-Encoding gzip),
    as the service reads it; checked once signed, since the signature covers what was sent. S3 keeps
    an object's encoding as it is."""
    if service == "s3" or environ.get("HTTP_CONTENT_ENCODING", "").lower() != "gzip":
        return body
    inflate = zlib.decompressobj(wbits=31)
    try:
        plain = inflate.decompress(body, MAX_BODY_BYTES + 1)
    except zlib.error:
        return body  # the service answers it as the malformed body it is
    if len(plain) > MAX_BODY_BYTES or inflate.unconsumed_tail:
        raise ValueError(f"the local cloud reads requests of up to {MAX_BODY_BYTES} bytes")
    del environ["HTTP_CONTENT_ENCODING"]
    environ["CONTENT_LENGTH"] = str(len(plain))
    environ["wsgi.input"] = io.BytesIO(plain)
    return plain


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked upload: the server marks the end
        body = stream.read(MAX_BODY_BYTES + 1)
    else:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise ValueError(f"the local cloud reads requests of up to {MAX_BODY_BYTES} bytes")
        body = stream.read(length) if length else b""
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"the local cloud reads requests of up to {MAX_BODY_BYTES} bytes")
    environ["wsgi.input"] = io.BytesIO(body)
    return body
