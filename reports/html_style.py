"""The fixed CSS and script of report.html, and the Content-Security-Policy that pins them.

Kept apart from the page code so that the look can change without touching what is shown. The
policy allows exactly this stylesheet and this script (by hash) and nothing else: even if some
value escaped escaping, the browser would neither run it nor load anything from the network.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root {
  --pass: #1a7f37; --fail: #cf222e; --error: #9a6700; --skip: #57606a; --not-tested: #57606a;
  --border: #d0d7de; --muted: #57606a; --alt: #f6f8fa; --ink: #1f2328;
}
* { box-sizing: border-box; }
body {
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); max-width: 80rem; margin: 0 auto; padding: 1rem 1.5rem 3rem;
}
h1 { font-size: 1.6rem; margin: .3rem 0; }
h2 { font-size: 1.3rem; border-bottom: 1px solid var(--border); padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.15rem; margin-top: 1.6rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
a { color: #0969da; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85em; }
pre {
  white-space: pre-wrap; overflow-wrap: anywhere; background: var(--alt); border-radius: 4px;
  padding: .4rem .6rem; margin: .3rem 0; max-height: 28rem; overflow: auto;
}
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--border); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--alt); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td { overflow-wrap: anywhere; }
ul.plain { list-style: none; margin: 0; padding: 0; }
.muted { color: var(--muted); }
.tag { border: 1px solid var(--muted); border-radius: 3px; padding: 0 .3em; font-size: .8em; }
.banner p { margin: .3rem 0 0; }
.small { font-size: .85em; }
.verdict {
  display: inline-block; min-width: 6.5em; padding: 0 .4em;
  border-radius: 3px; border: 1px solid transparent; font-weight: 700; font-size: .8em;
  letter-spacing: .03em; text-align: center; color: #fff; white-space: nowrap;
}
.v-pass { background: var(--pass); }
.v-fail { background: var(--fail); }
.v-error { background: var(--error); }
.v-skip { background: var(--skip); }
.v-not-tested { background: #fff; color: var(--not-tested); border: 1px dashed var(--not-tested); }
.banner { padding: .8rem 1rem; border-radius: 6px; color: #fff; margin: 1rem 0; }
.banner strong { font-size: 1.35rem; margin-right: .6rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
nav.toc ul { list-style: none; display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; padding: 0; }
details.scenario {
  border: 1px solid var(--border); border-left: 6px solid var(--skip); border-radius: 4px;
  margin: .5rem 0; padding: .3rem .7rem;
}
details.scenario.s-pass { border-left-color: var(--pass); }
details.scenario.s-fail { border-left-color: var(--fail); }
details.scenario.s-error { border-left-color: var(--error); }
details.scenario > summary { cursor: pointer; padding: .15rem 0; }
details.scenario[open] > summary { border-bottom: 1px solid var(--border); margin-bottom: .4rem; }
.choices { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .3rem .7rem; margin: .5rem 0; }
.choices p { margin: 0; font-weight: 600; }
details.exchange { border: 1px solid var(--border); border-radius: 4px; margin: .25rem 0; padding: .1rem .5rem;
  background: #fff; }
details.exchange > summary { cursor: pointer; font-size: .9em; }
details.exchange[open] { background: var(--alt); }
.x-line { font-weight: 600; }
.x-ok { color: var(--pass); }
.x-bad { color: var(--fail); }
.x-part h5 { margin: .5rem 0 .2rem; font-size: .9em; }
table.headers { width: auto; max-width: 100%; font-size: .82em; margin: .2rem 0; }
table.headers th { font-weight: 600; white-space: nowrap; }
table.headers td, table.headers th { padding: .05rem .4rem; }
pre.x-text { max-height: 18rem; background: #fff; border: 1px solid var(--border); }
.evidence h5 { margin: .6rem 0 .2rem; }
figure.diagram { margin: .6rem 0; overflow-x: auto; }
figure.diagram figcaption { margin-top: .2rem; }
svg.sequence { max-width: 100%; height: auto; font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: #fff; }
svg .sq-box { fill: var(--alt); stroke: var(--muted); }
svg .sq-name { font-weight: 700; fill: var(--ink); }
svg .sq-life { stroke: var(--border); stroke-width: 2; stroke-dasharray: 4 3; }
svg .sq-step { fill: var(--muted); }
svg .sq-label { fill: var(--ink); }
svg .sq-line { stroke-width: 1.6; stroke: #0969da; fill: none; }
svg .sq-dash { stroke-dasharray: 5 3; }
svg .sq-head { stroke: none; fill: #0969da; }
svg .sq-head.sq-2xx, svg .sq-line.sq-2xx { fill: var(--pass); stroke: var(--pass); }
svg text.sq-2xx { fill: var(--pass); font-weight: 700; }
svg .sq-head.sq-3xx, svg .sq-line.sq-3xx, svg text.sq-3xx { fill: var(--muted); stroke: var(--muted); }
svg .sq-head.sq-4xx, svg .sq-line.sq-4xx { fill: var(--error); stroke: var(--error); }
svg text.sq-4xx { fill: var(--error); font-weight: 700; }
svg .sq-head.sq-5xx, svg .sq-line.sq-5xx, svg .sq-line.sq-refused { fill: var(--fail); stroke: var(--fail); }
svg text.sq-5xx, svg text.sq-refused { fill: var(--fail); font-weight: 700; }
svg text.sq-3xx { stroke: none; }
svg .sq-line.sq-2xx, svg .sq-line.sq-4xx, svg .sq-line.sq-5xx { fill: none; }
svg .sq-line.sq-refused, svg .sq-line.sq-3xx { fill: none; }
table.certs code.fp { font-size: .75em; }
code.req-id { white-space: nowrap; overflow-wrap: normal; }
td.num, .nowrap { white-space: nowrap; }
.tag.xpass { background: #fff8c5; border-color: #d4a72c; font-weight: 700; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav.toc, .screen-only { display: none; }
  a { color: inherit; text-decoration: none; }
  h2, h3, h4 { break-after: avoid; }
  tr, summary, .choices, figure.diagram { break-inside: avoid; }
  details.exchange { break-inside: avoid; }
  pre { max-height: none; overflow: visible; }
  .verdict, .banner, th { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  details.scenario > summary { list-style: none; }
  details.scenario > summary::-webkit-details-marker { display: none; }
}
@media print {
  details::details-content { content-visibility: visible; display: block; }
}
"""

#: Opens every collapsed section before printing; without scripts the page still works.
PRINT_SCRIPT = (
    'window.addEventListener("beforeprint", function () {'
    ' document.querySelectorAll("details").forEach(function (d) { d.open = true; }); });'
)


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


#: Nothing may load; only the stylesheet and script above may apply.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{_sha256(CSS)}'; script-src '{_sha256(PRINT_SCRIPT)}'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'"
)
