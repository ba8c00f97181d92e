"""The web workbench: the prebuilt single-page app served at ``/`` (sources in ``web/``)."""

from quantlab.webui.serve import DIST_DIR, mount_webui

__all__ = ["DIST_DIR", "mount_webui"]
