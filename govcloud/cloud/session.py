"""Connections to a cloud through openstacksdk, with every HTTP call counted.

The count comes from a requests response hook on the keystoneauth session, so it is the number
of calls that really went over the wire (token requests excluded), for the no-op guarantees
(`apply` twice makes zero write calls) and the bench.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from govcloud.errors import CloudError, InputError

KEYSTONE_PAGE = 1000  # the page asked of keystone: its default max_db_limit (a smaller one pages)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class CallCounter:
    reads: int = 0
    writes: int = 0
    auth: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        request = response.request
        method = (request.method or "GET").upper()
        with self._lock:
            if "/auth/tokens" in (request.url or ""):
                self.auth += 1
            elif method in WRITE_METHODS:
                self.writes += 1
            else:
                self.reads += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1
        return response

    @property
    def total(self) -> int:
        return self.reads + self.writes

    def as_dict(self) -> dict[str, int]:
        return {"reads": self.reads, "writes": self.writes, "auth": self.auth}


class Cloud:
    """One admin connection to a named cloud, plus project-scoped ones made on demand."""

    def __init__(self, name: str, conn: Any, counter: CallCounter) -> None:
        self.name = name
        self.conn = conn
        self.counter = counter
        self._scoped: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def user_id(self) -> str:
        return str(self.conn.current_user_id)

    def scoped(self, project_id: str) -> Any:
        """A connection scoped to a tenant project (nova and cinder create in the token's
        project). The admin user needs a role there: apply assigns ``member``."""
        with self._lock:
            conn = self._scoped.get(project_id)
            if conn is None:
                # A dict: a bare string would be taken as a project *name*.
                conn = self.conn.connect_as_project({"id": project_id, "domain_id": "default"})
                _count(conn, self.counter)
                self._scoped[project_id] = conn
            return conn

    def get(self, service: str, path: str, key: str) -> dict[str, Any]:
        """One object as plain JSON (the answer's ``key``), like ``list`` without the SDK's
        resource: drift and the audit read two quota sets per tenant this way."""
        import openstack.exceptions

        response = getattr(self.conn, service).get(path)
        openstack.exceptions.raise_from_response(response)
        body = response.json().get(key)
        return body if isinstance(body, dict) else {}

    def list(self, service: str, path: str, key: str, *, params: dict[str, Any] | None = None,
             microversion: str | None = None) -> list[dict[str, Any]]:
        """One list call (and its further pages, if the service pages) as plain JSON.

        Not the SDK's resource objects: building one costs milliseconds of CPU (a no-op plan of
        100 tenants spent more time constructing them than waiting for the cloud)."""
        import openstack.exceptions

        proxy = getattr(self.conn, service)
        items: list[dict[str, Any]] = []
        url: str | None = path
        first = dict(params or {})
        if service == "identity":
            # Keystone cuts a list at [DEFAULT] max_db_limit (1,000) and, asked without a
            # `limit`, says nothing: no next link, no `truncated`. A province has more projects
            # and users than that; with a limit it pages (lists that do not page ignore it).
            first.setdefault("limit", KEYSTONE_PAGE)
        query: dict[str, Any] | None = first
        seen: set[str] = set()
        while url is not None:
            response = proxy.get(url, params=query, microversion=microversion)
            openstack.exceptions.raise_from_response(response)
            body = response.json()
            items.extend(body.get(key) or ())
            url, query = _next_page(body, key, response.url), None
            if url in seen:  # a service repeating its marker would loop forever
                break
            if url is not None:
                seen.add(url)
        return items

    def forget_scoped(self, project_id: str) -> None:
        with self._lock:
            conn = self._scoped.pop(project_id, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for conn in self._scoped.values():
            conn.close()
        self._scoped.clear()
        self.conn.close()


def _next_page(body: dict[str, Any], key: str, current: str) -> str | None:
    """The next page's URL in any of the styles OpenStack services use, else None."""
    href: Any = None
    links = body.get(f"{key}_links")  # nova, cinder, neutron
    if isinstance(links, list):
        href = next((link.get("href") for link in links if link.get("rel") == "next"), None)
    elif isinstance(body.get("links"), dict):  # keystone
        href = body["links"].get("next")
    elif isinstance(body.get("next"), str):  # glance: a path on the same host
        href = body["next"]
    if not href:
        return None
    if href.startswith("/"):
        parts = urllib.parse.urlsplit(current)
        href = f"{parts.scheme}://{parts.netloc}{href}"
    return str(href)


def _count(conn: Any, counter: CallCounter) -> None:
    session = conn.session.session  # keystoneauth Session -> requests.Session
    session.hooks.setdefault("response", []).append(counter.hook)


def connect(name: str, counter: CallCounter | None = None) -> Cloud:
    """Open ``name`` from clouds.yaml; a missing cloud is the user's to fix (exit 2)."""
    import openstack
    import openstack.config.exceptions

    counter = counter or CallCounter()
    try:
        conn = openstack.connect(cloud=name)
        _count(conn, counter)
        conn.authorize()
    except openstack.config.exceptions.OpenStackConfigException as exc:
        raise InputError(f"cloud '{name}' is not in clouds.yaml ({_first_line(exc)})",
                         hint="pass --os-cloud NAME of an entry in clouds.yaml, "
                              "or run `govcloud devcloud up` for the local one") from exc
    except Exception as exc:  # noqa: BLE001 - translated by class in failure()
        what = "unreachable" if transient(exc) else "cannot authenticate"
        raise failure(f"cloud '{name}': {what}", exc,
                      "check the endpoint and credentials in clouds.yaml") from exc
    return Cloud(name, conn, counter)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


ADMIN_HINT = "govcloud works in every project: use an admin cloud (--os-cloud)"
REFUSED_HINT = "the credentials in clouds.yaml were refused: check them (--os-cloud)"
UNREACHABLE_HINT = "is the cloud up? (`govcloud devcloud status` for devcloud)"


def failure(message: str, exc: BaseException, hint: str, *, then: str = "") -> CloudError:
    """The one translation of an openstacksdk/keystoneauth failure into a ``CloudError``:
    ``<message>: <what the API said>`` (one line; sdk messages carry the URL and the service's
    message, never credentials), and what to do, chosen by the exception's class: a refused
    login, a missing admin role, an unreachable cloud (each followed by ``then``); else
    ``hint``, the caller's."""
    from keystoneauth1 import exceptions as ksa
    from openstack import exceptions as sdk

    known = None
    seen: BaseException | None = exc
    while seen is not None and known is None:  # the sdk re-raises keystoneauth's as its own
        status = seen.status_code if isinstance(seen, sdk.HttpException) else None
        if isinstance(seen, ksa.Unauthorized) or status == 401:
            known = REFUSED_HINT
        elif isinstance(seen, ksa.Forbidden | sdk.ForbiddenException) or status == 403:
            known = ADMIN_HINT
        elif transient(seen) or isinstance(seen, ksa.EndpointNotFound | ksa.DiscoveryFailure):
            known = UNREACHABLE_HINT
        seen = seen.__cause__ or seen.__context__
    if known is not None:
        hint = f"{known}; {then}" if then else known
    return CloudError(f"{message}: {_first_line(exc)}", hint=hint)


@contextmanager
def step(tenant: str, resource: str, what: str) -> Iterator[None]:
    """Turn any SDK/transport failure into one line naming tenant, resource and step."""
    try:
        yield
    except CloudError:
        raise
    except Exception as exc:  # noqa: BLE001 - the SDK raises many unrelated types
        raise failure(f"tenant {tenant}: {resource}: {what} failed", exc,
                      "fix the cause and re-run apply; it resumes where it stopped",
                      then="then re-run apply; it resumes where it stopped") from exc


T = TypeVar("T")
READ_ATTEMPTS = 3


def retried(tenant: str, what: str, read: Callable[[], T], *, attempts: int = READ_ATTEMPTS,
            pause: float = 1.0, message: str | None = None) -> T:
    """A read (idempotent) retried when the connection drops, as a loaded gunicorn-served API
    does now and then; any other failure, or the last attempt's, is one line (exit 3):
    ``message`` (default ``tenant <tenant>: <what>: list failed``) and what the API said."""
    message = message or f"tenant {tenant}: {what}: list failed"
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except CloudError:
            raise
        except Exception as exc:  # noqa: BLE001 - the SDK raises many unrelated types
            if attempt == attempts or not transient(exc):
                raise failure(message, exc, "fix the cause and run the command again") from exc
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")


def transient(exc: BaseException | None) -> bool:
    """The connection dropped or could not be made (the API may or may not have acted)."""
    import requests
    from keystoneauth1 import exceptions as ksa

    return isinstance(exc, ksa.ConnectFailure | ksa.ConnectionError
                      | requests.exceptions.ConnectionError)
