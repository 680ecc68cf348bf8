"""The Dataverse (OData) multipart/mixed $batch wire format, as pure functions: encode requests, decode answers."""
from __future__ import annotations

import json
import re
import uuid

from mscloud.batchresult import BatchResult

CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def new_boundary(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4()}"


def _request_part(op: dict, api_path: str, content_id: int | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    url = op["url"]
    target = url if url.startswith(("https://", "$")) else f"{api_path.rstrip('/')}/{url.lstrip('/')}"
    lines += ["", f"{op['method'].upper()} {target} HTTP/1.1"]
    for name, value in (op.get("headers") or {}).items():
        lines.append(f"{name}: {value}")
    body = op.get("body")
    if body is not None:
        lines.append("Content-Type: application/json; type=entry")
        lines += ["", json.dumps(body)]
    else:
        lines.append("")
    return CRLF.join(lines) + CRLF


def encode_batch(ops: list[dict], api_path: str, changeset: bool = True, boundary: str | None = None,
                 changeset_boundary: str | None = None) -> tuple[str, str]:
    """(Content-Type header, body) of one $batch; with changeset, every op goes in one atomic change set.

    ops: {"method", "url" (relative to the api root, e.g. `systemusers(<id>)/x/$ref`, or `$1/...`), "body", "headers"}.
    api_path is the URL path of the API root (`/api/data/v9.2`), used in each part's request line.
    """
    boundary = boundary or new_boundary("batch")
    out = []
    if changeset:
        if any(op["method"].upper() == "GET" for op in ops):
            raise ValueError("a Dataverse change set cannot hold GET requests; use changeset=False")
        cs = changeset_boundary or new_boundary("changeset")
        out.append(f"--{boundary}{CRLF}Content-Type: multipart/mixed; boundary={cs}{CRLF}{CRLF}")
        for n, op in enumerate(ops, start=1):
            out.append(f"--{cs}{CRLF}{_request_part(op, api_path, n)}")
        out.append(f"--{cs}--{CRLF}{CRLF}")
    else:
        for op in ops:
            out.append(f"--{boundary}{CRLF}{_request_part(op, api_path, None)}")
    out.append(f"--{boundary}--{CRLF}")
    return f"multipart/mixed; boundary={boundary}", "".join(out)


def boundary_of(content_type: str) -> str | None:
    match = _BOUNDARY.search(content_type or "")
    return match.group(1) if match else None


def _split_head(text: str) -> tuple[dict, str]:
    """Headers (lower-cased names) and the rest, split at the first blank line."""
    normalized = text.replace("\r\n", "\n")
    head, _, rest = normalized.partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _parts(body: str, boundary: str) -> list[str]:
    parts = []
    for chunk in body.split(f"--{boundary}")[1:]:
        if chunk.startswith("--"):
            break
        parts.append(chunk.lstrip("\r\n"))
    return parts


def _http_response(text: str) -> BatchResult:
    """`HTTP/1.1 204 No Content` + headers + body -> BatchResult (headers keep their original case)."""
    normalized = text.replace("\r\n", "\n").lstrip("\n")
    status_line, _, rest = normalized.partition("\n")
    fields = status_line.split(" ", 2)
    status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    head, _, payload = rest.partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    payload = payload.strip()
    body = None
    if payload:
        try:
            body = json.loads(payload)
        except ValueError:
            body = payload
    return BatchResult(status, body, headers)


def decode_batch(content_type: str, body: str | bytes) -> list[BatchResult]:
    """Every response part in order, change set parts flattened in place."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    boundary = boundary_of(content_type)
    if not boundary:
        raise ValueError(f"not a multipart $batch answer (Content-Type {content_type!r})")
    results = []
    for part in _parts(text, boundary):
        headers, rest = _split_head(part)
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            results.extend(decode_batch(part_type, rest))
        else:
            results.append(_http_response(rest))
    return results
