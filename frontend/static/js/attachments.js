// Files attached in the composer: chosen, dropped or pasted; each uploads at once with its
// progress shown on a chip, and a chip can be removed. Sent messages show their files as
// chips that download, images as thumbnails.

const UNITS = ["KB", "MB", "GB"];

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  for (const unit of UNITS) {
    value /= 1024;
    if (value < 1024 || unit === "GB") {
      return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
    }
  }
  return `${bytes} B`;
}

// Why a file cannot be attached, before it is sent (the server checks again), or null.
export function refusal(file, policy) {
  if (!policy) return null;
  if (file.size > policy.max_bytes) {
    return `${file.name} is ${formatSize(file.size)}, over the ${formatSize(policy.max_bytes)} limit.`;
  }
  if (file.size === 0) return `${file.name} is empty.`;
  return null;
}

// What a refused file's chip says (the alert above the composer has the whole message).
export function shortReason(status) {
  if (status === 413) return "Too large";
  if (status === 415) return "Type not allowed";
  if (status === 422) return "Can't be read";
  return "Upload failed";
}

export const isImage = (type) => /^image\/(png|jpeg|gif|webp)$/.test(type || "");

export const contentUrl = (id) => `/api/files/${encodeURIComponent(id)}/content`;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const FILE_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/></svg>';
const CLOSE_ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7 7l10 10M17 7L7 17"/></svg>';

// The chips of a sent message: images as thumbnails, other files as download chips.
export function renderAttachments(attachments) {
  const list = element("div", "message-attachments");
  for (const file of attachments || []) {
    const link = element("a", isImage(file.content_type) ? "attachment-thumb" : "attachment-chip");
    link.href = contentUrl(file.id);
    link.setAttribute("download", file.name);
    link.title = `${file.name} (${formatSize(file.size)})`;
    if (isImage(file.content_type)) {
      const image = element("img");
      image.src = contentUrl(file.id);
      image.alt = file.name;
      image.loading = "lazy";
      link.append(image);
    } else {
      link.insertAdjacentHTML("beforeend", FILE_ICON);
      const label = element("span", "attachment-text");
      label.append(element("span", "attachment-name", file.name));
      label.append(element("span", "attachment-size", formatSize(file.size)));
      link.append(label);
    }
    list.append(link);
  }
  return list;
}

// Upload with XMLHttpRequest: fetch cannot report upload progress.
function upload(file, csrfToken, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open("POST", "/api/files");
    xhr.setRequestHeader("X-CSRFToken", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 201 && body) resolve(body);
      else {
        const error = new Error(body?.error?.message || `The upload failed (${xhr.status}).`);
        error.status = xhr.status;
        reject(error);
      }
    });
    xhr.addEventListener("error", () =>
      reject(new Error("The upload failed: check the connection.")),
    );
    xhr.addEventListener("abort", () => reject(new Error("aborted")));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { xhr, done };
}

export function createAttachments({ api, list, input, button, dropZone, overlay, prompt, alert }) {
  const items = [];
  // The limits, asked once; each file waits for them (the server checks again anyway).
  const policy = api.filePolicy().catch(() => null);

  function redraw() {
    list.replaceChildren(...items.map((item) => item.chip));
    list.hidden = items.length === 0;
  }

  function remove(item) {
    const at = items.indexOf(item);
    if (at >= 0) items.splice(at, 1);
    if (item.request) item.request.xhr.abort();
    if (item.file && item.status === "ready") api.removeFile(item.file.id).catch(() => {});
    redraw();
    prompt.focus();
  }

  function chipFor(item, source) {
    const chip = element("div", "attachment-chip composing");
    chip.setAttribute("role", "group");
    chip.setAttribute("aria-label", source.name);
    const preview = element("span", "attachment-preview");
    if (isImage(source.type) && source.size < 8 * 1024 * 1024) {
      const image = element("img");
      image.alt = "";
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        image.src = reader.result;
      });
      reader.readAsDataURL(source);
      preview.append(image);
    } else {
      preview.innerHTML = FILE_ICON;
    }
    const text = element("span", "attachment-text");
    text.append(element("span", "attachment-name", source.name));
    const status = element("span", "attachment-size", formatSize(source.size));
    text.append(status);
    const progress = element("span", "attachment-progress");
    const bar = element("span", "attachment-bar");
    progress.append(bar);
    const close = element("button", "icon-button small attachment-remove");
    close.type = "button";
    close.setAttribute("aria-label", `Remove ${source.name}`);
    close.title = "Remove";
    close.innerHTML = CLOSE_ICON;
    close.addEventListener("click", () => remove(item));
    chip.append(preview, text, close, progress);
    item.chip = chip;
    item.show = ({ state, fraction = 0, message = "", reason = "" }) => {
      item.status = state;
      chip.classList.toggle("uploading", state === "uploading");
      chip.classList.toggle("failed", state === "failed");
      bar.style.width = `${Math.round(fraction * 100)}%`;
      if (state === "failed") {
        status.textContent = reason || message;
        status.title = message;
      } else if (state === "uploading") {
        status.textContent = `${formatSize(source.size)} · ${Math.round(fraction * 100)}%`;
      } else {
        status.textContent = formatSize(source.size);
      }
    };
  }

  function start(item, source, limits) {
    if (!items.includes(item)) return; // removed while the limits were on their way
    const refused = refusal(source, limits);
    if (refused) {
      const reason = source.size === 0 ? "Empty file" : shortReason(413);
      item.show({ state: "failed", message: refused, reason });
      if (alert) alert(refused);
      return;
    }
    item.request = upload(source, api.csrfToken(), (fraction) =>
      item.show({ state: "uploading", fraction }),
    );
    item.request.done.then(
      (stored) => {
        item.request = null;
        item.file = stored;
        if (items.includes(item)) item.show({ state: "ready" });
        else api.removeFile(stored.id).catch(() => {});
      },
      (error) => {
        item.request = null;
        if (error.message === "aborted") return;
        item.show({ state: "failed", message: error.message, reason: shortReason(error.status) });
        if (alert) alert(error.message);
      },
    );
  }

  function add(files) {
    for (const source of files) {
      const item = { file: null, status: "uploading", request: null };
      chipFor(item, source);
      items.push(item);
      item.show({ state: "uploading", fraction: 0 });
      policy.then((limits) => start(item, source, limits));
    }
    redraw();
  }

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    add([...input.files]);
    input.value = "";
  });

  let depth = 0;
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  dropZone.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    overlay.hidden = false;
  });
  dropZone.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) event.preventDefault();
  });
  dropZone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) overlay.hidden = true;
  });
  dropZone.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    overlay.hidden = true;
    add([...event.dataTransfer.files]);
  });
  prompt.addEventListener("paste", (event) => {
    const pasted = [...(event.clipboardData?.files || [])];
    if (!pasted.length) return;
    event.preventDefault();
    add(pasted);
  });

  return {
    add,
    busy: () => items.some((item) => item.status === "uploading"),
    // The uploaded files, as the message will record them.
    ready: () =>
      items
        .filter((item) => item.status === "ready")
        .map(({ file }) => ({
          id: file.id,
          name: file.name,
          content_type: file.content_type,
          size: file.size,
        })),
    clear() {
      items.splice(0, items.length);
      redraw();
    },
  };
}
