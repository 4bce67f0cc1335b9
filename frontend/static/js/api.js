// The front end's own JSON endpoints (/api/...), with the page's CSRF token on state changes.

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `The server answered ${status}.`);
    this.status = status;
    this.type = body?.error?.type || "error";
  }
}

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
    throw new ApiError(401, { error: { message: "Log in again." } });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  models: () => request("GET", "/models"),
  conversations: (params) => request("GET", `/conversations?${new URLSearchParams(params)}`),
  createConversation: (title) => request("POST", "/conversations", title ? { title } : {}),
  conversation: (id) => request("GET", `/conversations/${id}`),
  rename: (id, title) => request("PATCH", `/conversations/${id}`, { title }),
  pin: (id, pinned) => request("PATCH", `/conversations/${id}`, { pinned }),
  remove: (id) => request("DELETE", `/conversations/${id}`),
  // `attached`: {files: [file id], resources: [{server, uri}]}.
  send: (id, content, model, { files = [], resources = [] } = {}) =>
    request("POST", `/conversations/${id}/messages`, {
      content: content || null,
      ...(model ? { model } : {}),
      ...(files.length ? { files } : {}),
      ...(resources.length ? { resources } : {}),
    }),
  filePolicy: () => request("GET", "/files/policy"),
  removeFile: (id) => request("DELETE", `/files/${encodeURIComponent(id)}`),
  edit: (id, messageId, content, model) =>
    request("POST", `/conversations/${id}/messages/${messageId}/edit`, { content, model }),
  regenerate: (id, messageId, model) =>
    request(
      "POST",
      `/conversations/${id}/messages/${messageId}/regenerate`,
      model ? { model } : {},
    ),
  switchBranch: (id, messageId, tab) =>
    request("PUT", `/conversations/${id}/branch`, { message_id: messageId, tab }),
  cancel: (runId) => request("POST", `/runs/${runId}/cancel`),
  // `decision`: "approve", "deny" or "always" (approve, and allow the tool from now on).
  decide: (callId, decision) =>
    request(
      "POST",
      `/tool-calls/${encodeURIComponent(callId)}/${decision === "deny" ? "deny" : "approve"}`,
      decision === "always" ? { always: true } : undefined,
    ),
  answerInput: (runId, id, action, content) =>
    request("POST", `/runs/${runId}/input`, content ? { id, action, content } : { id, action }),
  prompts: () => request("GET", "/mcp/prompts"),
  getPrompt: (body) => request("POST", "/mcp/prompts/get", body),
  resources: () => request("GET", "/mcp/resources"),
  csrfToken,
};
