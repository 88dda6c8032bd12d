"""A small social site on loopback that serves the demo case, for tests, examples and the CLI demo.

:class:`DemoSite` runs a real HTTP server (stdlib ``ThreadingHTTPServer`` in a daemon thread) over the
media and posts that :func:`~takedown.demo.media.generate_demo_media` wrote. It behaves like the sites
a takedown pipeline meets: a JavaScript-rendered home page with a JSON API behind it (behind an age gate,
with a cookie banner and infinite scroll), a server-rendered feed and search with ``rel="next"``
pagination, post pages with Open Graph tags and media, a video that a script plays as an HLS stream, an
account page behind a login, a contact page, an abuse-report form, ``security.txt`` and ``robots.txt``.
Posts can be taken down (410 Gone) and restored, so follow-up checks have something to observe.

Routes::

    GET  /                              HTML shell whose script renders /api/feed (noscript: /feed?page=1):
                                        an age gate (button#age-yes sets the cookie age_ok=1; until then the
                                        feed is hidden and nothing loads), a cookie banner
                                        (button#cookie-accept), infinite scroll (the next /api/feed page loads
                                        when the reader nears the bottom) and a "Load more" button#more
    GET  /api/feed?page=N               JSON {"page", "next", "posts": [{"id", "url", "title",
                                        "language", "thumb"}]}
    GET  /api/player/<id>               JSON {"hls": "/media/mNN/index.m3u8"} for a post with a stream, else 404
    GET  /feed?page=N                   <a class="post-link"> per post, <a rel="next"> while more
    GET  /search?q=TEXT&page=N          <a class="result"> per hit (NFKC, case-insensitive), <a rel="next">
    GET  /post/<id>                     the post; 404 unknown, 410 taken down. A post with a stream also has
                                        <video class="stream">: its script asks /api/player/<id>, fetches the
                                        playlist and every segment, and plays them from a blob: URL
    GET  /media/<name>                  media bytes; only names in the manifest; 404 once taken down
    GET  /media/mNN/index.m3u8, seg<k>.ts  the HLS playlist and MPEG-TS segments of a stream
    GET  /login, POST /login            sign-in form; ACCOUNT_USER / ACCOUNT_PASSWORD get the session cookie
                                        (DemoSite.session_cookie) and a 303 to /account; others get 401
    GET  /account                       200 with the session cookie, else 401 and a link to /login
    GET  /contact, /report              contact page (mailto:abuse@demo-sns.example), report form
    POST /report                        200 "received" (kept in DemoSite.reports_received)
    GET  /.well-known/security.txt      RFC 9116
    GET  /robots.txt, /sitemap.xml

Feed, search and sitemap list only posts that are not taken down; pages hold 5 posts each.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
import threading
import unicodedata
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from takedown._server_thread import ServerThread
from takedown.demo.media import DemoManifest, DemoPost, generate_demo_media
from takedown.errors import UsageError

__all__ = ["DemoSite"]

PAGE_SIZE: Final = 5
"""Posts per page of the feed, the API and search results."""

ABUSE_EMAIL: Final = "abuse@demo-sns.example"
SECURITY_EMAIL: Final = "security@demo-sns.example"
ACCOUNT_USER: Final = "officer"
"""The user name that signs in at ``/login``."""
ACCOUNT_PASSWORD: Final = "demo-password"
"""The password that signs in at ``/login`` (a demo, not a secret)."""
SESSION_COOKIE: Final = "demo_session"
"""The name of the cookie that ``/account`` requires."""

_MAX_PAGE: Final = 10_000
_MAX_FORM_BYTES: Final = 64 * 1024
_CONTENT_TYPES: Final[Mapping[str, str]] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".mp4": "video/mp4",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
}
_HTML: Final = "text/html; charset=utf-8"
_TEXT: Final = "text/plain; charset=utf-8"


def _normalize(text: str) -> str:
    """NFKC-normalise and case-fold: how the search compares a query with a post."""
    return unicodedata.normalize("NFKC", text).casefold()


class DemoSite:
    """Serve the demo case on loopback over real HTTP.

    Use it as a context manager (``with DemoSite(tmp_path) as site: ...``) or call :meth:`start` and
    :meth:`stop`. Starting generates the media under ``root`` (or reuses an earlier run with the same
    seed). Every method is safe to call from any thread while the server runs.

    Args:
        root: folder for the generated media (see :func:`~takedown.demo.media.generate_demo_media`).
        host: IPv4 address to bind; loopback by default.
        port: TCP port; 0 picks a free one (read it back from :attr:`base_url`).
        seed: seed for the generated media.
    """

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0, seed: int = 7) -> None:
        self._root = Path(root).resolve()
        self._host = host
        self._port = port
        self._seed = seed
        self._lock = threading.Lock()  # guards the state below; never held while doing I/O on the socket
        self._lifecycle = threading.Lock()  # serialises start() and stop()
        self._manifest: DemoManifest | None = None
        self._serving: ServerThread[_Server] | None = None
        self._base_url: str | None = None
        self._taken_down: set[str] = set()
        self._requests = 0
        self._reports: list[dict[str, str]] = []
        self._session = secrets.token_urlsafe(16)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> DemoSite:
        """Generate (or reuse) the media, bind the port and serve in a daemon thread; return ``self``.

        Raises:
            UsageError: the site is already running.
            OSError: the address cannot be bound.
        """
        with self._lifecycle:
            if self._serving is not None:
                raise UsageError("the demo site is already running")
            manifest = self.manifest
            server = _Server((self._host, self._port), self, manifest)
            with self._lock:
                self._base_url = server.base_url
            self._serving = ServerThread(server, name="takedown-demo-site", poll_interval=0.05)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call twice or on a site that never started."""
        with self._lifecycle:
            with self._lock:
                self._base_url = None
            serving, self._serving = self._serving, None
            if serving is not None:
                serving.stop()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what it serves --------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The absolute folder that holds the generated media and ``manifest.json``."""
        return self._root

    @property
    def manifest(self) -> DemoManifest:
        """The demo case's ground truth; generated on first use if the site has not started yet."""
        with self._lock:
            if self._manifest is None:
                self._manifest = generate_demo_media(self._root, seed=self._seed)
            return self._manifest

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running site, without a trailing slash.

        Raises:
            UsageError: the site is not running.
        """
        with self._lock:
            if self._base_url is None:
                raise UsageError("the demo site is not running; call start() or use it in a with block")
            return self._base_url

    @property
    def requests_served(self) -> int:
        """How many HTTP requests the site has answered since it was created."""
        with self._lock:
            return self._requests

    @property
    def reports_received(self) -> list[dict[str, str]]:
        """The abuse reports posted to ``/report`` so far, as form fields (first value of each)."""
        with self._lock:
            return [dict(r) for r in self._reports]

    @property
    def session_cookie(self) -> tuple[str, str]:
        """``(name, value)`` of the session cookie that signing in at ``/login`` sets and ``/account`` requires.

        The value is random per ``DemoSite``, as a real site's session would be.
        """
        return SESSION_COOKIE, self._session

    def reference_files(self) -> list[Path]:
        """Absolute paths of the reference (victim) media: the images, then the video."""
        return [self._root / m.file for m in self.manifest.references()]

    def url_for(self, post_id: str) -> str:
        """Absolute URL of a post's page on the running site.

        Raises:
            UsageError: no such post, or the site is not running.
        """
        self.manifest.post(post_id)
        return f"{self.base_url}/post/{quote(post_id)}"

    def take_down(self, post_id: str) -> None:
        """Remove a post: its page answers 410 Gone, its media 404, and it leaves feed and search.

        Raises:
            UsageError: no such post.
        """
        self.manifest.post(post_id)
        with self._lock:
            self._taken_down.add(post_id)

    def restore(self, post_id: str) -> None:
        """Undo :meth:`take_down` (a no-op for a post that is up).

        Raises:
            UsageError: no such post.
        """
        self.manifest.post(post_id)
        with self._lock:
            self._taken_down.discard(post_id)

    def is_taken_down(self, post_id: str) -> bool:
        """Whether :meth:`take_down` removed this post (and :meth:`restore` has not brought it back)."""
        with self._lock:
            return post_id in self._taken_down

    # -- used by the request handler -------------------------------------------------------------

    def _count_request(self) -> None:
        with self._lock:
            self._requests += 1

    def _record_report(self, fields: dict[str, str]) -> None:
        with self._lock:
            self._reports.append(fields)

    def _visible_posts(self) -> list[DemoPost]:
        with self._lock:
            gone = set(self._taken_down)
        return [p for p in self.manifest.posts if p.id not in gone]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: DemoSite, manifest: DemoManifest) -> None:
        self.site = site
        self.manifest = manifest
        media_root = site.root / "site"
        # The only files /media/ can ever serve: names taken from the manifest, never from the URL.
        self.media_files: dict[str, Path] = {}
        self.media_posts: dict[str, list[str]] = {}
        for post in manifest.posts:
            for file in post.media:
                name = file.removeprefix("media/")
                self.media_files[name] = media_root / file
                self.media_posts.setdefault(name, []).append(post.id)
        for stream in manifest.streams:
            for file in [stream.playlist, *stream.segments]:
                name = file.removeprefix(f"{media_root.name}/media/")
                self.media_files[name] = site.root / file
                self.media_posts.setdefault(name, []).append(stream.post)
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        self.base_url = f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response is normal for a web server; the demo stays quiet on stderr.
        pass


class _Response:
    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: HTTPStatus,
        body: bytes | str,
        content_type: str = _HTML,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = dict(headers or {})


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DemoSNS/1.0"
    sys_version = ""
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait on delayed ACKs

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the demo site never writes to stderr."""

    @property
    def _srv(self) -> _Server:
        return cast(_Server, self.server)

    def do_GET(self) -> None:
        self._respond(self._route_get(), head=False)

    def do_HEAD(self) -> None:
        self._respond(self._route_get(), head=True)

    def do_POST(self) -> None:
        self._srv.site._count_request()
        path = urlsplit(self.path).path
        if path not in ("/report", "/login"):
            self._drain_body()
            self._respond(_not_found(), head=False)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_FORM_BYTES:
            self.close_connection = True
            self._respond(_Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large", _TEXT), head=False)
            return
        raw = self.rfile.read(length).decode("utf-8", errors="replace") if length > 0 else ""
        fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        if path == "/login":
            self._respond(self._login(fields), head=False)
            return
        self._srv.site._record_report(fields)
        self._respond(_Response(HTTPStatus.OK, "received", _TEXT), head=False)

    def _login(self, fields: Mapping[str, str]) -> _Response:
        if (fields.get("username"), fields.get("password")) != (ACCOUNT_USER, ACCOUNT_PASSWORD):
            return _Response(HTTPStatus.UNAUTHORIZED, _login_page("Wrong user name or password."))
        name, value = self._srv.site.session_cookie
        return _Response(
            HTTPStatus.SEE_OTHER,
            _html_page("Signed in", '<p><a href="/account">Continue</a></p>'),
            headers={"Location": "/account", "Set-Cookie": f"{name}={value}; Path=/; HttpOnly; SameSite=Lax"},
        )

    def _signed_in(self) -> bool:
        name, value = self._srv.site.session_cookie
        cookies: dict[str, str] = {}
        for header in self.headers.get_all("Cookie") or []:
            for part in header.split(";"):
                key, _, val = part.strip().partition("=")
                cookies.setdefault(key, val)
        return secrets.compare_digest(cookies.get(name, ""), value)

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= _MAX_FORM_BYTES:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _respond(self, response: _Response, *, head: bool) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def _route_get(self) -> _Response:
        srv = self._srv
        srv.site._count_request()
        url = urlsplit(self.path)
        path = url.path
        query = parse_qs(url.query, keep_blank_values=True)
        base = srv.base_url
        try:
            if path in ("/", "/index.html"):
                return _Response(HTTPStatus.OK, _HOME_PAGE)
            if path == "/api/feed":
                return self._api_feed(_page_number(query), base)
            if path.startswith("/api/player/"):
                return self._api_player(unquote(path.removeprefix("/api/player/")))
            if path == "/feed":
                return self._feed(_page_number(query))
            if path == "/search":
                return self._search(query.get("q", [""])[0], _page_number(query))
            if path.startswith("/post/"):
                return self._post(unquote(path.removeprefix("/post/")), base)
            if path.startswith("/media/"):
                return self._media(unquote(path.removeprefix("/media/")))
            if path == "/login":
                return _Response(HTTPStatus.OK, _login_page(""))
            if path == "/account":
                return self._account()
            if path == "/contact":
                return _Response(HTTPStatus.OK, _CONTACT_PAGE)
            if path == "/report":
                return _Response(HTTPStatus.OK, _REPORT_PAGE)
            if path == "/.well-known/security.txt":
                return _Response(HTTPStatus.OK, _security_txt(base), _TEXT)
            if path == "/robots.txt":
                return _Response(HTTPStatus.OK, _robots_txt(base), _TEXT)
            if path == "/sitemap.xml":
                return self._sitemap(base)
        except _BadRequest as exc:
            return _Response(HTTPStatus.BAD_REQUEST, _html_page("Bad request", f"<p>{html.escape(str(exc))}</p>"))
        return _not_found()

    # -- routes --------------------------------------------------------------------------------

    def _api_feed(self, page: int, base: str) -> _Response:
        posts, next_page = _paginate(self._srv.site._visible_posts(), page)
        items = [
            {
                "id": p.id,
                "url": f"{base}/post/{p.id}",
                "title": p.title,
                "language": p.language,
                "thumb": _thumb(p, base),
            }
            for p in posts
        ]
        body = json.dumps({"page": page, "next": next_page, "posts": items}, ensure_ascii=False)
        return _Response(HTTPStatus.OK, body, "application/json")

    def _api_player(self, post_id: str) -> _Response:
        srv = self._srv
        stream = srv.manifest.stream(post_id)
        if stream is None:
            return _Response(HTTPStatus.NOT_FOUND, '{"error": "no player"}', "application/json")
        if srv.site.is_taken_down(post_id):
            return _Response(HTTPStatus.GONE, '{"error": "removed"}', "application/json")
        playlist = "/" + stream.playlist.removeprefix("site/")
        return _Response(HTTPStatus.OK, json.dumps({"hls": playlist}), "application/json")

    def _account(self) -> _Response:
        if not self._signed_in():
            body = '<h1>Sign in required</h1>\n<p><a href="/login">Sign in</a> to see your account.</p>'
            return _Response(HTTPStatus.UNAUTHORIZED, _html_page("Sign in required", body))
        body = (
            f'<h1>Your account</h1>\n<p class="account">Signed in as {html.escape(ACCOUNT_USER)}.</p>\n'
            f'<p>Reports sent from this account: {len(self._srv.site.reports_received)}</p>'
        )
        return _Response(HTTPStatus.OK, _html_page("Your account", body), headers={"Cache-Control": "private"})

    def _feed(self, page: int) -> _Response:
        posts, next_page = _paginate(self._srv.site._visible_posts(), page)
        items = "\n".join(_link("post-link", f"/post/{p.id}", p.title, p.language) for p in posts)
        nav = f'<a rel="next" href="/feed?page={next_page}">next</a>' if next_page else ""
        body = f'<h1>Latest posts</h1>\n<ul class="feed">\n{items}\n</ul>\n<nav>{nav}</nav>'
        return _Response(HTTPStatus.OK, _html_page(f"Feed, page {page}", body))

    def _search(self, q: str, page: int) -> _Response:
        needle = _normalize(q).strip()
        hits = (
            [p for p in self._srv.site._visible_posts() if needle in _normalize(f"{p.title}\n{p.text}")]
            if needle
            else []
        )
        posts, next_page = _paginate(hits, page)
        items = "\n".join(_link("result", f"/post/{p.id}", p.title, p.language) for p in posts)
        nav = ""
        if next_page:
            href = "/search?" + urlencode({"q": q, "page": next_page})
            nav = f'<a rel="next" href="{html.escape(href)}">next</a>'
        summary = f"{len(hits)} result(s) for “{html.escape(q)}”" if needle else "Type something to search."
        body = (
            f'<h1>Search</h1>\n<form action="/search" method="get"><input name="q" value="{html.escape(q)}">'
            f'<button type="submit">Search</button></form>\n<p class="summary">{summary}</p>\n'
            f'<ul class="results">\n{items}\n</ul>\n<nav>{nav}</nav>'
        )
        return _Response(HTTPStatus.OK, _html_page(f"Search: {q}", body))

    def _post(self, post_id: str, base: str) -> _Response:
        site = self._srv.site
        try:
            post = self._srv.manifest.post(post_id)
        except UsageError:
            return _not_found()
        if site.is_taken_down(post.id):
            body = "<h1>Gone</h1>\n<p>This post was removed.</p>"
            return _Response(HTTPStatus.GONE, _html_page("Removed", body))
        title = html.escape(post.title)
        blocks: list[str] = []
        for index, file in enumerate(post.media, start=1):
            src = html.escape(f"/{file}")
            if file.endswith(".mp4"):
                blocks.append(f'<video controls preload="metadata"><source src="{src}" type="video/mp4"></video>')
            else:
                alt = html.escape(f"{post.title} ({index})")
                blocks.append(f'<img src="{src}" alt="{alt}">')
        has_stream = self._srv.manifest.stream(post.id) is not None
        if has_stream:
            # The stream's URL is not in the HTML: the script asks the API for it, as a real player would.
            player = html.escape(f"/api/player/{post.id}")
            blocks.append(f'<video class="stream" muted playsinline data-player="{player}"></video>')
        media = "\n".join(f"<figure>{b}</figure>" for b in blocks)
        thumb = _thumb(post, base)
        head = (
            f'<meta property="og:title" content="{title}">\n'
            f'<meta property="og:type" content="article">\n'
            f'<meta property="og:url" content="{html.escape(base)}/post/{html.escape(post.id)}">\n'
            + (f'<meta property="og:image" content="{html.escape(thumb)}">\n' if thumb else "")
            + f'<link rel="canonical" href="{html.escape(base)}/post/{html.escape(post.id)}">'
        )
        body = (
            f'<article id="{html.escape(post.id)}">\n<h1>{title}</h1>\n'
            f'<p class="text">{html.escape(post.text)}</p>\n{media}\n</article>'
        )
        if has_stream:
            body += _PLAYER_SCRIPT
        return _Response(HTTPStatus.OK, _html_page(post.title, body, lang=post.language, head=head, bare_title=True))

    def _media(self, name: str) -> _Response:
        srv = self._srv
        path = srv.media_files.get(name)
        if path is None:
            return _not_found()
        if all(srv.site.is_taken_down(post_id) for post_id in srv.media_posts[name]):
            return _not_found()
        try:
            data = path.read_bytes()
        except OSError:
            return _not_found()
        return _Response(
            HTTPStatus.OK,
            data,
            _CONTENT_TYPES[path.suffix.lower()],
            {"Cache-Control": "public, max-age=60"},
        )

    def _sitemap(self, base: str) -> _Response:
        urls = "\n".join(
            f"  <url><loc>{html.escape(base)}/post/{html.escape(p.id)}</loc></url>"
            for p in self._srv.site._visible_posts()
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}\n</urlset>\n'
        )
        return _Response(HTTPStatus.OK, body, "application/xml")


# ------------------------------------------------------------------------------------------------
# Helpers and fixed pages


def _page_number(query: Mapping[str, list[str]]) -> int:
    raw = query.get("page", ["1"])[0]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE:
        raise _BadRequest(f"page must be a whole number from 1 to {_MAX_PAGE}")
    return int(raw)


def _paginate(posts: list[DemoPost], page: int) -> tuple[list[DemoPost], int | None]:
    start = (page - 1) * PAGE_SIZE
    chunk = posts[start : start + PAGE_SIZE]
    return chunk, (page + 1 if start + PAGE_SIZE < len(posts) else None)


def _thumb(post: DemoPost, base: str) -> str | None:
    for file in post.media:
        if not file.endswith(".mp4"):
            return f"{base}/{file}"
    return None


def _link(css_class: str, href: str, text: str, lang: str) -> str:
    return (
        f'<li><a class="{css_class}" href="{html.escape(href)}" lang="{html.escape(lang)}">{html.escape(text)}</a></li>'
    )


def _not_found() -> _Response:
    return _Response(HTTPStatus.NOT_FOUND, _html_page("Not found", "<h1>Not found</h1>\n<p>No such page.</p>"))


def _robots_txt(base: str) -> str:
    return f"User-agent: *\nDisallow: /api/\nAllow: /\n\nSitemap: {base}/sitemap.xml\n"


def _security_txt(base: str) -> str:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).replace(microsecond=0)
    return (
        f"Contact: mailto:{SECURITY_EMAIL}\n"
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        "Preferred-Languages: en, ko\n"
        f"Canonical: {base}/.well-known/security.txt\n"
    )


_FOOTER: Final = '<footer><a href="/contact">Contact</a> · <a href="/report">Report abuse</a></footer>'


def _html_page(title: str, body: str, *, lang: str = "en", head: str = "", bare_title: bool = False) -> str:
    full_title = html.escape(title) if bare_title else f"{html.escape(title)} · Demo SNS"
    return (
        f'<!doctype html>\n<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{full_title}</title>\n{head}\n</head>\n<body>\n"
        f'<header><a href="/">Demo SNS</a> · <a href="/search">Search</a></header>\n<main>\n{body}\n</main>\n'
        f"{_FOOTER}\n</body>\n</html>\n"
    )


_HOME_STYLE: Final = """<style>
[hidden] { display: none !important; }
.card { min-height: 220px; border-bottom: 1px solid #ccc; }
#age-gate { position: fixed; inset: 0; background: rgba(0, 0, 0, 0.92); color: #fff; z-index: 10;
  display: flex; flex-direction: column; align-items: center; justify-content: center; }
#cookie-banner { position: fixed; left: 0; right: 0; bottom: 0; background: #eee; padding: 1em; z-index: 5; }
</style>"""

_HOME_PAGE: Final = _html_page(
    "Home",
    """<h1>Demo SNS</h1>
<form action="/search" method="get">
<input name="q" placeholder="Search"><button type="submit">Search</button>
</form>
<div id="age-gate" role="dialog" aria-modal="true" aria-labelledby="age-question" hidden>
<p id="age-question">This site is for adults only. Are you 18 or older?</p>
<button id="age-yes" type="button">I am 18 or older</button>
</div>
<div id="cookie-banner" role="region" aria-label="Cookies" hidden>
<p>We use cookies to remember your choices.</p>
<button id="cookie-accept" type="button">Accept cookies</button>
</div>
<section id="feed" aria-live="polite" hidden></section>
<p id="feed-end" hidden>You have seen every post.</p>
<button id="more" type="button" hidden>Load more</button>
<noscript><p><a href="/feed?page=1">Browse the feed without JavaScript</a></p></noscript>
<script>
"use strict";
const feed = document.getElementById("feed");
const more = document.getElementById("more");
let nextPage = 1;
let loading = false;
function hasCookie(name) {
  return document.cookie.split("; ").includes(name + "=1");
}
function nearBottom() {
  return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 300;
}
async function loadMore() {
  if (nextPage === null || loading || feed.hidden) return;
  loading = true;
  try {
    const response = await fetch("/api/feed?page=" + nextPage);
    const data = await response.json();
    for (const post of data.posts) {
      const card = document.createElement("article");
      card.className = "card";
      const link = document.createElement("a");
      link.className = "post-link";
      link.href = post.url;
      link.lang = post.language;
      link.textContent = post.title;
      card.appendChild(link);
      if (post.thumb) {
        const img = document.createElement("img");
        img.src = post.thumb;
        img.alt = "";
        img.width = 160;
        card.appendChild(img);
      }
      feed.appendChild(card);
    }
    nextPage = data.next;
  } finally {
    loading = false;
  }
  more.hidden = nextPage === null;
  document.getElementById("feed-end").hidden = nextPage !== null;
}
function openFeed() {
  document.getElementById("age-gate").hidden = true;
  feed.hidden = false;
  loadMore();
}
window.addEventListener("scroll", () => { if (nearBottom()) loadMore(); }, { passive: true });
more.addEventListener("click", loadMore);
document.getElementById("age-yes").addEventListener("click", () => {
  document.cookie = "age_ok=1; path=/; max-age=86400; SameSite=Lax";
  openFeed();
});
document.getElementById("cookie-accept").addEventListener("click", () => {
  document.cookie = "cookies_ok=1; path=/; max-age=31536000; SameSite=Lax";
  document.getElementById("cookie-banner").hidden = true;
});
document.getElementById("cookie-banner").hidden = hasCookie("cookies_ok");
if (hasCookie("age_ok")) openFeed(); else document.getElementById("age-gate").hidden = false;
</script>""",
    head=_HOME_STYLE,
)

_PLAYER_SCRIPT: Final = """
<script>
"use strict";
// A tiny stand-in for an HLS player (hls.js and the like): ask the API for the playlist, fetch it and every
// segment, and hand the video element a blob: URL. Only the network log shows where the bytes came from.
(async () => {
  const video = document.querySelector("video.stream");
  const info = await (await fetch(video.dataset.player)).json();
  const playlist = new URL(info.hls, location.href);
  const text = await (await fetch(playlist)).text();
  const segments = [];
  for (const line of text.split("\\n")) {
    if (line && !line.startsWith("#")) {
      segments.push(await (await fetch(new URL(line, playlist))).arrayBuffer());
    }
  }
  video.src = URL.createObjectURL(new Blob(segments, { type: "video/mp2t" }));
  video.dataset.state = "loaded";
})();
</script>"""


def _login_page(message: str) -> str:
    note = f'<p class="error">{html.escape(message)}</p>\n' if message else ""
    return _html_page(
        "Sign in",
        f"""<h1>Sign in</h1>
{note}<form action="/login" method="post">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>""",
    )


_CONTACT_PAGE: Final = _html_page(
    "Contact",
    f"""<h1>Contact</h1>
<p>Abuse, takedown and legal requests: <a href="mailto:{ABUSE_EMAIL}">{ABUSE_EMAIL}</a></p>
<p>Security issues: see <a href="/.well-known/security.txt">security.txt</a>.</p>""",
)

_REPORT_PAGE: Final = _html_page(
    "Report abuse",
    """<h1>Report abuse</h1>
<form action="/report" method="post">
<label>URL of the content <input name="url" type="url" required></label>
<label>Reason <select name="reason">
<option value="ncii">Intimate images shared without consent</option>
<option value="copyright">Copyright</option>
<option value="other">Other</option>
</select></label>
<label>Details <textarea name="details"></textarea></label>
<label>Your email <input name="email" type="email" required></label>
<button type="submit">Send report</button>
</form>""",
)
