/*
 * The chart of births, deaths and rebirth requests per minute over the last hour (GET
 * activity: the handler counts them as they are reported). Three rows of 60 bars, each row
 * on its own scale (a plant's start is thousands of births; one death must still show), as
 * inline SVG built here (the CSP allows no other source). Redrawn only when the counts moved.
 */
const SVG = "http://www.w3.org/2000/svg";
const SERIES = [
  ["births", "births"],
  ["deaths", "deaths"],
  ["rebirths", "rebirth requests"],
];
const WIDTH = 360;
const ROW = 26;
const BAR = WIDTH / 60;

function svg(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v));
  return element;
}

const clock = (ms) => new Date(ms).toTimeString().slice(0, 5);

let drawn = "";

/** Draws `activity` (one stream's last hour, or undefined: nothing counted yet). */
export function renderChart(activity) {
  const key = JSON.stringify(activity || null);
  if (key === drawn) return;
  drawn = key;
  const from = activity ? Date.parse(activity.from) : Date.now() - 59 * 60_000;
  const minuteMs = activity ? activity.minuteMs : 60_000;
  const rows = [];
  for (const [series, label] of SERIES) {
    const counts = activity ? activity[series] : new Array(60).fill(0);
    const sum = counts.reduce((a, b) => a + b, 0);
    const max = Math.max(1, ...counts);
    const row = document.createElement("div");
    row.className = "series " + series;
    row.dataset.series = series;
    row.dataset.total = String(sum);
    row.dataset.last = String(counts[counts.length - 1]);
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = label;
    const chart = svg("svg", {
      viewBox: "0 0 " + WIDTH + " " + ROW,
      width: WIDTH,
      height: ROW,
      role: "img",
      "aria-label": label + " per minute, last hour: " + sum + " in all, " + counts.at(-1) + " this minute",
    });
    chart.appendChild(svg("line", { x1: 0, y1: ROW - 0.5, x2: WIDTH, y2: ROW - 0.5, class: "axis" }));
    counts.forEach((n, i) => {
      if (n === 0) return;
      const height = Math.max(2, Math.round((n / max) * (ROW - 2)));
      const bar = svg("rect", { x: i * BAR + 0.5, y: ROW - height, width: BAR - 1, height, class: "bar" });
      const title = svg("title", {});
      title.textContent = clock(from + i * minuteMs) + ": " + n + " " + label;
      bar.appendChild(title);
      chart.appendChild(bar);
    });
    const total = document.createElement("span");
    total.className = "total";
    total.textContent = sum + " in the hour · " + counts.at(-1) + " this minute";
    row.append(name, chart, total);
    rows.push(row);
  }
  const axis = document.createElement("p");
  axis.className = "axis-labels";
  const start = document.createElement("span");
  start.textContent = clock(from);
  const end = document.createElement("span");
  end.textContent = clock(from + 59 * minuteMs) + " (now)";
  axis.append(start, end);
  document.getElementById("chart").replaceChildren(...rows, axis);
}
