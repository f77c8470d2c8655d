/**
 * A guard for the PNG renderer. resvg 2.6, the renderer inside @resvg/resvg-js 2.6.2 (the latest
 * release), aborts the whole Node process, uncatchably, when an element carrying `opacity` lies
 * entirely outside the canvas (thx/resvg-js#415: `fit_to_rect` unwraps an empty rectangle; fixed
 * in resvg upstream, not in a release of the binding). Vega writes `opacity` on every point and
 * legend symbol (0.7 for hollow points) and `opacity="0"` on the axis labels it hides, so a single
 * mark outside the plot, as a fixed scale domain gives, would kill the CLI. Moving each leaf
 * element's `opacity` into its `fill-opacity` and `stroke-opacity` never takes that path.
 */

/** Leaf elements vega writes; a `<g>` keeps its opacity (vega-lite never sets one). */
const LEAF_TAG = /<(path|rect|line|text)\b([^>]*?)(\/?)>/g;
/** ` opacity="x"` itself, not the tail of `fill-opacity="x"`. */
const OPACITY = /\sopacity="([^"]*)"/;

/**
 * Rewrites `opacity` on each leaf element as `fill-opacity` and `stroke-opacity` multiplied by it.
 * The picture is the same except where a shape's own stroke overlaps its own fill, which comes out
 * a shade darker (the two are blended one after the other instead of as one layer).
 * @param svg an SVG document as vega writes it
 * @returns the same document without `opacity` on leaf elements
 */
export function flattenOpacity(svg: string): string {
  return svg.replace(LEAF_TAG, (tag, name: string, attributes: string, selfClosing: string) => {
    const found = OPACITY.exec(attributes);
    if (!found) return tag;
    const opacity = Number(found[1]);
    if (!Number.isFinite(opacity)) return tag;
    let rest = attributes.replace(OPACITY, '');
    for (const paint of ['fill-opacity', 'stroke-opacity']) {
      const own = new RegExp(`\\s${paint}="([^"]*)"`).exec(rest);
      const value = (own ? Number(own[1]) : 1) * opacity;
      rest = own ? rest.replace(own[0], ` ${paint}="${value}"`) : `${rest} ${paint}="${value}"`;
    }
    return `<${name}${rest}${selfClosing}>`;
  });
}
