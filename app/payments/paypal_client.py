"""paypal-checkout-serversdk's HTTP client with what it lacks: a timeout on every request and one fresh
log-in when PayPal has dropped the cached access token. Only the PayPal adapter imports this module."""

from __future__ import annotations

import copy
import threading
from typing import Any

import requests
from paypalcheckoutsdk.core import PayPalEnvironment, PayPalHttpClient
from paypalhttp import HttpError


class TimedPayPalClient(PayPalHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    def __init__(self, environment: PayPalEnvironment, timeout_s: float) -> None:
        super().__init__(environment)
        self.timeout_s = timeout_s
        self._local = threading.local()

    def _session(self) -> requests.Session:
        """One keep-alive session per worker thread (a Session is not thread-safe): upstream opens a new TCP
        connection for every call, which at renewal volume costs more than the call itself."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            # requests reads the proxy variables (walking the whole environment) and stats ~/.netrc on every
            # call, about a third of a charge's CPU at renewal volume: the proxies are read once here instead,
            # and netrc is left out (the SDK sends its own Authorization header).
            session.proxies.update(requests.utils.get_environ_proxies(self.environment.base_url))
            session.trust_env = False
        return session

    def execute(self, request: Any) -> Any:
        """``HttpClient.execute`` as the SDK writes it, plus ``timeout``: upstream calls requests without one,
        so a hung connection would hold the worker thread forever."""
        prepared = copy.deepcopy(request)
        if not hasattr(prepared, "headers"):
            prepared.headers = {}
        for injector in self._injectors:  # the SDK's own: user agent headers and the OAuth2 bearer token
            injector(prepared)
        lowered = self.format_headers(prepared.headers)
        if "user-agent" not in lowered:
            prepared.headers["user-agent"] = self.get_user_agent()
        data = None
        if getattr(prepared, "body", None) is not None:
            raw_headers = prepared.headers
            prepared.headers = lowered
            data = self.encoder.serialize_request(prepared)
            prepared.headers = self.map_headers(raw_headers, lowered)
        response = self._session().request(
            method=prepared.verb,
            url=self.environment.base_url + prepared.path,
            headers=prepared.headers,
            data=data,
            timeout=self.timeout_s,
        )
        return self.parse_response(response)

    def execute_authenticated(self, request: Any) -> Any:
        """Execute; on 401 log in again once (PayPal may revoke a token before its expiry) and retry.
        A 401 means the request was refused unread, so the retry cannot do anything twice."""
        try:
            return self.execute(request)
        except HttpError as exc:
            if exc.status_code != 401 or "Authorization" in getattr(request, "headers", {}):
                raise
        self._access_token = None
        return self.execute(request)
