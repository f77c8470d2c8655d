/**
 * Legends that single out a series in the HTML report: a click on a legend entry keeps that
 * series at full strength and fades the others, shift-click adds more, and the page's button
 * under the chart brings them all back. Only the page gets this; the SVG and PNG stay as drawn.
 *
 * The plot builders stay static. This walks a finished Vega-Lite spec instead: for every field a
 * legend shows (by colour, shape or dash), it binds a point selection on that field to the
 * legend, in the first view that draws it, and gives every mark drawn by legend fields an opacity
 * that follows all of their selections. A spec that declares its own params (the sweep's) is
 * left as its author wrote it.
 */
import type { PlotSpec } from './plot.js';

/** How opaque a faded series is: still there to compare against, clearly behind the chosen one. */
export const FADED_OPACITY = 0.1;

/** Vega-Lite's own default opacity: 0.7 for point-like marks not aggregated, 1 for the rest. */
const POINT_LIKE = new Set(['point', 'circle', 'square', 'tick']);

/** A view of a Vega-Lite spec that this walk reads or writes; everything else passes through. */
interface View {
  mark?: string | { type: string; opacity?: number };
  encoding?: Record<string, { field?: unknown; legend?: unknown; type?: unknown; [key: string]: unknown } | undefined>;
  params?: unknown[];
  layer?: View[];
  hconcat?: View[];
  vconcat?: View[];
  concat?: View[];
  spec?: View;
}

/** The encoding channels that can carry a series' legend. */
const SERIES_CHANNELS = ['color', 'fill', 'stroke', 'shape', 'strokeDash'] as const;

/** The channels that tie a mark to a series: those, and `detail` (a mark drawn by no legend, as precision's rings). */
const MEMBER_CHANNELS = [...SERIES_CHANNELS, 'detail'] as const;

type Encoding = NonNullable<View['encoding']>;

/** A unit view (one with a mark) with the encoding it draws with: its own over what its layer gives it. */
interface Unit {
  readonly view: View;
  readonly encoding: Encoding;
}

/** A view's children: its layers, its facet or repeat spec and its concatenated views. */
function childrenOf(view: View): { layered: View[]; concatenated: View[] } {
  return {
    layered: [...(view.layer ?? []), ...(view.spec ? [view.spec] : [])],
    concatenated: [...(view.hconcat ?? []), ...(view.vconcat ?? []), ...(view.concat ?? [])],
  };
}

/** Every unit view of a spec, in document order; a layer's encoding is inherited by its layers. */
function unitsOf(view: View, inherited: Encoding = {}): Unit[] {
  const encoding = { ...inherited, ...view.encoding };
  if (view.mark !== undefined) return [{ view, encoding }];
  const { layered, concatenated } = childrenOf(view);
  return [...layered.flatMap((child) => unitsOf(child, encoding)), ...concatenated.flatMap((child) => unitsOf(child))];
}

/** Whether a spec declares params anywhere: then its author chose its interactions. */
function declaresParams(view: View): boolean {
  if (view.params !== undefined) return true;
  const { layered, concatenated } = childrenOf(view);
  return [...layered, ...concatenated].some(declaresParams);
}

/** The fields a unit shows in a legend: nominal fields of its series channels whose legend is not switched off. */
function legendFields(unit: Unit): string[] {
  const fields: string[] = [];
  for (const channel of SERIES_CHANNELS) {
    const def = unit.encoding[channel];
    if (!def || typeof def.field !== 'string' || def.legend === null) continue;
    if (def.type === 'nominal' || def.type === 'ordinal') fields.push(def.field);
  }
  return [...new Set(fields)];
}

/** The fields of `fields` that a unit's series channels encode. */
function seriesFields(unit: Unit, fields: readonly string[]): string[] {
  const found = MEMBER_CHANNELS.map((channel) => unit.encoding[channel]?.field);
  return fields.filter((field) => found.includes(field));
}

/** The opacity a unit's marks have when nothing is singled out. */
function ownOpacity(unit: View): number {
  const mark = typeof unit.mark === 'string' ? { type: unit.mark } : (unit.mark ?? { type: '' });
  if ('opacity' in mark && typeof mark.opacity === 'number') return mark.opacity;
  return POINT_LIKE.has(mark.type) ? 0.7 : 1;
}

/**
 * A copy of a Vega-Lite spec whose legends single out series on click.
 * @param spec - a spec as a plot builder returns it; not modified.
 * @returns the spec with a legend-bound selection per legend field and the opacity that follows
 *   it, or the same spec when it declares its own params or shows no legend of a field.
 * @example
 * ```ts
 * const page = await htmlReport({ title, table, plots: [withLegendToggles(noisePlot(report))] });
 * ```
 */
export function withLegendToggles(spec: PlotSpec): PlotSpec {
  if (declaresParams(spec as View)) return spec;
  const copy = structuredClone(spec) as View;
  const units = unitsOf(copy);
  const fields = [...new Set(units.flatMap(legendFields))];
  if (fields.length === 0) return spec;
  const paramOf = (field: string) => `legend_${fields.indexOf(field)}`;
  for (const field of fields) {
    const owner = units.find((unit) => legendFields(unit).includes(field)) as Unit;
    // No clearing on a double-click: it would clear only within the owner's panel. The page's
    // "show every series" button clears every selection at once.
    const param = { name: paramOf(field), select: { type: 'point', fields: [field], clear: false }, bind: 'legend' };
    owner.view.params = [...(owner.view.params ?? []), param];
  }
  for (const unit of units) {
    const params = seriesFields(unit, fields).map((field) => ({ param: paramOf(field) }));
    if (params.length === 0 || unit.encoding.opacity !== undefined) continue;
    // A mark shows at full strength when every legend it is drawn by keeps it.
    const test = params.length === 1 ? params[0] : { test: { and: params } };
    unit.view.encoding = {
      ...unit.view.encoding,
      opacity: { condition: { ...test, value: ownOpacity(unit.view) }, value: FADED_OPACITY },
    };
  }
  return copy as PlotSpec;
}
