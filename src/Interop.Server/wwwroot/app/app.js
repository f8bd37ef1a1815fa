// The residents' app: a public SMART-on-FHIR client (interop-app) with a standalone launch and PKCE (S256), all in
// the browser. The token lives in sessionStorage only (gone when the tab closes or the resident signs out); every
// read goes to /fhir with it, so the server's access policy decides what is shown.
(() => {
  "use strict";

  const CLIENT = "interop-app";
  const SCOPE = "openid fhirUser launch/patient patient/*.rs patient/AuditEvent.rs online_access";
  const PENDING = "interop-app.pending", SESSION = "interop-app.session", LANG = "interop-app.lang";
  const LOINC = "http://loinc.org", BP = "85354-9", SYSTOLIC = "8480-6", DIASTOLIC = "8462-4", A1C = "4548-4";
  const CONTRACT_TYPE = "https://interop.example/fhir/CodeSystem/episode-type|family-doctor-contract";
  const DIRECTION = "https://interop.example/fhir/StructureDefinition/referral-direction";
  const ACCESS_DAYS = 90;

  const $ = (id) => document.getElementById(id);
  let lang = "en";
  let data = null; // the record as loaded: re-rendered when the language changes
  const charts = {};

  // ---- words -------------------------------------------------------------------------------------------------
  function t(text, ...args) {
    const dict = lang === "zh-CN" ? (window.InteropAppText || {}).zh || {} : {};
    const s = Object.prototype.hasOwnProperty.call(dict, text) ? dict[text] : text;
    return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
  }

  function chooseLanguage() {
    const saved = localStorage.getItem(LANG);
    if (saved === "en" || saved === "zh-CN") return saved;
    return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t("My health record") + " · Interop";
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    document.querySelectorAll("[data-t-label]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.tLabel)); });
    document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === lang)));
  }

  const day = (iso) => iso ? new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric" }).format(new Date(iso.length === 10 ? iso + "T00:00:00" : iso)) : "";
  const time = (iso) => iso ? new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(new Date(iso)) : "";

  // ---- the page's pieces -------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }

  // A table in a box that scrolls sideways on a phone: the box is focusable (keyboard scrolling) and named.
  function table(caption, heads, rows, attrs, label) {
    return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": label || caption }, el("table", attrs || {},
      caption ? el("caption", { class: "muted" }, caption) : null,
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", r.attrs || {}, r.cells.map((c, i) => el("td", { "data-label": heads[i] }, c)))))));
  }

  function status(text) { $("status").textContent = text || ""; }

  function refuse(title, text) {
    $("refusal-title").textContent = title;
    $("refusal-text").textContent = text || "";
    $("refusal").hidden = false;
  }

  function show(part) {
    $("welcome").hidden = part !== "welcome";
    $("record").hidden = part !== "record";
    $("sign-out").hidden = part !== "record";
  }

  // ---- the API ------------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, text) { super(text); this.status = status; }
  }

  function session() {
    try { return JSON.parse(sessionStorage.getItem(SESSION) || "null"); } catch { return null; }
  }

  async function fhir(path) {
    const s = session();
    if (!s) throw new ApiError(401, "");
    let response;
    try {
      response = await fetch("/fhir/" + path, { headers: { Authorization: "Bearer " + s.accessToken, Accept: "application/fhir+json" } });
    } catch {
      throw new ApiError(0, t("The server cannot be reached. Check your connection and try again."));
    }
    const body = await response.json().catch(() => null);
    if (response.ok) return body;
    throw new ApiError(response.status, outcomeText(body) || response.statusText);
  }

  // An OperationOutcome in plain words: its issues' diagnostics (or details), one after the other.
  function outcomeText(body) {
    if (!body || body.resourceType !== "OperationOutcome") return "";
    return (body.issue || []).map((i) => i.diagnostics || (i.details && i.details.text) || i.code).filter(Boolean).join(" ");
  }

  // A section whose reading was refused says so in its own box; a 401 ends the session everywhere.
  function problem(error) {
    if (error instanceof ApiError && error.status === 401) throw error;
    const title = error.status === 403 ? t("Not allowed") : error.status === 404 ? t("Not found") : t("Something went wrong");
    return el("div", { class: "refusal", role: "alert", "data-status": String(error.status || 0) },
      el("strong", {}, title), " ", error.message ? t("The server said: {0}", error.message) : "");
  }

  async function all(path) {
    const bundle = await fhir(path);
    return (bundle.entry || []).map((e) => e.resource).filter(Boolean);
  }

  async function safely(promise) {
    try { return { value: await promise }; } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw error;
      return { error };
    }
  }

  // ---- sign-in: SMART standalone launch with PKCE ---------------------------------------------------------------
  const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

  async function signIn() {
    const response = await fetch("/fhir/.well-known/smart-configuration");
    const config = await response.json();
    const issuer = new URL(config.issuer);
    // The registered redirect is the issuer's own /app/; from another address (localhost for 127.0.0.1) start there.
    if (issuer.origin !== location.origin) { location.assign(new URL("app/", issuer).href); return; }
    const verifier = random(32), state = random(16);
    const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
    const redirect = new URL("app/", issuer).href;
    sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, redirect, tokenEndpoint: config.token_endpoint }));
    const url = new URL(config.authorization_endpoint);
    for (const [k, v] of Object.entries({
      response_type: "code", client_id: CLIENT, redirect_uri: redirect, scope: SCOPE, state,
      aud: new URL("fhir", issuer).href, code_challenge: challenge, code_challenge_method: "S256",
    })) url.searchParams.set(k, v);
    location.assign(url.href);
  }

  function claims(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
    } catch { return {}; }
  }

  // Back from the authorisation server: ?code=&state= (or ?error=). The code is taken out of the address at once.
  async function finishSignIn(query) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
    sessionStorage.removeItem(PENDING);
    history.replaceState(null, "", location.pathname);
    if (query.has("error")) {
      refuse(t("Sign-in was not completed"), query.get("error_description") || query.get("error"));
      return false;
    }
    if (!pending || pending.state !== query.get("state")) {
      refuse(t("Sign-in was not completed"), t("The sign-in answer does not belong to this sign-in (it may be old or from another tab). Sign in again."));
      return false;
    }
    status(t("Signing you in…"));
    const response = await fetch(pending.tokenEndpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code", code: query.get("code"), client_id: CLIENT,
        redirect_uri: pending.redirect, code_verifier: pending.verifier,
      }),
    });
    const token = await response.json().catch(() => ({}));
    if (!response.ok || !token.access_token) {
      refuse(t("Sign-in was not completed"), token.error_description || token.error || response.statusText);
      return false;
    }
    const fhirUser = (claims(token.id_token || "").fhirUser || "").replace(/^.*?\/?((Patient|Practitioner|RelatedPerson|Person)\/[^/]+)$/, "$1") || null;
    sessionStorage.setItem(SESSION, JSON.stringify({
      accessToken: token.access_token, patient: token.patient || null, fhirUser,
      expiresAt: Date.now() + (token.expires_in || 3600) * 1000,
    }));
    return true;
  }

  function signOut() {
    sessionStorage.removeItem(SESSION);
    sessionStorage.removeItem(PENDING);
    // The authorisation server's own sign-in ends too, so the next person on this device signs in afresh.
    location.assign("/signout?back=/app/");
  }

  function sessionEnded() {
    sessionStorage.removeItem(SESSION);
    data = null;
    show("welcome");
    status("");
    refuse(t("Sign in again"), t("Your session has ended. Sign in again to see your record."));
  }

  // ---- reading the record ---------------------------------------------------------------------------------------
  const names = new Map(); // "Practitioner/x" → a name, or null when it may not be read

  function humanName(resource) {
    const n = (resource && resource.name || [])[0];
    if (!n) return null;
    if (typeof resource.name === "string") return resource.name; // an Organization
    return n.text || [].concat(n.given || [], n.family || []).join(" ");
  }

  async function nameOf(reference) {
    if (!reference) return null;
    if (!names.has(reference)) names.set(reference, fhir(reference).then(humanName, () => null));
    return names.get(reference);
  }

  async function load() {
    const s = session();
    show("record");
    $("refusal").hidden = true;
    if (!s.patient || (s.fhirUser && !s.fhirUser.startsWith("Patient/"))) {
      show("welcome");
      $("sign-out").hidden = false;
      refuse(t("Not allowed"), t("This sign-in has no resident record: this app is for residents."));
      return;
    }
    status(t("Loading your record…"));
    const me = "Patient/" + s.patient;
    const since = new Date(Date.now() - ACCESS_DAYS * 86400000).toISOString().slice(0, 10);
    const [patient, contracts, plans, requests, tasks, bp, a1c, access] = await Promise.all([
      safely(fhir(me)),
      safely(all(`EpisodeOfCare?patient=${me}&type=${encodeURIComponent(CONTRACT_TYPE)}&_count=50`)),
      safely(all(`CarePlan?patient=${me}&status=active,draft,on-hold&_count=50`)),
      safely(all(`ServiceRequest?patient=${me}&_count=100`)),
      safely(all(`Task?patient=${me}&code=fulfill&_count=100`)),
      safely(all(`Observation?patient=${me}&code=${encodeURIComponent(LOINC + "|" + BP)}&_sort=date&_count=200`)),
      safely(all(`Observation?patient=${me}&code=${encodeURIComponent(LOINC + "|" + A1C)}&_sort=date&_count=200`)),
      safely(fhir(`AuditEvent/$access-report?patient=${me}&start=${since}`)),
    ]);
    data = { me, fhirUser: s.fhirUser || me, patient, contracts, plans, requests, tasks, bp, a1c, access, names: {} };
    // The names the sections show: the GP, the institutions, the people in the access report (Practitioner and
    // Organization are shared directory data a resident's token may read; what it may not read keeps its reference).
    const refs = new Set();
    // The contract's team stays as the contract names it: a family-doctor team is a CareTeam, in the patient compartment,
    // which a resident's token does not read (404); its GP, a Practitioner, is shared.
    for (const c of contracts.value || []) [c.careManager, c.managingOrganization].forEach((r) => r && r.reference && refs.add(r.reference));
    for (const r of requests.value || []) [r.requester, ...(r.performer || [])].forEach((x) => x && x.reference && refs.add(x.reference));
    for (const p of (access.value && access.value.parameter) || []) for (const part of p.part || []) {
      if (part.name === "institution" && part.valueReference) refs.add(part.valueReference.reference);
      if (part.name === "person" && /^(Practitioner|Organization)\//.test(part.valueString || "")) refs.add(part.valueString);
    }
    await Promise.all([...refs].map(async (r) => { data.names[r] = await nameOf(r); }));
    status("");
    render();
  }

  // ---- rendering ------------------------------------------------------------------------------------------------
  const named = (ref) => ref ? (data.names[ref.reference || ref] || ref.display || ref.reference || ref) : "";
  const word = (code) => code ? (lang === "en" ? code.replace(/-/g, " ") : t(code)) : "";

  function fill(section, ...content) {
    const body = document.querySelector(`#${section} .body`);
    body.replaceChildren(...content.flat().filter(Boolean));
  }

  function render() {
    if (!data) return;
    const p = data.patient.value;
    $("patient-name").textContent = p ? humanName(p) || data.me : t("My health record");
    $("patient-facts").textContent = p && p.birthDate ? t("Born {0}", day(p.birthDate)) : "";
    if (data.patient.error) $("patient-facts").replaceChildren(problem(data.patient.error));
    renderContract();
    renderCarePlan();
    renderReferrals();
    renderResults();
    renderAccess();
  }

  function renderContract() {
    const { value, error } = data.contracts;
    if (error) return fill("contract", problem(error));
    const sorted = [...value].sort((a, b) => ((b.period || {}).start || "").localeCompare((a.period || {}).start || ""));
    const current = sorted.find((c) => c.status === "active") || null;
    if (!current) return fill("contract", el("p", { class: "notice" }, t("No family doctor contract on record.")));
    const period = current.period || {};
    const facts = el("dl", { class: "facts", id: "contract-facts", "data-contract": current.id, "data-gp": (current.careManager || {}).reference || "" },
      el("dt", {}, t("Doctor")), el("dd", { id: "gp-name" }, named(current.careManager)),
      el("dt", {}, t("Station")), el("dd", {}, named(current.managingOrganization)),
      (current.team || []).length ? [el("dt", {}, t("Team")), el("dd", {}, (current.team || []).map((r) => r.display || (r.reference || "").split("/").pop()).join(", "))] : null,
      el("dt", {}, t("Contract period")), el("dd", {}, `${day(period.start)} – ${day(period.end)}`),
      el("dt", {}, t("Status")), el("dd", {}, el("span", { class: "badge" }, word(current.status))));
    const earlier = sorted.filter((c) => c !== current);
    fill("contract", facts, earlier.length ? [el("h3", {}, t("Earlier contracts")), table(null, [t("Doctor"), t("Contract period"), t("Status")],
      earlier.map((c) => ({ cells: [named(c.careManager), `${day((c.period || {}).start)} – ${day((c.period || {}).end)}`, word(c.status)] })), {}, t("Earlier contracts"))] : null);
  }

  function due(activity) {
    const d = activity.detail || {};
    const timing = d.scheduledTiming || {};
    return (timing.event || [])[0] || (d.scheduledPeriod || {}).start || d.scheduledString || "";
  }

  function activityName(activity) {
    const d = activity.detail || {};
    const code = d.code || {};
    return code.text || ((code.coding || [])[0] || {}).display || d.description || d.kind || "";
  }

  function renderCarePlan() {
    const { value, error } = data.plans;
    if (error) return fill("careplan", problem(error));
    if (!value.length) return fill("careplan", el("p", { class: "notice" }, t("No active care plan.")));
    const open = [];
    for (const plan of value) for (const a of plan.activity || []) {
      const s = (a.detail || {}).status;
      if (s !== "completed" && s !== "cancelled" && s !== "stopped" && s !== "entered-in-error") open.push({ plan, a });
    }
    open.sort((x, y) => due(x.a).localeCompare(due(y.a)));
    const plans = el("ul", { class: "plain" }, value.map((plan) => el("li", {},
      el("strong", {}, plan.title || ((plan.category || [])[0] || {}).text || t("Plan")), " ",
      el("span", { class: "badge" }, word(plan.status)), " ",
      el("span", { class: "muted" }, (plan.period || {}).start ? day(plan.period.start) : ""))));
    fill("careplan", plans, el("h3", {}, t("Next activities")),
      table(null, [t("Activity"), t("Due"), t("Status")],
        open.map(({ a }) => ({ attrs: { "data-due": due(a) }, cells: [activityName(a), day(due(a)), word((a.detail || {}).status)] })), { id: "activities" }, t("Next activities")));
  }

  function renderReferrals() {
    const requests = data.requests, tasks = data.tasks;
    if (requests.error) return fill("referrals", problem(requests.error));
    if (tasks.error) return fill("referrals", problem(tasks.error));
    const byRequest = new Map();
    for (const task of tasks.value) for (const b of task.basedOn || []) byRequest.set(b.reference, task);
    const referrals = requests.value.filter((r) => byRequest.has("ServiceRequest/" + r.id) || (r.extension || []).some((x) => x.url === DIRECTION))
      .sort((a, b) => (b.authoredOn || "").localeCompare(a.authoredOn || ""));
    if (!referrals.length) return fill("referrals", el("p", { class: "notice" }, t("No referrals.")));
    fill("referrals", table(null, [t("Referral"), t("From"), t("To"), t("Sent"), t("Status")], referrals.map((r) => {
      const task = byRequest.get("ServiceRequest/" + r.id);
      const direction = ((r.extension || []).find((x) => x.url === DIRECTION) || {}).valueCode;
      const reason = ((r.reasonCode || [])[0] || {}).text || ((r.code || {}).text) || "";
      const state = task ? task.status : r.status;
      return {
        attrs: { "data-referral": r.id, "data-state": state },
        cells: [
          el("span", {}, reason, direction ? el("span", { class: "muted" }, " · " + t(direction === "up" ? "up to hospital" : "down to station")) : null,
            r.priority ? [" ", el("span", { class: "badge " + r.priority }, word(r.priority))] : null),
          named(r.requester), (r.performer || []).map(named).join(", "), day(r.authoredOn),
          el("span", {}, el("span", { class: "badge state" }, word(state)),
            task && task.statusReason ? el("span", { class: "muted" }, " " + (task.statusReason.text || "")) : null),
        ],
      };
    }), { id: "referral-table", class: "stack" }, t("Referrals")));
  }

  function component(obs, code) {
    const c = (obs.component || []).find((x) => (x.code.coding || []).some((k) => k.system === LOINC && k.code === code));
    return c && c.valueQuantity ? c.valueQuantity.value : null;
  }

  const when = (obs) => obs.effectiveDateTime || (obs.effectivePeriod || {}).start || obs.issued || "";
  const byDate = (a, b) => (Date.parse(when(a)) || 0) - (Date.parse(when(b)) || 0);

  function renderResults() {
    const bp = data.bp.value ? [...data.bp.value].sort(byDate) : [];
    const a1c = data.a1c.value ? [...data.a1c.value].sort(byDate) : [];
    const bpRows = bp.map((o) => ({ date: when(o), sys: component(o, SYSTOLIC), dia: component(o, DIASTOLIC) }));
    const a1cRows = a1c.map((o) => ({ date: when(o), value: o.valueQuantity ? o.valueQuantity.value : null }));
    chart("bp-chart", bpRows.map((r) => day(r.date)), [
      { label: t("Systolic (mmHg)"), data: bpRows.map((r) => r.sys), borderColor: "#a4161a", backgroundColor: "#a4161a" },
      { label: t("Diastolic (mmHg)"), data: bpRows.map((r) => r.dia), borderColor: "#0b5cad", backgroundColor: "#0b5cad" },
    ], bpRows.length ? t("Blood pressure over time: {0} readings, the latest {1}.", bpRows.length, `${bpRows.at(-1).sys}/${bpRows.at(-1).dia} mmHg`) : t("No results yet."));
    chart("a1c-chart", a1cRows.map((r) => day(r.date)), [
      { label: t("HbA1c (%)"), data: a1cRows.map((r) => r.value), borderColor: "#1b7a3a", backgroundColor: "#1b7a3a" },
    ], a1cRows.length ? t("HbA1c over time: {0} results, the latest {1}.", a1cRows.length, `${a1cRows.at(-1).value} %`) : t("No results yet."));
    const newest = (rows) => [...rows].reverse();
    $("bp-table").replaceChildren(data.bp.error ? problem(data.bp.error) : !bpRows.length ? el("p", { class: "muted" }, t("No results yet."))
      : table(t("The same values as a table"), [t("Date"), t("Systolic (mmHg)"), t("Diastolic (mmHg)")],
        newest(bpRows).map((r) => ({ cells: [day(r.date), r.sys, r.dia] })), { id: "bp-values" }, t("Blood pressure")));
    $("a1c-table").replaceChildren(data.a1c.error ? problem(data.a1c.error) : !a1cRows.length ? el("p", { class: "muted" }, t("No results yet."))
      : table(t("The same values as a table"), [t("Date"), t("HbA1c (%)")],
        newest(a1cRows).map((r) => ({ cells: [day(r.date), r.value] })), { id: "a1c-values" }, t("HbA1c")));
  }

  function chart(id, labels, datasets, summary) {
    const canvas = $(id);
    canvas.setAttribute("aria-label", summary);
    canvas.closest("figure").hidden = labels.length === 0;
    if (charts[id]) charts[id].destroy();
    delete charts[id];
    if (!labels.length || !window.Chart) return;
    charts[id] = new window.Chart(canvas, {
      type: "line",
      data: { labels, datasets: datasets.map((d) => Object.assign({ tension: 0.2, pointRadius: 4, spanGaps: true }, d)) },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
    });
  }

  const ACTIONS = { R: "read", E: "searched", C: "created", U: "changed", D: "deleted" };
  const KINDS = {
    Patient: "your record", Observation: "results", EpisodeOfCare: "contracts and care programmes", CarePlan: "care plans",
    ServiceRequest: "referrals", Task: "referrals", Encounter: "visits", Condition: "diagnoses", DocumentReference: "documents",
  };
  // What an access touched, as kinds of record ("results, referrals"), not ids.
  const kinds = (what) => [...new Set(what.split(" ").filter(Boolean).map((w) => t(KINDS[w.split("/")[0]] || "other records")))].join(", ");

  function renderAccess() {
    const { value, error } = data.access;
    if (error) return fill("access", problem(error));
    const own = $("show-own").checked;
    const lines = (value.parameter || []).filter((p) => p.name === "access").map((p) => {
      const part = (n) => (p.part || []).find((x) => x.name === n) || {};
      return {
        recorded: part("recorded").valueInstant, person: part("person").valueString || null,
        institution: (part("institution").valueReference || {}).reference || null, client: part("client").valueString,
        action: part("action").valueCode, subtype: part("subtype").valueCode, outcome: part("outcome").valueCode,
        what: part("what").valueString || "", breakGlass: part("breakGlass").valueBoolean === true,
      };
    }).filter((l) => own || l.person !== data.fhirUser).sort((a, b) => (b.recorded || "").localeCompare(a.recorded || ""));
    if (!lines.length) return fill("access", el("p", { class: "notice" }, t("No accesses in this period.")));
    fill("access", table(null, [t("When"), t("Who"), t("Institution"), t("What"), t("Outcome")], lines.map((l) => ({
      attrs: { "data-person": l.person || "", "data-institution": l.institution || "", "data-outcome": l.outcome },
      cells: [
        time(l.recorded),
        l.person === data.fhirUser ? t("you") : l.person ? (data.names[l.person] || l.person) : t("a system of the institution"),
        l.institution ? data.names[l.institution] || l.institution : "",
        el("span", {}, t(ACTIONS[l.action] || "used"), " ", el("span", { class: "muted" }, kinds(l.what)),
          l.breakGlass ? [" ", el("span", { class: "badge urgent" }, t("emergency access (break the glass)"))] : null),
        t(l.outcome === "0" ? "allowed" : l.outcome === "4" ? "refused" : "failed"),
      ],
    })), { id: "access-table", class: "stack" }, t("Who accessed my record")));
  }

  // ---- start ----------------------------------------------------------------------------------------------------
  async function start() {
    lang = chooseLanguage();
    applyLanguage();
    document.querySelectorAll("[data-lang]").forEach((b) => b.addEventListener("click", () => {
      lang = b.dataset.lang;
      localStorage.setItem(LANG, lang);
      applyLanguage();
      render();
    }));
    $("sign-in").addEventListener("click", () => signIn().catch(() => refuse(t("Something went wrong"), t("The server cannot be reached. Check your connection and try again."))));
    $("sign-out").addEventListener("click", signOut);
    $("show-own").addEventListener("change", () => data && renderAccess());
    try {
      const query = new URLSearchParams(location.search);
      const refused = query.get("error") === "access_denied";
      if (query.has("code") || query.has("error")) await finishSignIn(query);
      const s = session();
      if (s && s.expiresAt > Date.now()) await load();
      else {
        if (s) sessionEnded(); else show("welcome");
        // Refused for the account that signed in (staff): signing out lets someone else sign in on this device.
        $("sign-out").hidden = !refused;
      }
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) sessionEnded();
      else { show("welcome"); status(""); refuse(t("Something went wrong"), error.message); }
    }
    document.body.dataset.ready = "true"; // for the tests: everything this start would show is shown
  }

  start();
})();
