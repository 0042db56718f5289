"""JUnit XML: one test case per rule that ran, failing with one entry per finding.

CI systems show JUnit natively; a rule with no findings is a passing test case, and each file
that could not be scanned is an error test case. Text from the scanned repository goes through
`visible`, whose output holds no character XML 1.0 forbids, so the document is always
well-formed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from kubeward.report._escape import visible
from kubeward.results import Report, Result


def render(report: Report) -> str:
    by_rule: dict[str, list[Result]] = defaultdict(list)
    for r in report.results:
        by_rule[r.rule.id].append(r)
        for a in r.absorbed:  # a finding one fix clears with this one still fails its rule
            if a.rule.id != r.rule.id:
                by_rule[a.rule.id].append(a)
    suites = ET.Element("testsuites", name="kubeward")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="kubeward scan",
        tests=str(len(report.rules) + len(report.errors)),
        failures=str(sum(1 for r in report.rules if by_rule.get(r.id))),
        errors=str(len(report.errors)),
        skipped="0",
        time=f"{report.duration_s:.3f}",
    )
    if report.config is not None:  # the configuration file the scan used
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="kubeward.config", value=report.config)
    for rule in sorted(report.rules, key=lambda r: r.id):
        case = ET.SubElement(
            suite, "testcase", classname=f"kubeward.layer{int(rule.layer)}", name=rule.id
        )
        hits = by_rule.get(rule.id, [])
        if hits:
            lines = [
                f"{visible(h.span.path)}:{h.span.start.line}:{h.span.start.col}: "
                f"[{h.severity.value}] {visible(h.message)}"
                for h in hits
            ]
            fail = ET.SubElement(
                case,
                "failure",
                message=f"{len(hits)} finding(s): {rule.title}",
                type=rule.severity.value,
            )
            fail.text = "\n".join(lines)
    for e in report.errors:
        path, reason = visible(e.path), visible(e.reason)
        case = ET.SubElement(suite, "testcase", classname="kubeward.input", name=path)
        err = ET.SubElement(case, "error", message=reason, type="scan-error")
        err.text = f"{path}{':' + str(e.line) if e.line else ''}: {reason}"
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
