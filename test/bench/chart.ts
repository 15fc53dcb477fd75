/** A horizontal bar chart as plain SVG: readable at a glance, no charting dependency. */
export function barChartSvg(title: string, bars: readonly { label: string; value: number }[]): string {
  const width = 720;
  const rowH = 34;
  const left = 200;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
  const rows = bars.map((b, i) => {
    const y = 50 + i * rowH;
    const w = Math.max(1, ((width - left - 80) * b.value) / max);
    return `<text x="${left - 10}" y="${y + 20}" text-anchor="end" font-size="14">${esc(b.label)}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="22" fill="${i % 2 ? '#d9534f' : '#337ab7'}"/>` +
      `<text x="${left + w + 6}" y="${y + 20}" font-size="14">${b.value.toFixed(1)}</text>`;
  });
  const height = 60 + bars.length * rowH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/><text x="20" y="30" font-size="18" font-weight="bold">${esc(title)}</text>${rows.join('')}</svg>\n`;
}
