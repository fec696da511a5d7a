// sitereg web UI: plain JavaScript, no framework, no build step, nothing from a CDN.
// Every value from the API is put on the page as text (textContent / text nodes), never as HTML:
// project and worker names are typed by users.
"use strict";

const TOKEN_KEY = "sitereg.token";

const ROLE_LABEL = { admin: "管理员", bureau: "监管部门", contractor: "施工总承包单位", bank: "银行代发系统" };
const INVESTMENT_LABEL = { government: "政府投资", state_owned: "国企投资", other: "其他" };
const KIND_LABEL = { roster: "花名册", contracts: "劳动合同", attendance: "考勤表", payroll: "工资表", payments: "银行代发结果",
  entry_exit: "进退场记录", unknown: "无法识别" };
const SEVERITY_LABEL = { error: "错误", warning: "警告", info: "提示" };
const STATUS_LABEL = { active: "在建", completed: "已完工" };
const RATES = [
  ["realname_rate", "实名制覆盖率"],
  ["contract_rate", "劳动合同签订率"],
  ["dedicated_account_rate", "专户代发率"],
  ["full_pay_rate", "足额发放率"],
  ["on_time_rate", "按时发放率"],
];
const FIVE_SYSTEMS = [
  ["realname", "实名制管理"],
  ["dedicated_account", "工资专用账户"],
  ["guarantee", "工资保证金"],
  ["bank_payroll", "银行代发工资"],
  ["notice_board", "维权信息公示"],
];
const TREND_SERIES = [
  ["realname_rate", "实名制覆盖率"],
  ["contract_rate", "劳动合同签订率"],
  ["dedicated_account_rate", "专户代发率"],
  ["full_pay_rate", "足额发放率"],
];

const state = {
  token: null,
  role: null,
  scope: [],
  today: null,
  rules: {},
  projects: [],
  bureau: { coverage: null, rows: [], sort: { key: "project", dir: 1 }, period: null, region: "" },
  generation: 0, // bumped on sign-out, so late answers of a previous session are dropped
};

// ---------------------------------------------------------------------------------------------
// DOM helpers: elements are built node by node; strings always become text nodes.

const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

function clear(el) {
  el.replaceChildren();
  return el;
}

function show(el, visible) {
  el.hidden = !visible;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const DASH = "—";

function pct(rate) {
  return rate === null || rate === undefined ? DASH : (rate * 100).toFixed(1) + "%";
}

function yuan(text) {
  if (text === null || text === undefined) return DASH;
  const str = String(text);
  const neg = str.startsWith("-");
  const [whole, frac] = (neg ? str.slice(1) : str).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "-¥" : "¥") + grouped + (frac !== undefined ? "." + frac : "");
}

// Counts with thousands separators (12,345).
function num(v) {
  return v === null || v === undefined ? DASH : Number(v).toLocaleString("en-US");
}

// No expected amount exists (nobody who worked has a daily or monthly wage on file): the arrears
// cannot be estimated; ¥0.00 would claim nobody is owed anything.
function arrearsUnknown(item) {
  const frac = item && item.fractions && item.fractions.full_pay_rate;
  return Boolean(frac) && frac.denominator === 0 && Number(item.arrears_estimate) === 0 && item.workers_active > 0;
}

function arrearsCell(item, props = {}) {
  if (item.projects === 0) {
    // Totals over no project with data for the month: nothing was measured, not "¥0.00 owed".
    return h("td", { class: "num", dataset: { field: "arrears_estimate" }, ...props, title: "本月没有项目上传数据" }, DASH);
  }
  if (arrearsUnknown(item)) {
    return h("td", { class: "num unknown", dataset: { field: "arrears_estimate", unknown: "1" }, ...props,
      title: "没有日薪或月薪的合同工资标准，无法计算应发工资" }, "无法估算");
  }
  return h("td", { class: "num", dataset: { field: "arrears_estimate" }, ...props }, yuan(item.arrears_estimate));
}

// A sum that leaves out projects whose arrears cannot be estimated says so under the amount.
function withUnknown(cell, n) {
  if (n > 0 && !cell.dataset.unknown) {
    cell.append(h("span", { class: "frac unknown-note", dataset: { unknownProjects: String(n) } }, `另有 ${num(n)} 个项目无法估算`));
  }
  return cell;
}

// Small screens show tables as cards: each cell carries its column's name.
function labelCells(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
  for (const tr of table.querySelectorAll("tbody tr")) {
    [...tr.children].forEach((cell, i) => {
      if (names[i]) cell.dataset.label = names[i];
    });
  }
  return table;
}

function orDash(v) {
  return v === null || v === undefined || v === "" ? DASH : String(v);
}

function label(map, key) {
  return map[key] || orDash(key);
}

function ruleTitle(code) {
  const rule = state.rules[code];
  return rule ? rule.title.zh : "";
}

// A rate cell: the percentage, and under it the numerator/denominator it is made of.
function rateCell(item, key) {
  const frac = item.fractions && item.fractions[key];
  const value = item[key];
  return h("td", { class: "rate", dataset: { field: key, value: value === null ? "" : String(value) } },
    h("span", { class: "pct" }, pct(value)),
    h("span", { class: "frac" }, frac ? `${num(frac.numerator)}/${num(frac.denominator)}` : ""));
}

// ---------------------------------------------------------------------------------------------
// Periods (YYYY-MM)

function addMonths(period, n) {
  const [y, m] = period.split("-").map(Number);
  const idx = y * 12 + (m - 1) + n;
  const yy = Math.floor(idx / 12);
  const mm = (idx % 12) + 1;
  return `${String(yy).padStart(4, "0")}-${String(mm).padStart(2, "0")}`;
}

function previousMonth(today) {
  // today: "YYYY-MM-DD" from the server (its clock judges pay deadlines), else the browser's.
  let period = today ? today.slice(0, 7) : null;
  if (!period) {
    const d = new Date();
    period = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
  }
  return addMonths(period, -1);
}

// ---------------------------------------------------------------------------------------------
// API calls: every call carries the token; answers are JSON unless downloaded as a file.

class ApiFailure extends Error {
  constructor(status, body) {
    super((body && body.detail) || `请求失败（HTTP ${status}）`);
    this.status = status;
    this.body = body || {};
  }
}

function authHeaders(extra) {
  return { Authorization: `Bearer ${state.token}`, "Accept-Language": "zh-CN", ...(extra || {}) };
}

async function call(path, options = {}) {
  const generation = state.generation;
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers), cache: "no-store" });
  if (generation !== state.generation) throw new ApiFailure(0, { detail: "已退出" });
  let body = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) body = await response.json();
  if (response.status === 401 && state.token) {
    signOut("令牌无效或已失效，请重新登录。");
  }
  if (!response.ok) throw new ApiFailure(response.status, body);
  return { status: response.status, body };
}

async function getJSON(path) {
  return (await call(path)).body;
}

// Downloads carry the token too, so they are fetched and saved through a blob URL.
async function download(path, fallbackName) {
  const generation = state.generation;
  const response = await fetch(path, { headers: authHeaders(), cache: "no-store" });
  if (generation !== state.generation) return;
  if (!response.ok) {
    const type = response.headers.get("content-type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (response.status === 401) signOut("令牌无效或已失效，请重新登录。");
    throw new ApiFailure(response.status, body);
  }
  const blob = await response.blob();
  const name = filenameOf(response.headers.get("content-disposition")) || fallbackName;
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, class: "blob-link", hidden: true });
  document.body.append(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(url);
    a.remove();
  }, 60000);
}

function filenameOf(disposition) {
  if (!disposition) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch (_) {
      /* fall through to the plain name */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1].trim() : null;
}

function showAlert(message) {
  const box = $("#alert");
  box.textContent = message || "";
  show(box, Boolean(message));
}

function reportError(err) {
  if (err instanceof ApiFailure && err.status === 0) return; // signed out meanwhile
  console.error(err);
  // A browser's own error text is English ("Failed to fetch"): say what happened in Chinese, the
  // details stay in the console.
  if (err instanceof ApiFailure) showAlert(err.message);
  else if (err instanceof TypeError && /fetch|network/i.test(String(err.message))) showAlert("网络连接失败，请检查网络后重试。");
  else showAlert("页面出错，请刷新后重试（详情见浏览器控制台）。");
}

// ---------------------------------------------------------------------------------------------
// Sign in / out

async function signIn(token, { silent = false } = {}) {
  state.token = token;
  state.generation += 1;
  const error = $("#login-error");
  show(error, false);
  $("#signin").disabled = true;
  try {
    const projects = await getJSON("/api/v1/projects");
    const who = await getJSON("/ui/session");
    sessionStorage.setItem(TOKEN_KEY, token);
    state.role = who.role;
    state.scope = who.scope || [];
    state.today = who.today;
    state.maxUpload = who.max_upload_bytes || null;
    state.projects = projects.projects || [];
    try {
      state.rules = Object.fromEntries(((await getJSON("/api/v1/rules")).rules || []).map((r) => [r.code, r]));
    } catch (_) {
      state.rules = {};
    }
    $("#token").value = "";
    enterView();
  } catch (err) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (!silent) {
      error.textContent = err instanceof ApiFailure && err.status === 401
        ? "令牌无效，请检查后重试。"
        : (err.message || "登录失败");
      show(error, true);
    }
    showLogin();
  } finally {
    $("#signin").disabled = false;
  }
}

function signOut(message) {
  state.generation += 1;
  state.token = null;
  state.role = null;
  state.scope = [];
  state.projects = [];
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of ["#bureau", "#contractor", "#bank", "#who", "#detail", "#receipt"]) show($(id), false);
  clear($("#receipt"));
  clear($("#pp-body"));
  clear($("#detail-body"));
  showAlert(null);
  showLogin();
  if (message) {
    $("#login-error").textContent = message;
    show($("#login-error"), true);
  }
}

function showLogin() {
  show($("#login"), true);
  show($("#who"), false);
  $("#token").focus();
}

function enterView() {
  showAlert(null);
  show($("#login"), false);
  show($("#who"), true);
  $("#who-role").textContent = label(ROLE_LABEL, state.role);
  const scopeText = state.role === "bureau" ? `区划 ${state.scope.join("、")}`
    : state.role === "contractor" ? `信用代码 ${state.scope.join("、")}`
    : state.role === "bank" ? `账户 ${state.scope.join("、")}` : "";
  $("#who-scope").textContent = scopeText;
  document.body.dataset.role = state.role;

  const period = previousMonth(state.today);
  const dashboard = state.role === "bureau" || state.role === "admin";
  const uploads = state.role === "contractor" || state.role === "admin";
  show($("#bureau"), dashboard);
  show($("#contractor"), uploads);
  show($("#bank"), state.role === "bank");
  if (dashboard) {
    $("#b-period").value = period;
    $("#b-region").value = "";
    loadBureau().catch(reportError);
  }
  if (uploads) {
    $("#u-period").value = period;
    $("#pp-period").value = period;
    renderContractorProjects();
    loadProjectPeriod().catch(reportError);
  }
}

// ---------------------------------------------------------------------------------------------
// Bureau dashboard

function bureauQuery(extra) {
  const q = new URLSearchParams(extra);
  if (state.bureau.region) q.set("region", state.bureau.region);
  return q.toString();
}

async function loadBureau() {
  const period = $("#b-period").value;
  const region = $("#b-region").value.trim();
  if (!/^\d{4}-\d{2}$/.test(period)) {
    showAlert("请选择统计月份（YYYY-MM）。");
    return;
  }
  if (!/^\d{0,6}$/.test(region)) {
    showAlert("区划代码前缀应为 0 到 6 位数字。");
    return;
  }
  showAlert(null);
  if (region && state.role === "bureau" && !state.scope.some((s) => region.startsWith(s) || s.startsWith(region))) {
    showAlert(`区划 ${region} 不在此令牌的监管范围（${state.scope.join("、")}）内，查不到任何项目。`);
    return;
  }
  state.bureau.period = period;
  state.bureau.region = region;
  const status = $("#b-status");
  status.textContent = "加载中…";
  document.body.dataset.bureauLoaded = "";
  const seq = (state.bureauSeq = (state.bureauSeq || 0) + 1);
  const [coverage, trend, risks, projects] = await Promise.all([
    getJSON(`/api/v1/coverage?${bureauQuery({ period })}`),
    getJSON(`/api/v1/coverage?${bureauQuery({ period_from: addMonths(period, -11), period_to: period })}`),
    getJSON(`/api/v1/risks?${bureauQuery({ period })}`),
    getJSON("/api/v1/projects"),
  ]);
  if (seq !== state.bureauSeq) return; // a later query was made meanwhile: its answer will be shown
  state.projects = projects.projects || [];
  state.bureau.coverage = coverage;
  renderTotals(coverage);
  renderProjectTable(coverage);
  renderTrend(trend.trend || [], addMonths(period, -11), period);
  renderRisks(risks);
  show($("#detail"), false);
  const narrowed = region && state.role === "bureau" && state.scope.some((s) => s.startsWith(region) && s !== region)
    ? `（仅含此令牌可查看的 ${state.scope.join("、")}）` : "";
  status.textContent = `${period}${region ? ` · 区划 ${region}*${narrowed}` : ""} · 已更新`;
  document.body.dataset.bureauLoaded = period;
}

function renderTotals(coverage) {
  const tbody = clear($("#totals tbody"));
  $("#totals-caption").textContent = `${coverage.period}${coverage.region ? ` · 区划 ${coverage.region}*` : ""}`;
  const rows = [
    ["all", "全部项目", coverage.totals],
    ["government", "其中政府投资工程项目", coverage.by_investment_type.government],
  ];
  for (const [scope, name, t] of rows) {
    tbody.append(h("tr", { dataset: { scope }, class: scope === "government" ? "sub" : null },
      h("th", { scope: "row" }, name),
      h("td", { class: "num", dataset: { field: "projects" } }, num(t.projects)),
      h("td", { class: "num", dataset: { field: "workers_active" } }, num(t.workers_active)),
      RATES.map(([key]) => rateCell(t, key)),
      h("td", { class: "num", dataset: { field: "wages_paid" } }, yuan(t.wages_paid)),
      withUnknown(arrearsCell(t), coverage.projects.filter((p) => (scope === "all" || p.investment_type === scope)
        && arrearsUnknown(p)).length)));
  }
  labelCells($("#totals"));
}

// Columns of the project table: key, header, sort value.
const PROJECT_COLUMNS = [
  ["project", "项目编码", (r) => r.project],
  ["name", "项目名称", (r) => r.name],
  ["region_code", "区划", (r) => r.region_code],
  ["investment_type", "投资类型", (r) => label(INVESTMENT_LABEL, r.investment_type)],
  ["workers_active", "在场人数", (r) => r.workers_active],
  ...RATES.map(([key, name]) => [key, name, (r) => r[key]]),
  ["arrears_estimate", "欠薪风险金额", (r) => (r.arrears_estimate === null || r.arrears_estimate === undefined ? null : Number(r.arrears_estimate))],
];

function renderProjectTable(coverage) {
  // Projects with this month's data, then the visible projects that sent nothing for the month.
  const rows = coverage.projects.map((p) => ({ ...p, hasData: true }));
  const seen = new Set(rows.map((r) => r.project));
  for (const p of state.projects) {
    if (seen.has(p.code) || (state.bureau.region && !p.region_code.startsWith(state.bureau.region))) continue;
    rows.push({ project: p.code, name: p.name, region_code: p.region_code, investment_type: p.investment_type,
      workers_active: null, arrears_estimate: null, hasData: false });
  }
  state.bureau.rows = rows;
  const head = clear($("#projects thead tr"));
  for (const [key, name] of PROJECT_COLUMNS) {
    head.append(h("th", { dataset: { key }, "aria-sort": "none", onclick: () => sortProjects(key) },
      h("button", { type: "button", class: "sort" }, name, h("span", { class: "arrow", "aria-hidden": "true" }))));
  }
  drawProjectRows();
}

function sortProjects(key) {
  const sort = state.bureau.sort;
  sort.dir = sort.key === key ? -sort.dir : 1;
  sort.key = key;
  drawProjectRows();
}

function compare(a, b) {
  if (a === b) return 0;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "zh-CN", { numeric: true });
}

function drawProjectRows() {
  const { key, dir } = state.bureau.sort;
  const column = PROJECT_COLUMNS.find(([k]) => k === key) || PROJECT_COLUMNS[0];
  const value = column[2];
  const rows = [...state.bureau.rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const na = va === null || va === undefined;
    const nb = vb === null || vb === undefined;
    if (na || nb) return na === nb ? compare(a.project, b.project) : na ? 1 : -1; // empty last, either way
    return dir * compare(va, vb) || compare(a.project, b.project);
  });
  for (const th of document.querySelectorAll("#projects thead th")) {
    const active = th.dataset.key === key;
    th.setAttribute("aria-sort", active ? (dir > 0 ? "ascending" : "descending") : "none");
    $(".arrow", th).textContent = active ? (dir > 0 ? " ▲" : " ▼") : "";
  }
  const tbody = clear($("#projects tbody"));
  for (const r of rows) {
    const open = () => openProject(r.project, r.name).catch(reportError);
    tbody.append(h("tr", { dataset: { project: r.project }, class: r.hasData ? "clickable" : "clickable nodata", tabindex: "0",
      onclick: open, onkeydown: (e) => { if (e.key === "Enter") open(); } },
    h("td", { dataset: { field: "project" } }, h("span", { class: "link" }, r.project)),
    h("td", { dataset: { field: "name" } }, orDash(r.name)),
    h("td", { dataset: { field: "region_code" } }, orDash(r.region_code)),
    h("td", { dataset: { field: "investment_type" } }, label(INVESTMENT_LABEL, r.investment_type)),
    h("td", { class: r.hasData ? "num" : "num state-missing", dataset: { field: "workers_active" } },
      r.hasData ? num(r.workers_active) : "本月未上传"),
    RATES.map(([k]) => (r.hasData ? rateCell(r, k) : h("td", { class: "rate", dataset: { field: k, value: "" } }, DASH))),
    r.hasData ? arrearsCell(r) : h("td", { class: "num", dataset: { field: "arrears_estimate" } }, DASH)));
  }
  labelCells($("#projects"));
  show($("#projects-empty"), rows.length === 0);
}

// The trend chart: inline SVG drawn here, one line per rate, a point per month with data.
function renderTrend(trend, first, last) {
  const box = clear($("#trend-box"));
  const legend = clear($("#trend-legend"));
  const months = [];
  for (let p = first; p <= last; p = addMonths(p, 1)) months.push(p);
  const byPeriod = Object.fromEntries(trend.map((t) => [t.period, t]));
  // Drawn at the width it is shown at, so that text stays readable on a phone (no scaling down).
  const W = Math.max(300, Math.min(760, Math.round(box.clientWidth || 760)));
  const H = W < 520 ? 240 : 280;
  const narrow = W < 520;
  const M = narrow ? { left: 44, right: 26, top: 24, bottom: 42 } : { left: 52, right: 36, top: 28, bottom: 46 };
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const x = (i) => M.left + (months.length === 1 ? iw / 2 : (i * iw) / (months.length - 1));
  const y = (v) => M.top + ih - v * ih;
  const svg = s("svg", { id: "trend", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "trend-title",
    class: "chart", preserveAspectRatio: "xMidYMid meet" },
  s("title", { id: "trend-title" }, `${first} 至 ${last} 各月覆盖率`));
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s("line", { class: "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      s("text", { class: "tick", x: M.left - 8, y: y(v) + 4, "text-anchor": "end" }, `${v * 100}%`));
  }
  months.forEach((m, i) => {
    svg.append(s("line", { class: "axis", x1: x(i), x2: x(i), y1: M.top + ih, y2: M.top + ih + 5 }));
    // On a phone every third month is labelled (always the last one), as 26-10.
    if (!narrow || i % 3 === (months.length - 1) % 3) {
      svg.append(s("text", { class: "tick", x: x(i), y: M.top + ih + 18, "text-anchor": "middle" }, narrow ? m.slice(2) : m));
    }
  });
  svg.append(s("line", { class: "axis", x1: M.left, x2: W - M.right, y1: M.top + ih, y2: M.top + ih }),
    s("line", { class: "axis", x1: M.left, x2: M.left, y1: M.top, y2: M.top + ih }),
    s("text", { class: "axis-title", x: M.left + iw / 2, y: H - 6, "text-anchor": "middle" }, "月份"),
    s("text", { class: "axis-title", x: M.left - 8, y: 14, "text-anchor": "end" }, "覆盖率"));
  TREND_SERIES.forEach(([key, name], n) => {
    const group = s("g", { class: `series s${n}`, dataset: { series: key } });
    let segment = [];
    const flush = () => {
      if (segment.length > 1) group.append(s("polyline", { points: segment.join(" ") }));
      segment = [];
    };
    months.forEach((m, i) => {
      const t = byPeriod[m];
      const v = t ? t[key] : null;
      if (v === null || v === undefined) {
        flush();
        return;
      }
      segment.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      const f = t.fractions[key];
      group.append(s("circle", { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 4,
        dataset: { period: m, series: key, value: String(v) } },
      s("title", {}, `${m} ${name} ${pct(v)}（${f.numerator}/${f.denominator}）`)));
    });
    flush();
    svg.append(group);
    legend.append(h("li", { class: `s${n}` }, h("span", { class: "swatch", "aria-hidden": "true" }), name));
  });
  if (!trend.length) {
    svg.append(s("text", { class: "empty", x: M.left + iw / 2, y: M.top + ih / 2, "text-anchor": "middle" }, "这 12 个月没有数据"));
  }
  box.append(svg);
}

function ruleCounts(byRule) {
  const items = Object.entries(byRule || {}).sort((a, b) => b[1] - a[1]);
  if (!items.length) return DASH;
  return items.map(([code, n]) => h("span", { class: "chip", title: code },
    `${ruleTitle(code) || code} ×${n}`));
}

// Arrears risks: an estimated shortfall, or workers left unpaid past their deadline. Projects with
// only data errors (e.g. invalid IDs) and ¥0.00 are listed apart, not ranked among arrears risks.
function isArrearsRisk(r) {
  return Number(r.arrears_estimate) > 0 || Boolean(r.by_rule && r.by_rule.NOT_PAID);
}

function renderRisks(risks) {
  const coverageOf = Object.fromEntries(((state.bureau.coverage && state.bureau.coverage.projects) || []).map((p) => [p.project, p]));
  const groups = { risks: risks.projects.filter(isArrearsRisk), quality: risks.projects.filter((r) => !isArrearsRisk(r) && r.errors > 0) };
  for (const [id, list] of Object.entries(groups)) {
    const tbody = clear($(`#${id} tbody`));
    for (const r of list) {
      const open = () => openProject(r.project, r.name).catch(reportError);
      const cov = coverageOf[r.project] || { arrears_estimate: r.arrears_estimate, workers_active: r.workers_active };
      tbody.append(h("tr", { dataset: { project: r.project }, class: "clickable", tabindex: "0", onclick: open,
        onkeydown: (e) => { if (e.key === "Enter") open(); } },
      h("td", { dataset: { field: "project" } }, h("span", { class: "link" }, r.project)),
      h("td", { dataset: { field: "name" } }, orDash(r.name)),
      h("td", {}, orDash(r.region_code)),
      h("td", { class: "num" }, num(r.workers_active)),
      arrearsCell({ ...cov, arrears_estimate: r.arrears_estimate }),
      h("td", { class: "num", dataset: { field: "errors" } }, num(r.errors)),
      h("td", { class: "chips" }, ruleCounts(r.by_rule))));
    }
    labelCells($(`#${id}`));
    show($(`#${id}-empty`), list.length === 0);
  }
}

async function openProject(code, name) {
  const period = state.bureau.period;
  const panel = $("#detail");
  $("#detail-title").textContent = `项目明细：${code} ${name || ""} · ${period}`;
  const body = clear($("#detail-body"));
  body.append(h("p", { class: "muted" }, "加载中…"));
  show(panel, true);
  panel.scrollIntoView({ behavior: "instant", block: "start" });
  const enc = encodeURIComponent(code);
  const seq = (state.detailSeq = (state.detailSeq || 0) + 1);
  const [coverage, findings] = await Promise.all([
    getJSON(`/api/v1/projects/${enc}/periods/${period}/coverage`),
    getJSON(`/api/v1/projects/${enc}/periods/${period}/findings`),
  ]);
  const receipts = await receiptsOf(findings.findings);
  if (seq !== state.detailSeq) return; // another project was opened meanwhile
  const row = state.bureau.rows.find((r) => r.project === code);
  const uploaded = row ? row.hasData : true;
  clear(body);
  body.dataset.project = code;
  body.dataset.state = uploaded ? "uploaded" : "missing";
  if (!uploaded) {
    body.append(h("p", { class: "state state-missing", id: "detail-missing" },
      `${period} 本月未上传任何资料。${findings.findings.length ? "下列问题来自沿用的早期月份资料（见“月份”列）。" : ""}`));
  }
  body.append(coverageBlock(coverage, uploaded),
    findingsBlock(findings, "本月问题（全部文件及跨文件核对）", { period, receipts, code, uploaded,
      empty: uploaded ? null : "本月未上传任何资料，没有可核查的内容。" }));
}

// The receipts of the files findings come from: their month (a roster carried over from an
// earlier month says so) and file name.
async function receiptsOf(findings) {
  const ids = [...new Set(findings.map((f) => f.upload_id).filter(Boolean))];
  const out = {};
  await Promise.all(ids.map(async (id) => {
    try {
      out[id] = await getJSON(`/api/v1/uploads/${encodeURIComponent(id)}`);
    } catch (_) {
      /* not visible: the finding still shows, without its file */
    }
  }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared blocks: one project-period's coverage, and a findings list

// ``uploaded`` false: the month has nothing of its own; its arrears are not measured (—), not ¥0.00.
function coverageBlock(c, uploaded = true) {
  const rates = h("table", { class: "data compact coverage" },
    h("thead", {}, h("tr", {}, h("th", {}, "在场人数"), h("th", {}, "发薪人数"), RATES.map(([, n]) => h("th", {}, n)),
      h("th", {}, "专户发放工资总额"), h("th", {}, "欠薪风险金额"), h("th", {}, "社保卡发放"))),
    h("tbody", {}, h("tr", {},
      h("td", { class: "num", dataset: { field: "workers_active" } }, num(c.workers_active)),
      h("td", { class: "num", dataset: { field: "workers_paid" } }, num(c.workers_paid)),
      RATES.map(([key]) => rateCell(c, key)),
      h("td", { class: "num" }, yuan(c.wages_paid)),
      arrearsCell(uploaded ? c : { ...c, projects: 0 }),
      h("td", { class: "num" }, `${num(c.ssc_payouts.count)} 笔 / ${yuan(c.ssc_payouts.amount)}`))));
  labelCells(rates);
  const five = h("ul", { class: "five" }, FIVE_SYSTEMS.map(([key, name]) => {
    const ok = c.five_systems && c.five_systems[key];
    return h("li", { class: ok ? "ok" : "no", dataset: { field: key } }, ok ? "✓ " : "✗ ", name);
  }));
  return h("div", { class: "coverage-block" }, h("h3", {}, "覆盖率"), h("div", { class: "scroll" }, rates),
    h("h3", {}, "五项制度"), five);
}

// A findings list. ``ctx``: { period, receipts (upload id -> receipt), code, uploaded, empty } for the
// month and file of each finding and for saying what an empty list means.
function findingsBlock(report, title, ctx = {}) {
  const counts = report.counts || { error: 0, warning: 0, info: 0, total: report.findings.length };
  const wrap = h("div", { class: "findings-block" });
  const exports = ctx.code && ctx.period ? h("span", { class: "actions inline" },
    h("button", { type: "button", class: "secondary", dataset: { export: "xlsx" }, onclick: () =>
      download(`/api/v1/projects/${encodeURIComponent(ctx.code)}/periods/${ctx.period}/findings.xlsx`,
        `核查问题清单-${ctx.code}-${ctx.period}.xlsx`).catch(reportError) }, "下载问题清单 Excel"),
    h("button", { type: "button", class: "secondary", dataset: { export: "csv" }, onclick: () =>
      download(`/api/v1/projects/${encodeURIComponent(ctx.code)}/periods/${ctx.period}/findings.csv`,
        `核查问题清单-${ctx.code}-${ctx.period}.csv`).catch(reportError) }, "CSV")) : null;
  wrap.append(h("h3", {}, title),
    h("p", { class: "counts" },
      h("span", { class: "sev error", dataset: { field: "errors" } }, `错误 ${num(counts.error)}`), " · ",
      h("span", { class: "sev warning", dataset: { field: "warnings" } }, `警告 ${num(counts.warning)}`), " · ",
      h("span", { class: "sev info" }, `提示 ${num(counts.info)}`), " · ",
      `共 ${num(counts.total)} 条`,
      report.truncated ? h("span", { class: "muted" }, `（仅列出前 ${num(report.findings.length)} 条，请下载问题清单查看全部）`) : null));
  if (exports) wrap.append(exports);
  if (!report.findings.length) {
    if (ctx.empty) wrap.append(h("p", { class: "state state-missing", dataset: { state: "empty" } }, ctx.empty));
    else wrap.append(h("p", { class: "state state-ok", dataset: { state: "clean" } }, "已上传的资料中没有发现问题。"));
    return wrap;
  }
  const receipts = ctx.receipts || {};
  // One file's own report (ctx.upload: its receipt) lists findings without an upload id.
  const receiptOf = (f) => (f.upload_id ? receipts[f.upload_id] : ctx.upload) || null;
  const monthCell = (f) => {
    const r = receiptOf(f);
    if (!r) return h("td", { dataset: { field: "month" } }, orDash(ctx.period));
    const carried = ctx.period && r.period !== ctx.period;
    return h("td", { dataset: { field: "month" }, class: carried ? "carried" : null },
      carried ? `沿用 ${r.period}` : r.period);
  };
  const fileCell = (f) => {
    const r = receiptOf(f);
    if (f.upload_id || ctx.upload) return h("td", { dataset: { field: "file" }, class: "file" }, r ? r.filename : f.upload_id);
    const across = f.rule === "ATTENDANCE_OVERLAP" || f.rule === "PAID_TWICE";
    return h("td", { dataset: { field: "file" }, class: "muted" }, across ? "跨项目核对" : "跨文件核对");
  };
  const table = h("table", { class: "data findings" },
    h("thead", {}, h("tr", {}, ["规则", "级别", "月份", "文件", "资料类型", "行号", "列", "值", "工人", "说明"].map((t) => h("th", {}, t)))),
    h("tbody", {}, report.findings.map((f) => h("tr", { class: `sev-${f.severity}`, dataset: { rule: f.rule } },
      h("td", { dataset: { field: "rule" } }, h("code", {}, f.rule), ruleTitle(f.rule) ? h("div", { class: "small muted" }, ruleTitle(f.rule)) : null),
      h("td", { dataset: { field: "severity" } }, h("span", { class: `sev ${f.severity}` }, label(SEVERITY_LABEL, f.severity))),
      monthCell(f),
      fileCell(f),
      h("td", { dataset: { field: "kind" } }, label(KIND_LABEL, f.kind)),
      h("td", { class: "num", dataset: { field: "row" } }, f.row === null || f.row === undefined ? DASH : num(f.row)),
      h("td", { dataset: { field: "column" } }, orDash(f.column)),
      h("td", { dataset: { field: "value" } }, orDash(f.value)),
      h("td", { dataset: { field: "worker" } }, orDash(f.worker)),
      h("td", { class: "message", dataset: { field: "message" } }, orDash(f.message))))));
  labelCells(table);
  wrap.append(h("div", { class: "scroll" }, table));
  return wrap;
}

// ---------------------------------------------------------------------------------------------
// Contractor: projects, upload, receipt, project-period

function renderContractorProjects() {
  const tbody = clear($("#c-projects tbody"));
  const selects = [clear($("#u-project")), clear($("#pp-project"))];
  for (const p of state.projects) {
    tbody.append(h("tr", { class: "clickable", dataset: { project: p.code }, tabindex: "0",
      onclick: () => selectProject(p.code) },
    h("td", {}, h("span", { class: "link" }, p.code)),
    h("td", {}, orDash(p.name)),
    h("td", {}, orDash(p.region_code)),
    h("td", {}, label(INVESTMENT_LABEL, p.investment_type)),
    h("td", {}, label(STATUS_LABEL, p.status)),
    h("td", {}, orDash(p.start_date))));
    for (const sel of selects) sel.append(h("option", { value: p.code }, `${p.code} ${p.name || ""}`));
  }
  labelCells($("#c-projects"));
  show($("#c-projects-empty"), state.projects.length === 0);
  $("#u-submit").disabled = state.projects.length === 0;
}

function selectProject(code) {
  $("#u-project").value = code;
  $("#pp-project").value = code;
  loadProjectPeriod().catch(reportError);
}

async function loadProjectPeriod() {
  const code = $("#pp-project").value;
  const period = $("#pp-period").value;
  const body = clear($("#pp-body"));
  const seq = (state.ppSeq = (state.ppSeq || 0) + 1);
  if (!code || !/^\d{4}-\d{2}$/.test(period)) return;
  body.append(h("p", { class: "muted" }, "加载中…"));
  const enc = encodeURIComponent(code);
  const [coverage, findings, uploads] = await Promise.all([
    getJSON(`/api/v1/projects/${enc}/periods/${period}/coverage`),
    getJSON(`/api/v1/projects/${enc}/periods/${period}/findings`),
    getJSON(`/api/v1/projects/${enc}/uploads?period=${period}`),
  ]);
  const receipts = await receiptsOf(findings.findings);
  if (seq !== state.ppSeq) return; // a later choice of project or month was made meanwhile
  clear(body);
  body.dataset.project = code;
  body.dataset.period = period;
  // Nobody worked or was paid in the month as far as the service knows: say so, never "no problems".
  const nothing = coverage.fractions.realname_rate.denominator === 0 && coverage.workers_paid === 0;
  body.dataset.state = nothing ? "empty" : "data";
  // Only a roster or contracts carried over from an earlier month: the month itself has nothing.
  const own = uploads.uploads.some((u) => u.current);
  if (!own) {
    body.append(h("p", { class: "state state-missing", id: "pp-missing" },
      `${period} 本月未上传任何资料。${findings.findings.length ? "下列问题来自沿用的早期月份资料（见“月份”列）。" : ""}`));
  }
  body.append(coverageBlock(coverage, own), findingsBlock(findings, `${code} · ${period} 全部问题（含跨文件核对）`, {
    period, receipts, code,
    empty: nothing ? `${period} 没有可核查的考勤或工资数据：本月未上传考勤表和工资表，或上传的文件没有入库的行。` : null,
  }));
}

// The upload goes through XMLHttpRequest: its upload events give the bytes sent (fetch has none).
function sendForm(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const generation = state.generation;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (e) => onProgress("send", e.loaded, e.lengthComputable ? e.total : 0));
    xhr.upload.addEventListener("load", () => onProgress("check", 0, 0));
    xhr.addEventListener("load", () => {
      if (generation !== state.generation) return reject(new ApiFailure(0, { detail: "已退出" }));
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (_) {
        body = null;
      }
      if (xhr.status === 401 && state.token) signOut("令牌无效或已失效，请重新登录。");
      if (xhr.status < 200 || xhr.status >= 300) return reject(new ApiFailure(xhr.status, body));
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => reject(new ApiFailure(0.5, { detail: "网络中断，文件未上传完成，请重试。" })));
    xhr.send(form);
  });
}

function megabytes(n) {
  if (n < 1e6) return `${Math.max(1, Math.round(n / 1e3))} KB`;
  return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + " MB";
}

// The upload's stages, as they really are: "send" (bytes leaving the browser, with a percentage),
// "check" (every byte sent, the server reading, checking and storing the file: no percentage can be
// known, so the seconds waited are shown), "report" (the receipt came, its findings are being
// fetched), then "done".
function setProgress(stage, loaded, total) {
  const box = $("#u-progress-box");
  const bar = $("#u-progress");
  const text = $("#u-stage");
  const timer = state.stageTimer;
  if (stage !== "check" && timer) {
    clearInterval(timer);
    state.stageTimer = null;
  }
  show(box, stage !== "done");
  box.dataset.stage = stage;
  if (stage === "send") {
    const pct = total ? Math.round((loaded / total) * 100) : 0;
    bar.value = pct;
    text.textContent = total ? `正在上传 ${pct}%（${megabytes(loaded)} / ${megabytes(total)}）` : "正在上传…";
  } else if (stage === "check" && !state.stageTimer) {
    bar.removeAttribute("value"); // indeterminate: the server is reading and checking the file
    const started = Date.now();
    const tick = () => {
      const seconds = Math.floor((Date.now() - started) / 1000);
      text.textContent = `已上传，服务器校验中…已等待 ${seconds} 秒（大文件约需数秒到十几秒）`;
      box.dataset.seconds = String(seconds);
    };
    tick();
    state.stageTimer = setInterval(tick, 1000);
  } else if (stage === "report") {
    bar.value = 100;
    text.textContent = "服务器已完成校验，正在读取问题清单…";
  }
}

function setStatus(text, tone) {
  const status = $("#u-status");
  status.textContent = text || "";
  status.className = `status${tone ? ` state state-${tone}` : ""}`;
  status.dataset.tone = tone || "";
}

// What was stored, in words: all rows / N of M rows / none.
function storedSummary(receipt) {
  const total = receipt.rows_total;
  const ok = receipt.rows_accepted;
  if (total === 0) return ["文件中没有数据行，未保存任何内容。", "error"];
  if (ok === 0) return [`${num(total)} 行中 0 行已保存：请按问题清单修改后重新上传。`, "error"];
  if (ok < total) return [`${num(total)} 行中 ${num(ok)} 行已保存，拒收 ${num(receipt.rows_rejected)} 行（见下方问题）。`, "warning"];
  const errors = receipt.errors ? "，但有 " + num(receipt.errors) + " 个错误需要处理" : "";
  return [`${num(total)} 行中 ${num(ok)} 行已保存（全部）${errors}。`, receipt.errors ? "warning" : "ok"];
}

async function upload(event) {
  event.preventDefault();
  const code = $("#u-project").value;
  const kind = $("#u-kind").value;
  const period = $("#u-period").value;
  const file = $("#u-file").files[0];
  const box = clear($("#receipt"));
  show(box, false);
  showAlert(null);
  if (!code || !file || !/^\d{4}-\d{2}$/.test(period)) {
    setStatus("请选择项目、月份和文件。", "error");
    return;
  }
  if (state.maxUpload && file.size > state.maxUpload) {
    setStatus(`文件 ${megabytes(file.size)}，超过上传上限 ${megabytes(state.maxUpload)}，未上传。请拆分文件（如按班组或按月）后分别上传。`, "error");
    return;
  }
  const form = new FormData();
  if (kind) form.append("kind", kind); // 自动识别: no kind, the service recognises the file
  form.append("period", period);
  form.append("file", file, file.name);
  $("#u-submit").disabled = true;
  setStatus("");
  setProgress("send", 0, file.size);
  try {
    let result;
    try {
      result = await sendForm(`/api/v1/projects/${encodeURIComponent(code)}/uploads`, form, setProgress);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 422) {
        setStatus("文件被拒收，未保存任何行（原文件已保存备查）。原因见下方。", "error");
        renderUnreadable(box, err.body);
        const refused = (err.body.extra && err.body.extra.receipt) || {};
        await offerColumnMap(box, code, refused.kind || kind, err.body.findings || []);
        return;
      }
      throw err;
    }
    const receipt = result.body;
    setProgress("report", 0, 0);
    const [text, tone] = storedSummary(receipt);
    setStatus(result.status === 200 ? `此文件此前已上传过（内容相同），以下是原回执：${text}` : `上传完成：${text}`, tone);
    const report = await getJSON(receipt.report);
    renderReceipt(box, receipt, report);
    await offerColumnMap(box, code, receipt.kind || kind, report.findings);
    $("#pp-project").value = code;
    $("#pp-period").value = period;
    loadProjectPeriod().catch(reportError);
  } catch (err) {
    const limit = err instanceof ApiFailure && err.status === 413 && state.maxUpload ? `（上限 ${megabytes(state.maxUpload)}）` : "";
    setStatus(err instanceof ApiFailure ? `上传失败：${err.message}${limit}` : "", "error");
    if (!(err instanceof ApiFailure)) reportError(err);
  } finally {
    setProgress("done", 0, 0);
    $("#u-submit").disabled = state.projects.length === 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Column map: a file whose headers were not recognised (COLUMN_UNKNOWN, COLUMN_MISSING) gets a
// small form mapping each unknown header to a canonical column of the kind. Saved for the
// project (PUT /api/v1/projects/{code}/column-maps/{kind}), it is used by later uploads: the
// same file can be sent again at once.

const KIND_CODES = ["roster", "contracts", "attendance", "payroll", "payments", "entry_exit"];

function headerProblems(findings) {
  const unknown = [];
  const missing = [];
  for (const f of findings || []) {
    if (f.rule === "COLUMN_UNKNOWN" && f.column && !unknown.includes(f.column)) unknown.push(f.column);
    if (f.rule === "COLUMN_MISSING") {
      const m = /（([a-z_]+)）/.exec(f.message || ""); // 缺少必填列「姓名」（name）
      if (m && !missing.includes(m[1])) missing.push(m[1]);
    }
  }
  const refused = findings.some((f) => f.rule === "COLUMN_MISSING");
  return { unknown, missing, any: unknown.length > 0 || refused, stored: !refused };
}

// The kind a refused file of no recognised kind looks like (COLUMN_MISSING says 文件看起来像：花名册).
function guessedKind(findings) {
  for (const f of findings || []) {
    const m = f.rule === "COLUMN_MISSING" && /文件看起来像：([^。；，,]+)/.exec(f.message || "");
    const code = m && KIND_CODES.find((k) => KIND_LABEL[k] === m[1].trim());
    if (code) return code;
  }
  return "";
}

async function offerColumnMap(box, code, kind, findings) {
  const problems = headerProblems(findings);
  if (!problems.any || !problems.unknown.length) return;
  // A file of another kind than the one chosen is not helped by mapping its columns onto this one.
  if ((findings || []).some((f) => f.rule === "KIND_MISMATCH")) return;
  const known = KIND_CODES.includes(kind) ? kind : guessedKind(findings);
  // Open when the file was refused for a missing column; otherwise (an extra column such as 备注
  // was not stored) folded, one line saying so.
  const wrap = h("details", { id: "colmap", class: "colmap", dataset: { project: code }, open: problems.missing.length > 0 || !problems.stored });
  // After the receipt's facts and buttons, before the list of findings.
  const findingsBlock = box.querySelector(".findings-block");
  box.insertBefore(wrap, findingsBlock || null);
  await drawColumnMap(wrap, code, known, problems);
}

async function drawColumnMap(wrap, code, kind, problems) {
  clear(wrap);
  wrap.dataset.kind = kind;
  const names = problems.unknown.map((u) => `「${u}」`).join("");
  wrap.append(h("summary", {}, h("h3", {}, `列名对应：${num(problems.unknown.length)} 列未识别${names}，可保存为本项目的对应`)),
    h("p", { class: "small" }, "文件中有系统不认识的列名。请为每一列选择它对应的标准列，保存后本项目以后上传的同类资料会按此读取，不必再改列名；",
      "选“不对应”的列不会入库。保存后可以直接用同一个文件重新上传。"));
  const kindSelect = h("select", { id: "colmap-kind", required: true },
    h("option", { value: "" }, "请选择资料类型"),
    KIND_CODES.map((k) => h("option", { value: k, selected: k === kind }, label(KIND_LABEL, k))));
  kindSelect.addEventListener("change", () => drawColumnMap(wrap, code, kindSelect.value, problems).catch(reportError));
  wrap.append(h("label", { class: "colmap-kind" }, "资料类型 ", kindSelect));
  if (!kind) {
    wrap.append(h("p", { class: "muted small" }, "系统无法判断这是哪种资料：请先选择资料类型。"));
    return;
  }
  const saved = await getJSON(`/api/v1/projects/${encodeURIComponent(code)}/column-maps/${kind}`);
  const columns = saved.columns || [];
  const rows = problems.unknown.map((header) => {
    const select = h("select", { class: "colmap-target", dataset: { header }, "aria-label": `「${header}」对应的标准列` },
      h("option", { value: "" }, "不对应（此列不入库）"),
      columns.map((c) => h("option", { value: c.name, selected: saved.mapping[header] === c.name },
        `${c.label}${c.required ? "（必填）" : ""}${problems.missing.includes(c.name) ? " · 文件缺少此列" : ""}`)));
    return h("tr", { dataset: { header } },
      h("th", { scope: "row", dataset: { label: "文件中的列名" } }, h("span", { class: "header-as-written" }, header)),
      h("td", { dataset: { label: "对应的标准列" } }, select));
  });
  const table = h("table", { class: "data colmap-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "文件中的列名"), h("th", {}, "对应的标准列"))),
    h("tbody", {}, rows));
  const status = h("p", { id: "colmap-status", class: "status", "aria-live": "polite" });
  const save = h("button", { type: "submit", id: "colmap-save" }, "保存列名对应");
  const again = h("button", { type: "button", id: "colmap-reupload", class: "secondary", hidden: true,
    onclick: () => $("#upload-form").requestSubmit() }, "用同一文件重新上传");
  const form = h("form", { id: "colmap-form" }, h("div", { class: "scroll" }, table), h("div", { class: "actions" }, save, again), status);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveColumnMap(code, kind, saved.mapping, form, status, again).catch(reportError);
  });
  if (problems.missing.length) {
    const names = problems.missing.map((n) => (columns.find((c) => c.name === n) || { label: n }).label);
    wrap.append(h("p", { class: "small state state-warning", id: "colmap-missing" },
      `文件缺少的必填列：${names.join("、")}。若文件中有这些内容只是列名不同，请在下面为它选择对应。`));
  }
  wrap.append(form);
}

async function saveColumnMap(code, kind, previous, form, status, again) {
  const mapping = { ...(previous || {}) };
  for (const select of form.querySelectorAll("select.colmap-target")) {
    if (select.value) mapping[select.dataset.header] = select.value;
    else delete mapping[select.dataset.header];
  }
  status.textContent = "保存中…";
  status.dataset.tone = "";
  try {
    const { body } = await call(`/api/v1/projects/${encodeURIComponent(code)}/column-maps/${kind}`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mapping }),
    });
    const n = Object.keys(body.mapping).length;
    status.textContent = `已保存本项目${label(KIND_LABEL, kind)}的列名对应（共 ${num(n)} 项）。请用同一文件重新上传。`;
    status.className = "status state state-ok";
    status.dataset.tone = "ok";
    again.hidden = false;
  } catch (err) {
    status.textContent = err instanceof ApiFailure ? `未保存：${err.message}` : "未保存：页面出错，请重试。";
    status.className = "status state state-error";
    status.dataset.tone = "error";
    if (!(err instanceof ApiFailure)) console.error(err);
  }
}

function receiptFacts(receipt) {
  const facts = [
    ["文件", receipt.filename, "filename"],
    ["资料类型", label(KIND_LABEL, receipt.kind), "kind"],
    ["项目", receipt.project, "project"],
    ["月份", receipt.period, "period"],
    ["上传编号", receipt.upload_id, "upload_id"],
    ["数据行", num(receipt.rows_total), "rows_total"],
    ["入库行", `${num(receipt.rows_accepted)} / ${num(receipt.rows_total)}`, "rows_accepted"],
    ["拒收行", num(receipt.rows_rejected), "rows_rejected"],
    ["错误", num(receipt.errors), "errors"],
    ["警告", num(receipt.warnings), "warnings"],
  ];
  return h("dl", { class: "facts" }, facts.map(([name, value, key]) =>
    h("div", { dataset: { field: key } }, h("dt", {}, name), h("dd", {}, orDash(value)))));
}

function renderReceipt(box, receipt, report) {
  box.dataset.uploadId = receipt.upload_id;
  const id = encodeURIComponent(receipt.upload_id);
  const stem = (receipt.filename || "upload").replace(/\.[^.]*$/, "");
  box.append(
    h("h3", {}, "上传回执"),
    receiptFacts(receipt),
    h("div", { class: "actions" },
      h("button", { type: "button", id: "dl-report", onclick: () =>
        download(`/api/v1/uploads/${id}/report.xlsx`, `${stem}-问题标注.xlsx`).catch(reportError) },
      "下载问题标注 Excel（report.xlsx）"),
      h("button", { type: "button", class: "secondary", id: "dl-template", onclick: () =>
        downloadTemplate(receipt.kind) },
      `下载${label(KIND_LABEL, receipt.kind)}空白模板`)),
    findingsBlock(report, "本文件的问题", { period: receipt.period, upload: receipt }));
  show(box, true);
}

function renderUnreadable(box, body) {
  const receipt = (body.extra && body.extra.receipt) || {};
  box.dataset.uploadId = body.upload_id || "";
  box.append(
    h("h3", { class: "error" }, "文件被拒收，未入库任何内容"),
    h("p", { class: "error", id: "unreadable-detail" }, orDash(body.detail)),
    h("p", { class: "muted" }, "原文件已保存备查。请按模板整理后重新上传。"),
    receipt.upload_id ? receiptFacts(receipt) : "",
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", id: "dl-template", onclick: () =>
        downloadTemplate(KIND_CODES.includes(receipt.kind) ? receipt.kind
          : guessedKind(body.findings) || $("#u-kind").value) }, "下载空白模板")),
    findingsBlock({ findings: body.findings || [], counts: countFindings(body.findings || []) }, "拒收原因",
      { period: receipt.period, upload: receipt.upload_id ? receipt : null }));
  show(box, true);
}

function downloadTemplate(kind) {
  if (!KIND_CODES.includes(kind)) {
    setStatus("请先在“资料类型”中选择要下载哪一种模板。", "warning");
    return;
  }
  download(`/api/v1/templates/${kind}.xlsx`, `${label(KIND_LABEL, kind)}模板.xlsx`).catch(reportError);
}

function countFindings(findings) {
  const counts = { error: 0, warning: 0, info: 0, total: findings.length };
  for (const f of findings) counts[f.severity] = (counts[f.severity] || 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Wiring

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("#token").value.trim();
    if (token) signIn(token);
  });
  $("#signout").addEventListener("click", () => signOut());
  $("#bureau-filter").addEventListener("submit", (e) => {
    e.preventDefault();
    loadBureau().catch(reportError);
  });
  $("#b-export").addEventListener("click", () => {
    const period = $("#b-period").value;
    const region = $("#b-region").value.trim();
    const q = new URLSearchParams({ period });
    if (region) q.set("region", region);
    download(`/api/v1/coverage.xlsx?${q}`, `实名制工资支付覆盖率-${region || "全部"}-${period}.xlsx`).catch(reportError);
  });
  $("#b-bulletin").addEventListener("click", () => {
    const period = $("#b-period").value;
    const region = $("#b-region").value.trim() || (state.role === "bureau" && state.scope.length === 1 ? state.scope[0] : "");
    if (!/^[1-8]\d{0,5}$/.test(region)) {
      showAlert("请先填写区划代码前缀（如 4403），月度通报按区划生成。");
      return;
    }
    if (!/^\d{4}-\d{2}$/.test(period)) {
      showAlert("请选择统计月份（YYYY-MM）。");
      return;
    }
    showAlert(null);
    download(`/api/v1/bulletins/${region}/${period}.docx`, `实名制和工资支付情况通报-${region}-${period}.docx`).catch(reportError);
  });
  $("#detail-close").addEventListener("click", () => show($("#detail"), false));
  $("#upload-form").addEventListener("submit", upload);
  $("#u-template").addEventListener("click", () => downloadTemplate($("#u-kind").value));
  $("#u-project").addEventListener("change", () => {
    $("#pp-project").value = $("#u-project").value;
    loadProjectPeriod().catch(reportError);
  });
  $("#pp-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadProjectPeriod().catch(reportError);
  });

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved, { silent: true });
  else showLogin();
});
