// The chat screen: wires the sidebar, the thread, the composer and the live channel.

import { io } from "../vendor/socket.io.esm.min.js";
import * as marked from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.js";
import hljs from "../vendor/highlight.min.js";
import { api } from "./api.js";
import { createAttachments } from "./attachments.js";
import { decorateAnswer, decorateQuestion, setExportTarget } from "./branches.js";
import { answer, applyEvent, createRun, decide, isFinished } from "./events.js";
import { beforeRunningAnswer, turnsFromMessages } from "./history.js";
import { connectLive } from "./live.js";
import { createDrawer } from "./drawer.js";
import { createMarkdown } from "./markdown.js";
import { createResourcePicker, resourceLabel } from "./resources.js";
import { createSlashMenu } from "./slash.js";
import { createSidebar } from "./sidebar.js";
import { placeSummary, summaryDivider } from "./summary.js";
import { createThread } from "./thread.js";

const $ = (id) => document.getElementById(id);
const render = createMarkdown({ marked, DOMPurify, hljs });

const state = {
  conversation: $("layout").dataset.conversation || null,
  run: null, // the live run of the open conversation (events.js state)
  answer: null, // its view
  opening: 0,
  sending: false, // between sending a message and following its run
};

function showAlert(message) {
  const alert = $("alert");
  alert.textContent = message || "";
  alert.hidden = !message;
}

const thread = createThread({
  container: $("messages"),
  scroller: $("thread"),
  render,
  onDecide: async (callId, decision) => {
    if (!state.run) return;
    decide(state.run, callId, decision);
    state.answer.update(state.run, { now: true });
    try {
      await api.decide(callId, decision);
    } catch (error) {
      showAlert(error.message);
    }
  },
  onAnswer: async (questionId, action, content) => {
    if (!state.run) return;
    const runId = state.run.runId;
    answer(state.run, questionId, action);
    state.answer.update(state.run, { now: true });
    try {
      await api.answerInput(runId, questionId, action, content);
    } catch (error) {
      showAlert(error.message);
    }
  },
});

const live = connectLive(
  io,
  api.csrfToken(),
  (event) => {
    const run = state.run;
    if (!run || event.run_id !== run.runId) return;
    if (event.failure) {
      showAlert(event.failure.message);
      return;
    }
    if (applyEvent(run, event)) {
      state.answer.update(run);
      if (isFinished(run)) finishRun();
    }
  },
  (started) => {
    sidebar.load();
    const mine = state.run && state.run.runId === started.run_id;
    if (!mine && !state.run && !state.sending && started.conversation_id === state.conversation) {
      open(state.conversation);
    }
  },
);

// Another tab of this user chose another version in a conversation: show it here too.
const tab = Math.random().toString(36).slice(2);
live.socket.on("conversation.branch", async (changed) => {
  const id = state.conversation;
  if (changed.tab === tab || changed.conversation_id !== id || state.run || state.sending) return;
  const mine = ++state.opening;
  try {
    const detail = await api.conversation(id);
    if (mine !== state.opening || detail.active_run) return;
    const scroll = $("thread").scrollTop;
    show(detail);
    $("thread").scrollTop = scroll;
  } catch (error) {
    showAlert(error.message);
  }
});

const sidebar = createSidebar({
  api,
  nav: $("conversations"),
  more: $("more"),
  search: $("search"),
  template: $("conversation-item"),
  onOpen: (id) => open(id, { push: true }),
  onDeleted: (id) => {
    if (id === state.conversation) open(null, { push: true });
  },
  alert: showAlert,
});

const drawer = createDrawer({
  body: document.body,
  opener: $("open-sidebar"),
  closer: $("close-sidebar"),
  scrim: $("scrim"),
});

function setRunning(running) {
  $("send").hidden = running;
  $("stop").hidden = !running;
  // Screen readers announce the answer once it is written, not every streamed word.
  $("thread").setAttribute("aria-busy", String(running));
}

function finishRun() {
  const compacted = state.run?.compacted;
  if (state.run) live.unfollow(state.run.runId);
  state.run = null;
  setRunning(false);
  sidebar.load();
  // The older turns were summarised: draw the conversation again, with its divider.
  if (compacted && state.conversation) open(state.conversation);
  else actOnLastTurn();
}

// Edit, regenerate and versions for each question and answer, by the stored messages.
function decorate(row, turn, message) {
  if (!message) return;
  const onSwitch = (id, direction) => switchTo(id, row, direction);
  if (turn.role === "user") {
    decorateQuestion(row, message, {
      onEdit: (text) => branch("edit", message.id, text),
      onSwitch,
    });
  } else {
    decorateAnswer(row, message, {
      onRegenerate: () => branch("regenerate", message.id),
      onSwitch,
    });
  }
}

// The turn that just ended has ids now: give its question and answer their actions.
async function actOnLastTurn() {
  const id = state.conversation;
  const mine = state.opening;
  let detail;
  try {
    detail = await api.conversation(id);
  } catch {
    return;
  }
  if (mine !== state.opening || id !== state.conversation || state.run) return;
  const byId = new Map(detail.messages.map((message) => [message.id, message]));
  const turns = turnsFromMessages(detail.messages).slice(-2);
  const rows = [...$("messages").querySelectorAll(":scope > .message")].slice(-turns.length);
  turns.forEach((turn, index) => {
    const row = rows[index];
    if (row && !row.querySelector(".message-actions, .regenerate")) {
      decorate(row, turn, byId.get(turn.id));
    }
  });
}

async function branch(kind, messageId, text) {
  if (state.run) {
    showAlert("Wait for the answer to finish, or stop it first.");
    return false;
  }
  showAlert("");
  state.sending = true;
  const id = state.conversation;
  try {
    const model = $("model").value || undefined;
    if (kind === "edit") await api.edit(id, messageId, text, model);
    else await api.regenerate(id, messageId, model);
    await open(id);
    // The control that was used is gone: the keyboard goes on to the next message.
    if (window.matchMedia("(hover: hover)").matches) $("prompt").focus();
    return true;
  } catch (error) {
    showAlert(error.message);
    return false;
  } finally {
    state.sending = false;
  }
}

// Another version of a message: the branch through it, drawn in place.
async function switchTo(messageId, row, direction) {
  if (!messageId || state.run) return;
  const position = [...$("messages").children].indexOf(row);
  const mine = ++state.opening;
  try {
    const detail = await api.switchBranch(state.conversation, messageId, tab);
    if (mine !== state.opening) return;
    const scroll = $("thread").scrollTop;
    show(detail);
    $("thread").scrollTop = scroll;
    const again = $("messages").children[position];
    const arrow = again?.querySelector(`.version-${direction}`);
    (arrow && !arrow.disabled
      ? arrow
      : again?.querySelector(".versions button:not(:disabled)")
    )?.focus();
  } catch (error) {
    showAlert(error.message);
  }
}

function follow(runId) {
  const run = createRun(runId);
  state.run = run;
  state.answer = thread.addAnswer();
  state.answer.update(run, { now: true });
  setRunning(true);
  live.follow(runId, () => run.lastId);
}

function showEmpty() {
  $("empty").hidden = !thread.isEmpty();
}

async function open(id, { push = false } = {}) {
  const mine = ++state.opening;
  if (state.run) live.unfollow(state.run.runId);
  state.run = null;
  setRunning(false);
  showAlert("");
  state.conversation = id;
  if (push) history.pushState({ id }, "", id ? `/c/${id}` : "/");
  sidebar.select(id);
  drawer.close({ restore: false });
  thread.clear();
  $("title").textContent = "";
  setExportTarget($("export"), id);
  if (!id) {
    showEmpty();
    $("prompt").focus();
    return;
  }
  let detail;
  try {
    detail = await api.conversation(id);
  } catch (error) {
    showAlert(error.message);
    return;
  }
  if (mine !== state.opening) return;
  show(detail);
  if (detail.active_run) follow(detail.active_run.id);
  thread.toBottom();
}

function show(detail) {
  thread.clear();
  $("title").textContent = detail.title;
  document.title = `${detail.title} · Assistant`;
  const running = detail.active_run;
  const messages = running ? beforeRunningAnswer(detail.messages) : detail.messages;
  const byId = new Map(messages.map((message) => [message.id, message]));
  const divider = placeSummary(messages, detail.summaries);
  thread.show(turnsFromMessages(messages), {
    before(turn, into) {
      if (divider && turn.id === divider.before) {
        into.append(summaryDivider(divider.summary, render));
      }
    },
    decorate: (row, turn) => decorate(row, turn, byId.get(turn.id)),
  });
  showEmpty();
}

async function send(text, files = []) {
  showAlert("");
  state.sending = true;
  let attached = [];
  let id = state.conversation;
  try {
    if (!id) {
      const title = text || files.map((file) => file.name).join(", ");
      const created = await api.createConversation(title.slice(0, 60));
      id = created.id;
      state.conversation = id;
      history.pushState({ id }, "", `/c/${id}`);
      sidebar.touch(created);
      sidebar.select(id);
      setExportTarget($("export"), id);
      $("title").textContent = created.title;
    }
    attached = resourcePicker.take();
    const resources = attached.map((r) => ({
      kind: "resource",
      name: resourceLabel(r),
      title: r.uri,
    }));
    thread.addUser(text, { files, resources });
    showEmpty();
    thread.toBottom();
    const model = $("model").value || undefined;
    const accepted = await api.send(id, text, model, {
      files: files.map((file) => file.id),
      resources: attached.map(({ server, uri }) => ({ server, uri })),
    });
    follow(accepted.run_id);
  } catch (error) {
    showAlert(error.message);
    if (attached.length) resourcePicker.restore(attached);
    setRunning(false);
  } finally {
    state.sending = false;
  }
}

async function loadModels() {
  const select = $("model");
  try {
    const models = await api.models();
    select.replaceChildren();
    for (const model of models.items) {
      const option = document.createElement("option");
      option.value = model.id;
      option.textContent = model.id;
      if (model.default) option.selected = true;
      select.append(option);
    }
    if (!models.items.length) {
      const option = document.createElement("option");
      option.value = ""; // sends no model name: the server answers why there is none
      option.textContent = "No model";
      select.append(option);
    }
    if ((!models.configured || !models.items.length) && models.message) showAlert(models.message);
  } catch (error) {
    showAlert(error.message);
  }
}

const prompt = $("prompt");
// A message may be files alone, so the prompt may be empty (the submit handler checks).
prompt.required = false;
const attachments = createAttachments({
  api,
  list: $("attachments"),
  input: $("file-input"),
  button: $("attach"),
  dropZone: document.querySelector(".main"),
  overlay: $("drop-overlay"),
  prompt,
  alert: showAlert,
});
function grow() {
  prompt.style.height = "auto";
  prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`;
}
prompt.addEventListener("input", grow);
// Before the composer's Enter handler: Enter picks a prompt while the menu is open.
createSlashMenu({
  textarea: prompt,
  menu: $("slash-menu"),
  loadPrompts: api.prompts,
  getPrompt: api.getPrompt,
  onInsert: (text) => {
    prompt.value = text;
    grow();
    prompt.focus();
  },
  onError: showAlert,
});
const resourcePicker = createResourcePicker({
  button: $("attach-resource"),
  panel: $("resource-menu"),
  chips: $("resource-chips"),
  loadResources: api.resources,
  onError: showAlert,
});
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = prompt.value.trim();
  if (state.run) return;
  if (attachments.busy()) {
    showAlert("Wait for the files to finish uploading.");
    return;
  }
  const files = attachments.ready();
  if (!text && !files.length) return;
  attachments.clear();
  prompt.value = "";
  grow();
  send(text, files);
});
$("stop").addEventListener("click", async () => {
  if (!state.run) return;
  try {
    await api.cancel(state.run.runId);
  } catch (error) {
    showAlert(error.message);
  }
});
$("new-chat").addEventListener("click", () => open(null, { push: true }));
window.addEventListener("popstate", (event) => open(event.state?.id ?? null));

loadModels();
sidebar.load();
open(state.conversation);
document.body.dataset.ready = "true";
