"""The planners' report in a real browser: Debian's Chromium, driven by Playwright, opens the start
page, three indicator pages and three area profiles from the file system. Every page loads without a
console error, asks for nothing but local files, and every chart and map is drawn (an SVG with
visible marks and a real size).

In CI (CI set) a missing Chromium is a failure; elsewhere the test skips and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagster_project.report.site import area_page
from tests.chromium import require_chromium

CHROMIUM = require_chromium("Browsertest")


@pytest.fixture(scope="module")
def site(report_site) -> Path:
    return report_site


def pages(site: Path) -> list[Path]:
    return [site / "index.html",
            *(site / "indikatoren" / f"{i}.html" for i in ("sgb2_rate", "share_eu2", "residents")),
            *(site / area_page(level, code) for level, code in
              (("statistical_district", "050"), ("city_district", "02"), ("city", "05913000")))]


def test_start_page_indicator_pages_and_profiles_render_offline_without_errors(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for page_file in pages(site):
                assert page_file.is_file(), page_file
                page = context.new_page()
                errors, requests = [], []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: requests.append(r.url))
                page.on("requestfailed", lambda r: errors.append(f"{r.url}: {r.failure}"))
                page.goto(page_file.as_uri(), wait_until="load")
                assert errors == [], (page_file.name, errors)
                foreign = [url for url in requests if not url.startswith("file://")]
                assert foreign == [], (page_file.name, foreign)
                assert any(url.endswith("static/bericht.css") for url in requests)
                figures = page.eval_on_selector_all("figure.diagramm", """figures => figures.map(f => {
                    const svg = f.querySelector('svg');
                    if (!svg) return {svg: false};
                    const box = svg.getBoundingClientRect();
                    const marks = [...svg.querySelectorAll('path, rect, line, circle')].filter(m => {
                        const b = m.getBoundingClientRect(); return b.width > 0 || b.height > 0; });
                    return {svg: true, width: box.width, height: box.height, marks: marks.length,
                            label: svg.getAttribute('aria-label')};
                })""")
                assert len(figures) >= 2, (page_file.name, figures)
                for figure in figures:
                    assert figure["svg"] and figure["width"] > 50 and figure["height"] > 30, (page_file.name, figure)
                    assert figure["marks"] >= 5, (page_file.name, figure)
                # the stylesheet applies (a local file, no fonts or scripts fetched)
                assert page.eval_on_selector("header.kopf", "h => getComputedStyle(h).backgroundColor") \
                    == "rgb(23, 54, 93)"
                page.close()
        finally:
            browser.close()


def test_on_a_phone_no_page_scrolls_sideways_and_the_navigation_is_whole(site):
    """At 390 px (a phone): the page is no wider than the screen (wide tables scroll inside
    themselves), and every link of the main navigation lies on the screen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            for page_file in pages(site):
                page.goto(page_file.as_uri(), wait_until="load")
                width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert width <= screen, (page_file.name, width, screen)
                outside = page.eval_on_selector_all("nav.haupt a", """links => links.filter(a => {
                    const b = a.getBoundingClientRect(); return b.left < 0 || b.right > window.innerWidth;
                }).map(a => a.textContent)""")
                assert outside == [], (page_file.name, outside)
        finally:
            browser.close()


def test_axe_core_finds_no_serious_or_critical_accessibility_problem(site):
    """axe-core (the rules of the WCAG checkers, bundled with axe-playwright-python, no network)
    on the same seven pages in Chromium: nothing serious or critical."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe = Axe()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems = []
            for page_file in pages(site):
                page.goto(page_file.as_uri(), wait_until="load")
                result = axe.run(page).response
                assert result["passes"], page_file.name          # the rules ran
                problems += [f"{page_file.name}: {v['id']} ({v['impact']}) {v['nodes'][0]['target']}"
                             for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert problems == [], "\n".join(problems)
        finally:
            browser.close()


def test_a_keyboard_reaches_the_content_first_and_the_page_says_where_it_is(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto((site / "indikatoren" / "sgb2_rate.html").as_uri(), wait_until="load")
            page.keyboard.press("Tab")
            first = page.evaluate("[document.activeElement.textContent, document.activeElement.getAttribute('href')]")
            assert first == ["Zum Inhalt springen", "#inhalt"]
            assert page.is_visible("a.sprung")            # shown while it has the focus
            current = page.eval_on_selector_all("nav a[aria-current=page]", "links => links.map(a => a.textContent)")
            assert current == ["Indikatoren"]
        finally:
            browser.close()
