from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.errors import UsageError
from takedown.sites.urls import UrlSet, canonicalize, dedupe


@pytest.mark.parametrize(("url", "canonical"), [
    ("HTTP://Site.Example:80/a", "http://site.example/a"),
    ("https://site.example:443", "https://site.example/"),
    ("https://site.example:8443/a", "https://site.example:8443/a"),
    ("https://site.example./a", "https://site.example/a"),
    ("https://bücher.example/ä ö", "https://xn--bcher-kva.example/%C3%A4%20%C3%B6"),
    ("https://site.example/a/./b/../c", "https://site.example/a/c"),
    ("https://site.example/a/b/..", "https://site.example/a/"),
    ("https://site.example/../../x", "https://site.example/x"),
    ("https://site.example/%7euser/%2fslash%3f", "https://site.example/~user/%2Fslash%3F"),
    ("https://site.example/%41%2D%5F", "https://site.example/A-_"),
    ("https://site.example/100%", "https://site.example/100%25"),
    ("https://site.example/p?b=2&a=1&a=0", "https://site.example/p?a=0&a=1&b=2"),
    ("https://site.example/p?utm_source=x&UTM_Medium=y&fbclid=z&gclid=w&id=7", "https://site.example/p?id=7"),
    ("https://site.example/p?utm_source=x", "https://site.example/p"),
    ("https://site.example/p?", "https://site.example/p"),
    ("https://site.example/p?q=a+b&&x=", "https://site.example/p?q=a+b&x="),
    ("https://site.example/p#comments", "https://site.example/p"),
    ("https://site.example/#!/user/5", "https://site.example/#!/user/5"),
    ("https://site.example/dir/", "https://site.example/dir/"),
    ("https://user:pw@site.example/", "https://user:pw@site.example/"),
    ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
    ("  https://site.example/x  ", "https://site.example/x"),
    ("MAILTO:abuse@site.example#x", "mailto:abuse@site.example"),
])
def test_canonicalize(url: str, canonical: str) -> None:
    assert canonicalize(url) == canonical


@pytest.mark.parametrize("bad", ["/relative/path", "site.example/x", "https:///no-host", "http://[::1/x",
                                 "https://site.example:99999/"])
def test_canonicalize_refuses_what_is_not_an_absolute_url(bad: str) -> None:
    with pytest.raises(UsageError):
        canonicalize(bad)


def test_drop_params_can_be_chosen() -> None:
    assert canonicalize("https://s.example/?ref=x&fbclid=1", drop_params=["ref"]) == "https://s.example/?fbclid=1"


def test_url_set_compares_by_canonical_form() -> None:
    urls = UrlSet(["https://Site.example/a?utm_campaign=1"])
    assert not urls.add("https://site.example:443/a#top")
    assert urls.add("https://site.example/b")
    assert "HTTPS://SITE.EXAMPLE/b" in urls and "https://site.example/c" not in urls and "relative" not in urls
    assert list(urls) == ["https://site.example/a", "https://site.example/b"] and len(urls) == 2
    assert dedupe(["https://s.example/x?b=1&a=2", "https://s.example/x?a=2&b=1", "https://s.example/y"]) == [
        "https://s.example/x?b=1&a=2", "https://s.example/y"]


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
_hosts = st.sampled_from(["site.example", "SITE.Example", "bücher.example", "xn--bcher-kva.example", "[::1]",
                          "127.0.0.1", "a-b.example.", "straße.example"])


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["http", "https", "HTTPS"]), host=_hosts,
       port=st.sampled_from(["", ":80", ":443", ":8080"]), path=_text, query=_text, fragment=_text)
def test_canonicalize_is_idempotent(scheme: str, host: str, port: str, path: str, query: str, fragment: str) -> None:
    url = f"{scheme}://{host}{port}/{path.replace('#', '').replace('?', '')}?{query.replace('#', '')}#{fragment}"
    once = canonicalize(url)
    assert canonicalize(once) == once
    assert once.isascii() and "#" not in once.replace("#!", "")
