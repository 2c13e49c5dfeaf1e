"""Debian's Chromium for the tests that drive it (browser, PDF), found without the report's code.

In CI (CI set) a missing Chromium is a failure; elsewhere the calling module skips and says so."""

from __future__ import annotations

import os
import shutil

import pytest


def require_chromium(what: str) -> str:
    """The Chromium binary (DFT_CHROMIUM, `chromium`, `chromium-browser`); at module level of a test
    module: fails in CI, skips the module elsewhere, naming `what` is skipped."""
    found = next((p for p in (os.environ.get("DFT_CHROMIUM"), shutil.which("chromium"),
                              shutil.which("chromium-browser")) if p), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium fehlt in CI (Debian-Paket chromium; .ci/run installiert es).", pytrace=False)
        pytest.skip(f"Kein Chromium installiert (Debian: apt-get install chromium); {what} übersprungen.",
                    allow_module_level=True)
    return found
