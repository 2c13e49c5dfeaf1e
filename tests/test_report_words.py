"""The planners' report speaks German to its readers: every page (text, tooltips, chart labels)
and every CSV and XLSX download is read as a reader meets it (tests/report_words.py, which knows
nothing of the report's code) and must show no programme identifier, setting, table or delivery
name, code word in capitals or English word, and no wrongly typed number."""

from __future__ import annotations

import shutil

from tests.report_words import scan_site


def test_every_page_and_download_reads_as_german(report_site):
    findings = scan_site(report_site)
    assert not findings, "\n".join(map(str, findings[:40])) + f"\n… {len(findings)} Fundstellen"


def test_the_reader_finds_what_is_planted(report_site, tmp_path):
    site = tmp_path / "bericht"
    shutil.copytree(report_site, site)
    for path in site.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    page = site / "methodik.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</main>", '<p>Betroffen: sgb2_child_rate und DFT_REPORT_BOUNDARIES, am 31.12..</p>'
                                 '<svg aria-label="Personen: null"><text font-size="8">Dortmund: 26,7</text></svg>'
                                 '<table><thead><tr><th>Gebiet</th><th>Veränderung</th></tr></thead>'
                                 '<tbody><tr><th>A</th><td>0,4</td></tr><tr><th>B</th><td>-0,00</td></tr></tbody>'
                                 '</table></main>', 1), encoding="utf-8")
    csv = next(site.glob("downloads/*.csv"))
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    csv.write_text("\ufeff" + "\r\n".join([lines[0] + ";kinder_familie", *lines[1:]]), encoding="utf-8")
    pdf = next(site.glob("gebiete/*.pdf"))
    pdf.write_bytes(tiny_pdf("Betroffen: sgb2_rate"))
    found = {(f.rule, f.where.split(" ")[0]) for f in scan_site(site)}
    for rule in ("Programmbezeichner", "Einstellung", "doppelter Punkt", "englisches Wort",
                 "Veränderung ohne Vorzeichen", "minus null", "Schrift unter 11 px", "Zahl ohne Einheit"):
        assert (rule, "methodik.html") in found, rule
    assert ("Programmbezeichner", f"downloads/{csv.name}") in found
    assert ("Programmbezeichner", f"gebiete/{pdf.name}") in found


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text (Helvetica), written by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
