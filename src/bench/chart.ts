// Charts for benchmark results: a Vega-Lite spec compiled to Vega, rendered
// headless to SVG (no canvas needed), then rasterised to PNG with resvg.
// Shared by `xrpkv bench depth` and bench/peers.mjs (which imports dist/bench/chart.js).
//
// The renderers (vega, vega-lite, @resvg/resvg-js: about 22 MB) are optional
// peer dependencies: a development checkout has them, an installed package
// only when its user adds them. They load on first use (importing them takes
// about a second, which every `xrpkv` command would otherwise pay at startup);
// without them writeChart throws ChartsUnavailableError, which says how to add them.
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';

/** The optional chart renderers, as `npm install` names them. */
export const CHART_PACKAGES = ['vega', 'vega-lite', '@resvg/resvg-js'] as const;

/** The chart renderers are not installed: the message says how to add them. */
export class ChartsUnavailableError extends Error {
  override name = 'ChartsUnavailableError';
}

/** Imports one renderer; a missing package becomes ChartsUnavailableError. */
async function renderer<T>(load: () => Promise<T>, name: (typeof CHART_PACKAGES)[number]): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
    throw new ChartsUnavailableError(
      `charts need the optional packages ${CHART_PACKAGES.join(', ')} (${name} is missing): \`npm install ${CHART_PACKAGES.join(' ')}\``,
      { cause: e },
    );
  }
}

export interface Series {
  name: string;
  points: { x: number | string; y: number }[];
  /** Line charts: draw this series dashed (e.g. a bound rather than a measurement). */
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  xTitle: string;
  yTitle: string;
  series: Series[];
  kind: 'line' | 'bar';
  logY?: boolean;
  /** Optional subtitle line under the title (e.g. machine and device). */
  subtitle?: string;
}

// One font family everywhere: resvg only draws text with fonts it can find, and
// DejaVu Sans is what Debian ships; "sans-serif" lets it fall back elsewhere.
const FONT = 'DejaVu Sans, sans-serif';

// A log axis runs from the power of ten below the smallest value, so the
// smallest bar still has a visible height (a bar at the axis minimum has
// none), to the power of ten above the largest, so the tallest bar ends
// under a labelled tick (Vega's own end left the top decade unlabelled).
function logBounds(values: number[]): { domainMin: number; domainMax: number } {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) throw new RangeError('a log-scale chart needs positive values');
  const min = Math.min(...positive);
  const max = Math.max(...positive);
  return { domainMin: 10 ** Math.floor(Math.log10(min) - 1e-9), domainMax: 10 ** Math.ceil(Math.log10(max) - 1e-9) };
}

/** The Vega-Lite spec for a chart (exported so tests can inspect it). */
export function vegaLiteSpec(spec: ChartSpec): TopLevelSpec {
  const rows = spec.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y, dashed: s.dashed === true })));
  const numericX = rows.every((r) => typeof r.x === 'number');
  // Bars need a discrete x; lines over numbers keep a quantitative axis with integer ticks.
  const xType = spec.kind === 'bar' || !numericX ? 'ordinal' : 'quantitative';
  const seriesOrder = spec.series.map((s) => s.name);
  const x = {
    field: 'x',
    type: xType,
    title: spec.xTitle,
    ...(xType === 'quantitative' ? { axis: { tickMinStep: 1, format: 'd' } } : { sort: null, axis: { labelAngle: 0 } }),
  };
  const y = {
    field: 'y',
    type: 'quantitative',
    title: spec.yTitle,
    // Grouped bars side by side, never stacked (a stack starts at 0, which a log scale cannot show).
    stack: null,
    ...(spec.logY ? { scale: { type: 'log', ...logBounds(rows.map((r) => r.y)) } } : {}),
  };
  const color = { field: 'series', type: 'nominal', title: null, sort: seriesOrder };
  const strokeDash = {
    field: 'dashed',
    type: 'nominal',
    legend: null,
    scale: { domain: [false, true], range: [[1, 0], [6, 4]] },
  };
  const encoding =
    spec.kind === 'bar'
      ? { x, y, color, xOffset: { field: 'series', type: 'nominal', sort: seriesOrder } }
      : spec.series.some((s) => s.dashed)
        ? { x, y, color, strokeDash }
        : { x, y, color };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: spec.subtitle ? { text: spec.title, subtitle: spec.subtitle } : spec.title,
    width: 560,
    height: 320,
    background: 'white',
    config: { font: FONT, padding: 12, legend: { labelLimit: 400 } } as never,
    data: { values: rows },
    mark: spec.kind === 'bar' ? { type: 'bar' } : { type: 'line', point: true },
    encoding,
  } as TopLevelSpec;
}

/** The chart as an SVG document. */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  if (spec.series.length === 0 || spec.series.every((s) => s.points.length === 0)) {
    throw new RangeError(`chart "${spec.title}" has no points`);
  }
  const [vega, { compile }] = await Promise.all([
    renderer(() => import('vega'), 'vega'),
    renderer(() => import('vega-lite'), 'vega-lite'),
  ]);
  const compiled = compile(vegaLiteSpec(spec)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `${basePath}.svg` and `${basePath}.png`; returns both paths. */
export async function writeChart(spec: ChartSpec, basePath: string): Promise<{ svg: string; png: string }> {
  const svgText = await renderSvg(spec);
  const svg = `${basePath}.svg`;
  const png = `${basePath}.png`;
  await mkdir(dirname(basePath), { recursive: true });
  await writeFile(svg, svgText);
  const { Resvg } = await renderer(() => import('@resvg/resvg-js'), '@resvg/resvg-js');
  const resvg = new Resvg(svgText, {
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  await writeFile(png, resvg.render().asPng());
  return { svg, png };
}
