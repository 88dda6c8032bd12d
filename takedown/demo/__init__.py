"""A synthetic takedown case and a loopback site that serves it, for tests, examples and ``takedown demo``.

The demo stands in for a real NCII case without any real imagery: the "reference" media (standing for
the victim's) are generated gradients, shapes and text; the site holds altered copies of them (exact,
resized, recompressed, cropped, re-encoded) among unrelated decoys, in posts written in seven languages.

```python
from takedown.demo import DemoSite

with DemoSite(tmp_path) as site:
    site.url_for("p01")            # http://127.0.0.1:PORT/post/p01
    site.manifest.matching_posts() # the ground truth a pipeline should find
```

Making the videos needs PyAV (``pip install 'takedown[video]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown._lazy import lazy_exports

if TYPE_CHECKING:
    from takedown.demo.media import (
        DemoManifest,
        DemoMedia,
        DemoPost,
        DemoStream,
        generate_demo_media,
    )
    from takedown.demo.site import (
        DemoSite,
    )

_LAZY: dict[str, str] = {
    "DemoManifest": "takedown.demo.media",
    "DemoMedia": "takedown.demo.media",
    "DemoPost": "takedown.demo.media",
    "DemoSite": "takedown.demo.site",
    "DemoStream": "takedown.demo.media",
    "generate_demo_media": "takedown.demo.media",
}
"""Where each name lives: imported on first use, so importing one module of the package stays light."""

__all__ = [
    "DemoManifest",
    "DemoMedia",
    "DemoPost",
    "DemoSite",
    "DemoStream",
    "generate_demo_media",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), __all__)
