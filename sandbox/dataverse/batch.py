"""Dataverse multipart `$batch`: parts run in-process through ctx.dispatch (same token, same checks).

Change sets are atomic (OrgModel.transaction), may not hold GETs or other change sets, and let later
parts refer to an earlier part's new record as `$<Content-ID>`. At most 1000 requests per batch.
Without `Prefer: odata.continue-on-error` the batch stops at the first failure and answers 400. Every line
ends with CRLF, the last one too; otherwise the batch fails as Dataverse's does ("Stream was not readable").
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from . import errors
from .models import OrgModel
from .query import parse_prefer

MAX_REQUESTS = 1000
CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_REFERENCE = re.compile(r"^\$(\d+)(/.*)?$")
_BARE_LF = re.compile(r"(?<!\r)\n")


@dataclass
class Part:
    method: str
    url: str
    headers: dict
    body: str
    content_id: str | None = None


@dataclass
class ChangeSet:
    parts: list[Part] = field(default_factory=list)


class _ChangeSetFailed(Exception):
    def __init__(self, response: Response, part: Part):
        self.response = response
        self.part = part


def _split_head(text: str) -> tuple[dict, str]:
    head, _, rest = text.replace("\r\n", "\n").partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    return headers, rest


def _lower(headers: dict) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def _parts(body: str, boundary: str) -> list[str]:
    chunks = body.split(f"--{boundary}")
    if len(chunks) < 2:
        raise errors.bad_request("The batch request body is not a valid multipart/mixed message.")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break
        parts.append(chunk.lstrip("\r\n"))
    return parts


def _request(text: str, content_id: str | None) -> Part:
    """`Content-Type: application/http` part body -> the HTTP request it carries."""
    lines = text.replace("\r\n", "\n").lstrip("\n")
    request_line, _, rest = lines.partition("\n")
    fields = request_line.split(" ")
    if len(fields) < 2:
        raise errors.bad_request(f"The request line '{request_line}' of a batch part is not valid.")
    headers, body = _split_head(rest) if "\n\n" in rest or rest.strip() else ({}, "")
    if not rest.strip():
        headers, body = {}, ""
    elif "\n\n" not in rest:
        headers, body = _split_head(rest + "\n\n")
    return Part(fields[0].upper(), fields[1], headers, body.strip(), content_id)


def parse_batch(content_type: str, body: str) -> list:
    """Items in order: Part, or ChangeSet of Parts."""
    match = _BOUNDARY.search(content_type or "")
    if not content_type.lower().startswith("multipart/mixed") or not match:
        raise errors.bad_request("The batch request must have a 'Content-Type' header of 'multipart/mixed' with a "
                                 "boundary.")
    items = []
    for raw in _parts(body, match.group(1)):
        headers, rest = _split_head(raw)
        kind = _lower(headers).get("content-type", "")
        if kind.lower().startswith("multipart/mixed"):
            inner = _BOUNDARY.search(kind)
            changeset = ChangeSet()
            for raw_inner in _parts(rest, inner.group(1) if inner else ""):
                inner_headers, inner_rest = _split_head(raw_inner)
                inner_kind = _lower(inner_headers).get("content-type", "")
                if inner_kind.lower().startswith("multipart/"):
                    raise errors.bad_request("Change sets cannot be nested.")  # text unconfirmed
                part = _request(inner_rest, _lower(inner_headers).get("content-id"))
                if part.method == "GET":
                    raise errors.bad_request("A GET request is not allowed inside a change set.")  # text unconfirmed
                changeset.parts.append(part)
            items.append(changeset)
        else:
            items.append(_request(rest, _lower(headers).get("content-id")))
    count = sum(len(i.parts) if isinstance(i, ChangeSet) else 1 for i in items)
    if count > MAX_REQUESTS:
        # Code and text unconfirmed; the limit of 1000 is documented.
        raise errors.bad_request(f"The number of requests in the batch ({count}) exceeds the limit of "
                                 f"{MAX_REQUESTS}.", errors.BATCH_LIMIT)
    return items


def _target(ctx, org: str, url: str, references: dict[str, str]) -> str:
    """A part's URL (absolute, /orgs/<org>/api/..., /api/data/v9.2/..., relative or `$n/...`) -> local path."""
    match = _REFERENCE.match(url)
    if match:
        if match.group(1) not in references:
            raise errors.bad_request(f"Content-ID reference '${match.group(1)}' does not refer to an earlier "
                                     "request in the change set.")
        url = references[match.group(1)] + (match.group(2) or "")
    if url.startswith(("https://", "http://")):
        split = urlsplit(url)
        url = split.path + (f"?{split.query}" if split.query else "")
    if url.startswith("/api/data/"):
        url = f"/orgs/{org}{url}"
    elif not url.startswith("/"):
        url = f"/orgs/{org}/api/data/v9.2/{url}"
    if url.split("?")[0].rstrip("/").endswith("$batch"):
        raise errors.bad_request("A batch cannot contain another batch.")  # text unconfirmed
    return url


def _substitute(body: str, references: dict[str, str]) -> str:
    if not body or "$" not in body:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return body

    def walk(value):
        if isinstance(value, str):
            match = _REFERENCE.match(value)
            if match and match.group(1) in references:
                return references[match.group(1)] + (match.group(2) or "")
            return value
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return json.dumps(walk(data))


def _run(ctx, org: str, part: Part, references: dict[str, str]) -> Response:
    path = _target(ctx, org, part.url, references)
    body = _substitute(part.body, references)
    return ctx.dispatch(part.method, path, part.headers, body.encode() if body else None)


def _render(response: Response, content_id: str | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    phrase = HTTPStatus(response.status_code).phrase if response.status_code in HTTPStatus._value2member_map_ else ""
    lines += ["", f"HTTP/1.1 {response.status_code} {phrase}"]
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "request-id"):
            lines.append(f"{name}: {value}")
    payload = response.get_data(as_text=True)
    return CRLF.join(lines) + CRLF + CRLF + (payload + CRLF if payload else "")


def _not_crlf(ctx, items: list) -> Response:
    """A body whose lines do not all end with CRLF: 400, the first part failing with "Stream was not readable"."""
    parts = [part for item in items for part in (item.parts if isinstance(item, ChangeSet) else [item])]
    entity_set = urlsplit(parts[0].url).path.rstrip("/").rsplit("/", 1)[-1].split("(", 1)[0] if parts else ""
    failed = errors.render_error(ctx, 400, errors.INVALID_PAYLOAD, (
        f"Error identified in Payload provided by the user for Entity :'{entity_set}', For more information on "
        "this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ---->  "
        "InnerException : System.ArgumentException: Stream was not readable."))
    boundary = f"batchresponse_{uuid.uuid4()}"
    body = f"--{boundary}{CRLF}{_render(failed, None)}--{boundary}--{CRLF}"
    return Response(body, status=400, headers={"OData-Version": "4.0"},
                    content_type=f"multipart/mixed; boundary={boundary}")


def run_batch(ctx, org: str) -> Response:
    if ctx.in_batch:
        raise errors.bad_request("A batch cannot contain another batch.")
    text = ctx.request.get_data(as_text=True)
    items = parse_batch(ctx.request.headers.get("Content-Type", ""), text)
    if _BARE_LF.search(text):
        return _not_crlf(ctx, items)
    continue_on_error = "odata.continue-on-error" in parse_prefer(ctx.request.headers.get("Prefer"))
    boundary = f"batchresponse_{uuid.uuid4()}"
    out, failed = [], False
    for item in items:
        if isinstance(item, ChangeSet):
            inner = f"changesetresponse_{uuid.uuid4()}"
            references: dict[str, str] = {}
            rendered = []
            try:
                with OrgModel(ctx.store, org).transaction():
                    for part in item.parts:
                        response = _run(ctx, org, part, references)
                        if response.status_code >= 400:
                            raise _ChangeSetFailed(response, part)
                        if part.content_id and response.headers.get("OData-EntityId"):
                            references[part.content_id] = response.headers["OData-EntityId"]
                        rendered.append(_render(response, part.content_id))
                body = "".join(f"--{inner}{CRLF}{text}" for text in rendered) + f"--{inner}--{CRLF}"
                out.append(f"Content-Type: multipart/mixed; boundary={inner}{CRLF}{CRLF}{body}")
            except _ChangeSetFailed as failure:   # the change set rolled back: answer with the failing part
                out.append(_render(failure.response, failure.part.content_id))
                failed = True
        else:
            response = _run(ctx, org, item, {})
            out.append(_render(response, item.content_id))
            failed = response.status_code >= 400
        if failed and not continue_on_error:
            break
    body = "".join(f"--{boundary}{CRLF}{text}" for text in out) + f"--{boundary}--{CRLF}"
    status = 400 if failed and not continue_on_error else 200
    headers = {"OData-Version": "4.0"}
    if continue_on_error:
        headers["Preference-Applied"] = "odata.continue-on-error"
    return Response(body, status=status, headers=headers, content_type=f"multipart/mixed; boundary={boundary}")
