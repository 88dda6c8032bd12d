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

from takedown.demo.media import DemoManifest, DemoMedia, DemoPost, DemoStream, generate_demo_media
from takedown.demo.site import DemoSite

__all__ = ["DemoManifest", "DemoMedia", "DemoPost", "DemoSite", "DemoStream", "generate_demo_media"]
