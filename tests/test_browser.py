"""report.html in a real browser: headless Debian chromium shows the verdicts and fetches nothing.

The report is written by the real writers from the synthetic run of test_reports (which carries
hostile text, including URLs to an outside host) plus evidence, so the page has every verdict, an
exchange and a sequence diagram. Chromium runs with every request routed to a local listener
acting as its proxy (loopback included). Debian's chromium 156 still makes a few requests of its
own with any page, about:blank included, despite the flags (component updater, sign-in): those go
to `BROWSER_HOSTS` and are shown by a baseline run on about:blank; the report run may contact
nothing else. A control page with one external image proves the listener does see page requests.
A screenshot is kept in $MARGO_ARTEFACTS (or the test's temporary folder) for people to look at.

Without chromium the test is skipped locally, but fails under CI=true: CI must not go green
without the browser (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from margo_conformance.reports import write_all
from test_reports import make_run

TIMEOUT_S = 90
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--disable-extensions", "--disable-default-apps",
         "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings",
         "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,"
         "AutofillServerCommunication,CertificateTransparencyComponentUpdater")
#: Chromium's own service endpoints, contacted whatever page is open (see the module docstring).
BROWSER_HOSTS = frozenset({"update.googleapis.com", "accounts.google.com", "clients2.google.com",
                           "clientservices.googleapis.com", "redirector.gvt1.com", "edgedl.me.gvt1.com"})

EVIDENCE = {
    "format_version": "1", "redaction": "", "body_text_limit": 65536,
    "exchanges": [{
        "id": "x-0001", "role": "wfm", "scenario": "wfm/desired-state:manifest-bundle-digests-match", "step": 1,
        "phase": "step", "client": {"name": "alpha", "spiffe_id": "spiffe://margo.test/margo/wfm/wfm-1/client/alpha"},
        "started": "2025-06-01T10:00:02.000+00:00", "duration_s": 0.01,
        "request": {"method": "GET", "url": "https://127.0.0.1:8443/api/v1/deployments",
                    "headers": [["accept", "application/vnd.margo.manifest.v1+json"]],
                    "body": {"size": 0, "media_type": "", "text": ""}},
        "outcome": "response", "error": "",
        "response": {"status": 200, "headers": [["etag", 'W/"abc"']],
                     "body": {"size": 2, "media_type": "application/json", "text": "{}", "sha256": "44" * 32}},
        "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256",
                "peer_spiffe_ids": ["spiffe://margo.test/margo/wfm/wfm-1"]},
    }],
}


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    reason = "chromium is not installed (apt-get install chromium); the browser test needs it"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: in CI this is a failure, not a skip")
    pytest.skip(reason)


class _Listener:
    """A TCP listener on loopback that records every connection made to it (the browser's proxy)."""

    def hosts(self) -> set[str]:
        """The hosts asked for: from `CONNECT host:port` or an absolute `GET http://host/...` line."""
        found = set()
        for request in self.connections:
            target = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1:2] or [""]
            found.add(target[0].split("://")[-1].split("/")[0].rsplit(":", 1)[0])
        return found

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.connections.append(conn.recv(512))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def proxy() -> _Listener:
    listener = _Listener()
    yield listener
    listener.close()


def _browser(chromium: str, profile: Path, proxy: _Listener, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--proxy-server=http://127.0.0.1:{proxy.port}",
               "--proxy-bypass-list=<-loopback>", "--window-size=1280,1600", "--virtual-time-budget=3000", *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s: {' '.join(command[:3])} ...")


def test_report_shows_verdicts_and_makes_no_request(tmp_path: Path, proxy: _Listener) -> None:
    chromium = _chromium()
    page = write_all(make_run(), tmp_path / "run", evidence=EVIDENCE)["html"]
    url = page.resolve().as_uri()

    dumped = _browser(chromium, tmp_path / "profile-dom", proxy, "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "Overall: FAIL" in dom
    for label in ("PASS", "FAIL", "ERROR", "SKIP", "NOT TESTED"):
        assert f"{label}</span>" in dom, label
    assert "Manifest &amp; &lt;b&gt;bundle&lt;/b&gt; digests match" in dom  # hostile name shown as text
    assert "<svg" in dom and "harness as alpha" in dom  # the sequence diagram was rendered
    assert "<script>alert(1)</script>" not in dom

    artefacts = Path(os.environ.get("MARGO_ARTEFACTS") or tmp_path / "artefacts")
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "report.png"
    shot.unlink(missing_ok=True)
    taken = _browser(chromium, tmp_path / "profile-shot", proxy, f"--screenshot={shot}", url)
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    page_hosts = proxy.hosts() - BROWSER_HOSTS
    assert not page_hosts, f"the report made requests to {sorted(page_hosts)}: {proxy.connections[:3]}"


def test_browser_background_traffic_does_not_depend_on_the_page(tmp_path: Path, proxy: _Listener) -> None:
    """The hosts tolerated above are the browser's own: it contacts them with about:blank too."""
    chromium = _chromium()
    _browser(chromium, tmp_path / "profile", proxy, "--dump-dom", "about:blank")
    assert proxy.hosts() <= BROWSER_HOSTS, sorted(proxy.hosts() - BROWSER_HOSTS)


def test_the_listener_would_see_a_request(tmp_path: Path, proxy: _Listener) -> None:
    """The no-request check can fail: a page that loads an image does reach the proxy."""
    chromium = _chromium()
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><img src="http://example.invalid/pixel.png">', encoding="utf-8")
    _browser(chromium, tmp_path / "profile", proxy, "--dump-dom", page.resolve().as_uri())
    assert "example.invalid" in proxy.hosts() - BROWSER_HOSTS, proxy.connections
