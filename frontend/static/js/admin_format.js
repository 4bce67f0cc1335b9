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
