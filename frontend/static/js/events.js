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
    case "tool.progress": {
      const block = toolBlock(run, data.id);
      block.progress = { progress: data.progress, total: data.total, message: data.message };
      break;
    }
    case "tool.result": {
      const block = toolBlock(run, data.id);
      block.result = data.content;
      block.isError = Boolean(data.is_error);
      block.state = block.isError ? "error" : "done";
      if (block.approval === "asked") block.approval = "answered";
      if (run.status === "waiting" && !run.blocks.some((b) => b.approval === "asked")) {
        run.status = "running";
      }
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
      break;
    case "error":
      run.status = "failed";
      run.error = { type: data.type, message: data.message };
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
export function decide(run, callId, approved) {
  const block = run.blocks.find((b) => b.type === "tool" && b.id === callId);
  if (!block) return;
  block.approval = approved ? "approved" : "denied";
  block.state = approved ? "running" : "denied";
  if (!run.blocks.some((b) => b.approval === "asked") && run.status === "waiting") {
    run.status = "running";
  }
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
