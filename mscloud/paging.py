"""OData paging shared by Graph, Dataverse and Business Central: follow @odata.nextLink until absent."""
from __future__ import annotations

from typing import Callable, Iterator


def next_link(page: dict) -> str | None:
    """The absolute URL of the next page, or None on the last one."""
    link = page.get("@odata.nextLink") if isinstance(page, dict) else None
    return link or None


def iter_pages(fetch: Callable[[str, dict | None], dict], first_url: str, params: dict | None,
               max_pages: int = 100_000) -> Iterator[dict]:
    """Pages from fetch(url, params); the nextLink carries the query, so params go only with the first call."""
    url, query, seen = first_url, params, 0
    while url:
        page = fetch(url, query)
        yield page
        seen += 1
        url, query = next_link(page), None
        if seen >= max_pages:
            raise RuntimeError(f"more than {max_pages} pages from {first_url}; refusing to loop forever")


def collect(fetch: Callable[[str, dict | None], dict], first_url: str, params: dict | None) -> list[dict]:
    items: list[dict] = []
    for page in iter_pages(fetch, first_url, params):
        items.extend(page.get("value", []))
    return items
