// The live state of one run, built from its numbered events (a pure reducer).
//
// Events arrive from two paths (the backlog a subscription replays, and the room's live
// feed), possibly twice or out of order. Each has the orchestrator's sequence number:
// an event is applied only when it is the next one; later ones wait in `pending` until
// the gap fills; ones already applied are dropped. So text is never lost or doubled.

const TERMINAL = new Set(["run.completed", "error"]);

export function createRun(runId, lastId = 0) {
  return {
    runId,
    lastId,
    pending: new Map(),
    blocks: [],
    status: "running",
    error: null,
    usage: null,
    model: null,
    compacted: null,
  };
}

export function isFinished(run) {
  return run.status !== "running" && run.status !== "waiting";
}

function toolBlock(run, id) {
  let block = run.blocks.find((b) => b.type === "tool" && b.id === id);
  if (!block) {
    block = {
      type: "tool",
      id,
      server: "",
      tool: "",
      arguments: null,
      state: "running",
      approval: null,
      progress: null,
      result: null,
      isError: false,
      fault: null,
      always: false,
      question: null,
    };
    run.blocks.push(block);
  }
  return block;
}

function addUsage(run, usage) {
  if (!usage) return;
  const total = run.usage || { input_tokens: 0, output_tokens: 0 };
  run.usage = {
    input_tokens: total.input_tokens + (usage.input_tokens || 0),
    output_tokens: total.output_tokens + (usage.output_tokens || 0),
  };
}

function waitingOnUser(run) {
  return run.blocks.some((b) => b.approval === "asked" || b.question?.state === "asked");
}

// Back to running once nothing waits on the user.
function settle(run) {
  if (run.status === "waiting" && !waitingOnUser(run)) run.status = "running";
}

// A run that ended asks nothing more: its open approvals and questions expire.
function closeQuestions(run) {
  for (const block of run.blocks) {
    if (block.type !== "tool") continue;
    if (block.approval === "asked") {
      block.approval = "expired";
      block.state = "denied";
    }
    if (block.question?.state === "asked") block.question.state = "expired";
    if (block.state === "running") block.state = "stopped";
  }
}

function applyOne(run, name, data) {
  switch (name) {
    case "run.started":
      run.model = data.model || null;
      break;
    case "message.delta": {
      const last = run.blocks[run.blocks.length - 1];
      if (last && last.type === "text") last.text += data.text;
      else run.blocks.push({ type: "text", text: data.text });
      break;
    }
    case "tool.call": {
      const block = toolBlock(run, data.id);
      block.server = data.server;
      block.tool = data.tool;
      block.arguments = data.arguments;
      break;
    }
    case "tool.approval_required": {
      const block = toolBlock(run, data.id);
      block.server = data.server;
      block.tool = data.tool;
      block.arguments = data.arguments;
      block.state = "approval";
      block.approval = "asked";
      run.status = "waiting";
      break;
    }
    case "tool.decided": {
      const block = toolBlock(run, data.id);
      block.approval = data.approved ? "approved" : "denied";
      block.state = data.approved ? "running" : "denied";
      block.always = Boolean(data.always);
      settle(run);
      break;
    }
    case "input.required": {
      const block = toolBlock(run, data.call_id || `input:${data.id}`);
      if (!data.call_id) block.tool = "Question";
      block.question = {
        id: data.id,
        mode: data.mode || "form",
        message: data.message || "",
        schema: data.schema || null,
        url: data.url || null,
        state: "asked",
      };
      run.status = "waiting";
      break;
    }
    case "input.answered": {
      const block = run.blocks.find((b) => b.type === "tool" && b.question?.id === data.id);
      if (block) block.question = { ...block.question, state: "answered", action: data.action };
      settle(run);
      break;
    }
    case "tool.progress": {
      const block = toolBlock(run, data.id);
      block.progress = { progress: data.progress, total: data.total, message: data.message };
      break;
    }
    case "tool.result": {
      const block = toolBlock(run, data.id);
      block.result = data.content;
      block.isError = Boolean(data.is_error);
      block.fault = data.fault || null;
      block.state = block.isError ? "error" : "done";
      if (block.approval === "asked") block.approval = "answered";
      if (block.question?.state === "asked") block.question.state = "answered";
      settle(run);
      break;
    }
    case "context.compacted":
      run.compacted = { summaryId: data.summary_id, messages: data.messages };
      break;
    case "message.completed":
      addUsage(run, data.usage);
      break;
    case "run.completed":
      run.status = data.status || "completed";
      closeQuestions(run);
      break;
    case "error":
      run.status = "failed";
      run.error = { type: data.type, message: data.message };
      closeQuestions(run);
      break;
    default:
      break;
  }
}

// Apply an event `{id, event, data}`; returns true when the view should be redrawn.
export function applyEvent(run, event) {
  if (event.id <= run.lastId || run.pending.has(event.id)) return false;
  run.pending.set(event.id, event);
  let changed = false;
  while (run.pending.has(run.lastId + 1)) {
    const next = run.pending.get(run.lastId + 1);
    run.pending.delete(next.id);
    run.lastId = next.id;
    if (!isFinished(run)) applyOne(run, next.event, next.data || {});
    changed = true;
  }
  return changed;
}

// A local decision on an approval card, before the orchestrator's events confirm it.
// `decision`: true or "approve", false or "deny", or "always".
export function decide(run, callId, decision) {
  const block = run.blocks.find((b) => b.type === "tool" && b.id === callId);
  if (!block) return;
  const approved = decision === true || decision === "approve" || decision === "always";
  block.approval = approved ? "approved" : "denied";
  block.state = approved ? "running" : "denied";
  block.always = decision === "always";
  settle(run);
}

// A local answer to a question, before the orchestrator's events confirm it.
export function answer(run, questionId, action) {
  const block = run.blocks.find((b) => b.type === "tool" && b.question?.id === questionId);
  if (!block) return;
  block.question = { ...block.question, state: "answered", action };
  settle(run);
}

// The questions still open in a run (for an inbox or a badge).
export function openQuestions(run) {
  return run.blocks.filter((b) => b.question?.state === "asked").map((b) => b.question);
}

export function endsRun(name) {
  return TERMINAL.has(name);
}

// The whole answer's text (what a copy button copies).
export function textOf(run) {
  return run.blocks
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join("");
}
