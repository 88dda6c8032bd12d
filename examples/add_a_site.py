"""Add a site with a TOML file alone: describe the demo site, load it, search it, fetch one page.

Run ``python examples/add_a_site.py [OUT]``: it writes ``OUT/sites/demo-sns.toml``, serves the demo site on
loopback (synthetic media only), loads the file with the site's address filled in, searches the site for the demo
case's keyword, and fetches the first page found. OUT defaults to a new temporary folder. No code is written for
the site: everything it needs to know is in the file. ``docs/sites.md`` lists every key.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

from takedown.demo import DemoSite
from takedown.models import SearchQuery
from takedown.settings import NetworkSettings
from takedown.sites.declarative import ConfiguredSite, load_site

# {base_url} is filled in when the file is loaded (the demo site picks a free port); {query} is the search text.
# Top-level keys (here: sitemaps) come before the first [table], as TOML requires.
SITE_TOML = """\
name = "demo-sns.example"
base_url = "{base_url}"
jurisdiction = "KR"
sitemaps = ["/sitemap.xml"]

[search]
url = "/search?q={query}"
results = "a.result"
next = "a[rel=next]"

[[listings]]
url = "/feed?page=1"
items = "a.post-link"
next = "a[rel=next]"

[fetch]
title = "article h1"
text = "article p.text"

[report]
email = "abuse@demo-sns.example"

[limits]
rate = 0        # our own demo site on loopback: no need to spare it
"""


async def explore(adapter: ConfiguredSite, keyword: str) -> None:
    """Search the site, then fetch the first page found, and print what came back (hashes, never media)."""
    try:
        found = [c async for c in adapter.search(SearchQuery(case_id="example", text=keyword))]
        sources = Counter(c.metadata["source"] for c in found)
        print(f"found {len(found)} pages on {adapter.site}: " + ", ".join(f"{n} by {s}" for s, n in sources.items()))
        page = await adapter.fetch(found[0])
        print(f"fetched {page.final_url}: HTTP {page.status}, title {page.title!r}")
        for item in page.media:
            print(f"  {item.kind.value:<5} {item.content_type:<10} {len(item.content):>7} bytes  {item.url}")
        print("report to: " + ", ".join(sorted({f"{h.kind} {h.value}" for h in page.contacts})))
    finally:
        await adapter.aclose()


def main(out: Path) -> int:
    site_file = out / "sites" / "demo-sns.toml"
    site_file.parent.mkdir(parents=True, exist_ok=True)
    site_file.write_text(SITE_TOML, encoding="utf-8")
    with DemoSite(out / "demo-site") as site:
        adapter = load_site(site_file, variables={"base_url": site.base_url},
                            network=NetworkSettings(allow_loopback=True))  # the demo site lives on 127.0.0.1
        asyncio.run(explore(adapter, "minji_cam"))
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="takedown-add-a-site-"))
    target.mkdir(parents=True, exist_ok=True)
    sys.exit(main(target))
