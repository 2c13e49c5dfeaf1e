"""The release gate: Great Expectations suites from expectations/, their results and reports."""
