/**
 * The report's one stylesheet, inlined. Screen: cards and figures in grids that fold to one column on a phone;
 * print: white, no navigation, no section cut across pages. The page's Content-Security-Policy allows exactly this
 * text (by its hash) and nothing else: no script, no other style, no request.
 */
export const REPORT_CSS = `
:root{--fg:#1f2937;--muted:#6b7280;--bg:#f4f5f9;--card:#fff;--line:#e3e6ee;--a:#4f46e5;--b:#e8890c;--bad:#c81e1e;--warn:#a15c07;--ok:#157f3b;--limit:#c81e1e;--seq:#0f766e}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#161b2e;color:#f4f5fb;padding:22px 24px 18px}
header .inner,main{max-width:1180px;margin:0 auto}
header h1{margin:0;font-size:21px;font-weight:650;letter-spacing:-.01em}
header p{margin:4px 0 0;color:#c3c7d8;overflow-wrap:anywhere}
nav{margin-top:12px;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:13px}
nav a{color:#aeb6f5;text-decoration:none}
nav a:hover{text-decoration:underline}
main{padding:8px 16px 32px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;margin:16px 0}
h2{font-size:16px;margin:0 0 12px;font-weight:650}
h2 .muted{font-weight:400}
h3{font-size:12px;margin:0 0 6px;color:var(--muted);font-weight:650;text-transform:uppercase;letter-spacing:.04em}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 10px;border-radius:999px;font-weight:650;font-size:12px;vertical-align:2px;margin-left:8px}
.badge.ok{background:#d9f7e4;color:#0f5e2c}.badge.bad{background:#fde1e1;color:#8d1414}.badge.info{background:#e4e7ff;color:#2f2a8f}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(165px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:10px;padding:10px 12px;background:#fbfbfd}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;font-weight:600}
.card .v{font-size:22px;font-weight:650;line-height:1.25;margin-top:2px;font-variant-numeric:tabular-nums}
.card .d{font-size:12.5px;color:var(--muted)}
.card.bad .v{color:var(--bad)}.card.ok .v{color:var(--ok)}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px}
figure{margin:0;border:1px solid var(--line);border-radius:10px;padding:10px 12px;background:#fff;min-width:0}
figcaption{font-size:12.5px;color:var(--muted);margin-top:4px}
figure h3{margin-bottom:2px}
figure h3.gap{margin-top:14px}
figure p{margin:4px 0}
svg.hist{width:100%;height:auto;display:block}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#4b5563}
svg .axis-title{fill:var(--muted)}
svg .gl{stroke:#eef0f5}
svg .axis{stroke:#9aa1b1}
svg .bar.s0,.s0{fill:var(--a)}
svg .bar.s1,.s1{fill:var(--b)}
svg .limit{stroke:var(--limit);stroke-width:1.5;stroke-dasharray:4 3}
svg .limit.m1{stroke:var(--seq)}
svg text.limit-label{fill:var(--limit);font-weight:650;font-size:12.5px}
svg text.limit-label.m1{fill:var(--seq)}
.barlist{list-style:none;margin:0;padding:0}
.barlist li{display:grid;grid-template-columns:minmax(70px,34%) 1fr auto;gap:8px;align-items:center;padding:2px 0}
.barlist .name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.barlist .bars{display:flex;flex-direction:column;gap:2px}
.barlist .count{font-variant-numeric:tabular-nums;text-align:right;font-size:12.5px}
svg.barline{width:100%;height:8px;display:block;background:#f0f1f6;border-radius:2px}
.legend{font-size:12.5px;color:var(--muted);margin:0 0 6px}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 8px;vertical-align:-1px}
.key.s0{background:var(--a)}.key.s1{background:var(--b)}
dl.facts{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:0 0 8px;font-size:13px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:650;text-transform:uppercase;letter-spacing:.03em;background:#fafbfd}
td.n,th.n{text-align:right;white-space:nowrap}
td.path{overflow-wrap:anywhere;min-width:12em}
tr.bad td:first-child{box-shadow:inset 3px 0 var(--bad)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.sev-error{color:var(--bad);font-weight:650}.sev-warning{color:var(--warn);font-weight:650}
.delta-up{color:var(--bad)}.delta-down{color:var(--ok)}.delta-up.good{color:var(--ok)}.delta-down.good{color:var(--bad)}
.code-block{border-top:1px solid var(--line);padding:12px 0 4px}
.code-block:first-of-type{border-top:0}
.code-block h3{text-transform:none;letter-spacing:0;font-size:14px;color:var(--fg)}
.example{margin:8px 0 12px;padding-left:10px;border-left:3px solid var(--line)}
.example .where{font-size:12.5px;color:var(--muted);overflow-wrap:anywhere}
.example p{margin:2px 0}
pre.snippet{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-all;background:#f5f6fa;border:1px solid var(--line);border-radius:6px;padding:7px 9px;margin:4px 0 0;max-height:12em;overflow:auto}
mark{background:#ffe08a;color:inherit;border-radius:2px;box-shadow:0 0 0 1px #e8b40c}
.sizebar{width:120px;height:10px;display:inline-block;vertical-align:middle}
.sizebar .track{fill:#eef0f5}.sizebar .fill{fill:var(--a)}.sizebar .over{fill:var(--bad)}
footer{max-width:1180px;margin:0 auto;padding:0 16px 28px;color:var(--muted);font-size:12.5px}
@media (max-width:640px){header{padding:16px}main{padding:4px 8px 24px}section{padding:12px;border-radius:10px}.card .v{font-size:18px}.figs{grid-template-columns:1fr}
table.stack thead{display:none}
table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
table.stack tr{border:1px solid var(--line);border-radius:8px;margin:0 0 8px;padding:6px 10px}
table.stack tr.bad{box-shadow:inset 3px 0 var(--bad)}
table.stack tr.bad td:first-child{box-shadow:none}
table.stack td{border:0;padding:1px 0;text-align:left;display:flex;gap:10px;min-width:0}
table.stack td.n{text-align:left;white-space:normal}
table.stack td::before{content:attr(data-label);flex:0 0 6.5em;color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.03em;padding-top:1px;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
table.stack td.path{min-width:0}}
@media print{body{background:#fff;font-size:11pt}header{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 8px}header p{color:#333}nav{display:none}main{padding:0}section{border:1px solid #bbb;break-inside:avoid;page-break-inside:avoid;margin:10px 0}figure{break-inside:avoid}.scroll{overflow:visible}pre.snippet{max-height:none}.card{background:#fff}}
`.trim();
