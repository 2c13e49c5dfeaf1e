"""Write-audit-publish: disclosure control, the release file, its manifest and the audit report."""
