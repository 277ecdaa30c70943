"""Behind a reverse proxy, over the real server (waitress drops X-Forwarded-* headers unless told otherwise):
with CHENGNUO_TRUSTED_PROXIES, each client address has its own sign-in limit and https makes the session
cookie Secure; without it, the same headers change nothing."""

from __future__ import annotations

import http.cookiejar
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from .conftest import ROOT
from .servers import ServiceProcess


def sign_in_attempts(base: str, address: str, count: int, proto: str = "http") -> tuple[list[int], list[str]]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    headers = {"X-Forwarded-For": address, "X-Forwarded-Proto": proto}
    page = opener.open(urllib.request.Request(f"{base}/login", headers=headers), timeout=30)
    cookies = page.headers.get_all("Set-Cookie") or []
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": "nobody", "password": "wrong", "csrf_token": token}).encode()
    statuses = []
    for _ in range(count):
        try:
            opener.open(urllib.request.Request(f"{base}/login", data=form, headers=headers), timeout=30)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    return statuses, cookies


@pytest.mark.parametrize("trusted", [1, 0])
def test_forwarded_client_addresses_and_https_count_only_from_trusted_proxies(tmp_path, trusted):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_TRUSTED_PROXIES": str(trusted),
           "CHENGNUO_LOGIN_RATE_LIMIT": "3 per minute", "CHENGNUO_CONVERTER_WORKERS": "1"}
    service = ServiceProcess(env, ROOT)
    service.start()
    try:
        first, cookies = sign_in_attempts(service.base, "198.51.100.1", 4, proto="https")
        second, _ = sign_in_attempts(service.base, "198.51.100.2", 2)
    finally:
        service.stop()
    assert first == [401, 401, 401, 429]
    if trusted:
        assert second == [401, 401]  # another client behind the proxy: its own limit
        assert cookies and all("; Secure" in c for c in cookies)
    else:
        assert second == [429, 429]  # the header is anyone's: one limit for the one peer
        assert cookies and not any("; Secure" in c for c in cookies)
