// Pure helpers of the settings and admin screens: what a field means, how a value reads.

export function formatWhen(value, now = new Date()) {
  if (!value) return "Never";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "—";
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  if (seconds < 60) return "Just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

// When a key stops working: "Never", "Expired", or how long it has left.
export function formatExpiry(value, now = new Date()) {
  if (!value) return "Never";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "—";
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  if (seconds <= 0) return "Expired";
  if (seconds < 3600) return "In less than an hour";
  if (seconds < 86400) return `In ${Math.floor(seconds / 3600)} h`;
  const days = Math.round(seconds / 86400);
  return days === 1 ? "In 1 day" : `In ${days} days`;
}

// A browser's User-Agent as a person names it: "Firefox on Linux", or the raw text.
export function describeAgent(agent) {
  if (!agent) return "Unknown device";
  const browsers = [
    ["Edg/", "Edge"],
    ["Firefox/", "Firefox"],
    ["Chrome/", "Chrome"],
    ["Safari/", "Safari"],
  ];
  const systems = [
    ["Android", "Android"],
    ["iPhone", "iOS"],
    ["Windows", "Windows"],
    ["Mac OS X", "macOS"],
    ["Linux", "Linux"],
  ];
  const browser = browsers.find(([mark]) => agent.includes(mark));
  const system = systems.find(([mark]) => agent.includes(mark));
  if (!browser) return agent.length > 60 ? `${agent.slice(0, 57)}…` : agent;
  return system ? `${browser[1]} on ${system[1]}` : browser[1];
}

export function formatCount(value) {
  return new Intl.NumberFormat("en-US").format(Number(value) || 0);
}

// Arguments, one per line; blank lines are dropped, spaces inside a line are kept.
export function parseArgs(text) {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
}

// NAME=value lines as an object; a line without "=" is an error the user sees.
export function parseEnv(text) {
  const env = {};
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`Line ${index + 1} of the environment is not NAME=value.`);
    env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return env;
}

const STATES = {
  ready: ["Connected", "ok"],
  starting: ["Starting", "warn"],
  reconnecting: ["Reconnecting", "warn"],
  circuit_open: ["Circuit open", "danger"],
  auth_required: ["Needs authorization", "warn"],
  stopped: ["Stopped", "danger"],
};

// A server's health as a label and a tone (ok, warn, danger) for its badge.
export function serverStatus(health) {
  const [label, tone] = STATES[health?.state] || [health?.state || "Unknown", "warn"];
  return { label, tone };
}

// The circuit breaker in words: closed, or open with failures and when it retries.
export function breakerText(health) {
  if (!health) return "—";
  if (health.circuit_open) {
    const retry = health.next_attempt_in != null ? `, retry in ${health.next_attempt_in}s` : "";
    return `Open (${health.consecutive_failures} failures${retry})`;
  }
  return health.consecutive_failures
    ? `Closed (${health.consecutive_failures} failures)`
    : "Closed";
}

// Usage rows summed for the totals above the table.
export function usageTotals(rows) {
  const totals = { requests: 0, input: 0, output: 0, users: new Set() };
  for (const row of rows) {
    totals.requests += row.runs;
    totals.input += row.input_tokens;
    totals.output += row.output_tokens;
    totals.users.add(row.user_id);
  }
  return {
    requests: totals.requests,
    input: totals.input,
    output: totals.output,
    users: totals.users.size,
  };
}

// The audit log's query from its filter fields: blanks left out, local times sent as
// ISO 8601 with their offset (a datetime-local field has no zone of its own).
export function auditQuery(fields, extra = {}) {
  const params = new URLSearchParams();
  for (const name of ["user", "action"]) {
    const value = (fields[name] || "").trim();
    if (value) params.set(name, value);
  }
  for (const name of ["since", "until"]) {
    const value = fields[name];
    if (!value) continue;
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) params.set(name, date.toISOString());
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value != null && value !== "") params.set(name, String(value));
  }
  return params.toString();
}

const AUDIT_FIRST = ["decision", "reason", "server", "tool", "action", "name", "email"];

// An audit record's details as one line: the telling keys first, ids left out (they are in
// the row's tooltip and the download), nested values as JSON, long values cut short.
export function auditDetail(detail, max = 20) {
  const rank = (key) => (AUDIT_FIRST.includes(key) ? AUDIT_FIRST.indexOf(key) : AUDIT_FIRST.length);
  return Object.entries(detail || {})
    .filter(([key, value]) => value != null && !key.endsWith("_id"))
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([key, value]) => {
      let shown = typeof value === "object" ? JSON.stringify(value) : String(value);
      if (shown.length > max) shown = `${shown.slice(0, max - 2)}…`;
      return `${key}: ${shown}`;
    })
    .join(" · ");
}

// How an audit record's outcome is shown: its word and a badge colour.
export function auditOutcome(outcome) {
  if (outcome === "ok") return { text: "ok", tone: "ok" };
  if (outcome === "failure" || outcome === "fault" || outcome === "error")
    return { text: outcome, tone: "danger" };
  return { text: outcome, tone: "warn" };
}

// -- groups -------------------------------------------------------------------------------

// A group's row in the list: member count, its model restriction, its tool rules.
export function groupSummary(group) {
  const members = group.members.length;
  let models = "Any model";
  if (group.models !== null) {
    models = group.models.length ? group.models.join(", ") : "No model";
  }
  const denied = group.policies.filter((rule) => rule.policy === "deny").length;
  const asked = group.policies.length - denied;
  const parts = [];
  if (denied) parts.push(`${denied} denied`);
  if (asked) parts.push(`${asked} ask`);
  return { members: String(members), models, rules: parts.join(", ") || "None" };
}

export function ruleLabel(policy) {
  return policy === "deny" ? "Deny" : policy === "ask" ? "Ask every time" : policy;
}

// The models to offer as checkboxes: those on offer, the group's own, and any typed,
// each once, in that order.
export function modelChoices(offered, current, typed = []) {
  return [...new Set([...offered, ...(current || []), ...typed])];
}

// The tools a rule may name on `server`: "*" (every tool) first, then the server's tools
// (`tool` is the name on its server; every tool when no server is typed yet).
export function toolChoices(tools, server) {
  const names = tools.filter((tool) => !server || tool.server === server).map((tool) => tool.tool);
  return ["*", ...[...new Set(names)].sort()];
}
