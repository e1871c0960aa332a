// uPlot charts that follow the page's colours (light or dark) and their box's width.
import { fmt, h } from "./dom.js";

function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// series: [{ label, color: "--c1", format?: v => text, bars?: bool }]
// data: [xs, ys1, ys2, ...]; x in unix seconds unless `categories` names each x.
export function chart({ title, series, data, categories = null, yFormat = fmt.short, height = 200 }) {
  const plot = h("div", { class: "plot" });
  const box = h("figure", { class: "card chart" }, h("h3", null, title), plot);
  box.setAttribute("aria-label", title);
  let instance = null;
  const observer = new ResizeObserver(() => {
    const width = Math.floor(plot.clientWidth);
    if (!width) return;
    if (instance) instance.setSize({ width, height });
    else instance = build(width);
  });

  function build(width) {
    const axis = color("--axis");
    const grid = color("--grid");
    const options = {
      width,
      height,
      scales: { x: { time: categories === null }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      series: [
        categories === null
          ? { value: (u, v) => fmt.datetime(v) }
          : { value: (u, v) => (v === null ? "" : categories[v] ?? "") },
        ...series.map((s) => ({
          label: s.label,
          stroke: color(s.color),
          fill: s.bars ? color(s.color) : null,
          width: s.bars ? 0 : 2,
          // Dots where a line has too few values to be seen (one busy minute).
          points: { show: (u, i) => u.data[i].filter((v) => v !== null && v !== undefined).length <= 3 && !s.bars, size: 6 },
          value: (u, v) => (s.format ?? yFormat)(v),
          paths: s.bars ? uPlot.paths.bars({ size: [0.7, 48] }) : undefined,
        })),
      ],
      axes: [
        {
          stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
          ...(categories === null ? {} : { splits: () => categories.map((_, i) => i), values: () => categories }),
        },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 56, values: (u, splits) => splits.map(yFormat) },
      ],
      cursor: { drag: { x: false, y: false } },
    };
    if (categories !== null) options.scales.x.range = () => [-0.5, categories.length - 0.5];
    return new uPlot(options, data, plot);
  }

  // Measured once it is in the page; drawn again in the other palette when the system
  // switches between light and dark.
  requestAnimationFrame(() => observer.observe(plot));
  const scheme = matchMedia("(prefers-color-scheme: dark)");
  const repaint = () => {
    if (!instance) return;
    const width = instance.width;
    instance.destroy();
    instance = build(width);
  };
  scheme.addEventListener("change", repaint);
  return {
    element: box,
    update(next) {
      data = next;
      if (instance) instance.setData(next);
    },
    destroy() {
      observer.disconnect();
      scheme.removeEventListener("change", repaint);
      if (instance) instance.destroy();
    },
  };
}
