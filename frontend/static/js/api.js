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
  remove: (id) => request("DELETE", `/conversations/${id}`),
  send: (id, content, model, files) =>
    request("POST", `/conversations/${id}/messages`, {
      content: content || null,
      ...(model ? { model } : {}),
      ...(files?.length ? { files } : {}),
    }),
  filePolicy: () => request("GET", "/files/policy"),
  removeFile: (id) => request("DELETE", `/files/${encodeURIComponent(id)}`),
  cancel: (runId) => request("POST", `/runs/${runId}/cancel`),
  decide: (callId, approve) =>
    request("POST", `/tool-calls/${encodeURIComponent(callId)}/${approve ? "approve" : "deny"}`),
  csrfToken,
};
