// A table whose column headers sort it (buttons, so the keyboard sorts too).
import { h } from "./dom.js";

// columns: [{ label, value: row => sortable value, render?: row => node or text,
//             numeric?: bool, sortable?: bool (default true), wrap?: bool }]
export function sortableTable({ caption, columns, rows, sort = null, onSort = null, empty = "Nothing yet." }) {
  let order = sort; // { index, descending }
  const head = h("tr");
  const body = h("tbody");
  const table = h("table", { class: "cards" }, caption ? h("caption", null, caption) : null, h("thead", null, head), body);

  const cells = columns.map((column, index) => {
    const th = h("th", { scope: "col", class: column.numeric ? "num" : null });
    if (column.sortable === false) {
      th.append(column.label);
    } else {
      th.append(h("button", { type: "button", class: "sort", onclick: () => toggle(index) }, column.label));
    }
    head.append(th);
    return th;
  });

  function toggle(index) {
    const descending = order && order.index === index ? !order.descending : !!columns[index].numeric;
    order = { index, descending };
    if (onSort) onSort(order);
    draw();
  }

  function compare(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined) return 1;
    if (b === null || b === undefined) return -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function draw() {
    cells.forEach((th, index) => {
      if (order && order.index === index) th.setAttribute("aria-sort", order.descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    let sorted = rows;
    if (order) {
      const { value } = columns[order.index];
      sorted = [...rows].sort((x, y) => {
        const result = compare(value(x), value(y));
        return order.descending ? -result : result;
      });
    }
    body.replaceChildren(
      ...(sorted.length
        ? sorted.map((row) =>
          h("tr", null, columns.map((column) => {
            const shown = column.render ? column.render(row) : column.value(row);
            const classes = [column.numeric ? "num" : "", column.wrap ? "wrap" : ""].join(" ").trim();
            return h("td", { class: classes || null, "data-label": column.label }, shown ?? "–");
          })))
        : [h("tr", null, h("td", { colspan: columns.length, class: "empty" }, empty))]),
    );
  }

  draw();
  return h("div", { class: "table-wrap", role: "region", "aria-label": caption || "table", tabindex: "0" }, table);
}
