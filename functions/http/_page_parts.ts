/** What the HTML pages share: the style sheet and the time formats. */

export const PAGE_STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
table { border-collapse: collapse; width: 100%; margin-top: 12px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { font-weight: 600; background: #f6f8fa; }
a { color: #0969da; }
.sub { color: #59636e; font-size: 12px; }
.muted { color: #818b98; }
.error { color: #cf222e; font-size: 12px; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; background: currentColor; }
.rpo-ok { color: #1a7f37; } .rpo-warning { color: #9a6700; } .rpo-critical { color: #cf222e; }
.rpo-none { color: #818b98; }
.rpo .sub { color: #59636e; }
.status { padding: 1px 6px; border-radius: 10px; font-size: 12px; }
.status-succeeded { background: #dafbe1; color: #1a7f37; } .status-failed { background: #ffebe9; color: #cf222e; }
.status-running { background: #ddf4ff; color: #0969da; } .status-paused { background: #fff8c5; color: #9a6700; }
.side { font-weight: 600; } .side-dr { color: #cf222e; } .side-source { color: #1a7f37; }
pre { background: #f6f8fa; padding: 12px; overflow: auto; }
`;

/** `42s`, `3m 5s`, `2h 10m`, `3d 4h`. */
export function seconds(total: number): string {
  const s = Math.round(total);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ""}`;
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ""}`;
  }
  return `${Math.floor(s / 86400)}d${
    Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)}h` : ""
  }`;
}

/** `in 3m`, `5s ago`. */
export function relativeTime(iso: string, now: Date): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = (t - now.getTime()) / 1000;
  return diff >= 0 ? `in ${seconds(diff)}` : `${seconds(-diff)} ago`;
}
