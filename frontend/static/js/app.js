// The chat screen: wires the sidebar, the thread, the composer and the live channel.

import { io } from "../vendor/socket.io.esm.min.js";
import * as marked from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.js";
import hljs from "../vendor/highlight.min.js";
import { api } from "./api.js";
import { createAttachments } from "./attachments.js";
import { applyEvent, createRun, decide, isFinished } from "./events.js";
import { beforeRunningAnswer, turnsFromMessages } from "./history.js";
import { connectLive } from "./live.js";
import { createMarkdown } from "./markdown.js";
import { createSidebar } from "./sidebar.js";
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
  onDecide: async (callId, approve) => {
    if (!state.run) return;
    decide(state.run, callId, approve);
    state.answer.update(state.run, { now: true });
    try {
      await api.decide(callId, approve);
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

function setRunning(running) {
  $("send").hidden = running;
  $("stop").hidden = !running;
}

function finishRun() {
  if (state.run) live.unfollow(state.run.runId);
  state.run = null;
  setRunning(false);
  sidebar.load();
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
  document.body.classList.remove("sidebar-open");
  thread.clear();
  $("title").textContent = "";
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
  $("title").textContent = detail.title;
  document.title = `${detail.title} · Assistant`;
  const running = detail.active_run;
  const messages = running ? beforeRunningAnswer(detail.messages) : detail.messages;
  for (const turn of turnsFromMessages(messages)) {
    if (turn.role === "user") thread.addUser(turn.text, turn.attachments);
    else thread.addAnswer().update(turn, { now: true });
  }
  showEmpty();
  if (running) follow(running.id);
  thread.toBottom();
}

async function send(text, files = []) {
  showAlert("");
  state.sending = true;
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
      $("title").textContent = created.title;
    }
    thread.addUser(text, files);
    showEmpty();
    thread.toBottom();
    const model = $("model").value || undefined;
    const accepted = await api.send(
      id,
      text,
      model,
      files.map((file) => file.id),
    );
    follow(accepted.run_id);
  } catch (error) {
    showAlert(error.message);
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
      option.textContent = "No model";
      select.append(option);
    }
    if (!models.configured && models.message) showAlert(models.message);
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
$("open-sidebar").addEventListener("click", () => document.body.classList.add("sidebar-open"));
$("close-sidebar").addEventListener("click", () => document.body.classList.remove("sidebar-open"));
$("scrim").addEventListener("click", () => document.body.classList.remove("sidebar-open"));
window.addEventListener("popstate", (event) => open(event.state?.id ?? null));

loadModels();
sidebar.load();
open(state.conversation);
document.body.dataset.ready = "true";
