// Stored messages as the chat shows them: each question, then one answer made of the
// assistant's steps (text, and tool calls with their results) until the next question.

function textOf(content) {
  if (typeof content === "string") return content;
  return (content || [])
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
}

// MCP resources attached to a question, as chips.
function resourcesOf(content) {
  if (!Array.isArray(content)) return [];
  return content
    .filter((part) => part.type === "resource")
    .map((part) => ({
      kind: "resource",
      name: part.uri.split("/").pop() || part.uri,
      title: part.uri,
    }));
}

function splitName(name) {
  const at = name.indexOf("__");
  return at > 0 ? [name.slice(0, at), name.slice(at + 2)] : ["", name];
}

export function turnsFromMessages(messages) {
  const turns = [];
  let answer = null;
  const calls = new Map();
  for (const message of messages) {
    if (message.role === "user") {
      answer = null;
      turns.push({
        role: "user",
        id: message.id,
        text: textOf(message.content),
        files: message.attachments || [],
        resources: resourcesOf(message.content),
      });
      continue;
    }
    if (message.role === "system") continue;
    if (!answer) {
      answer = { role: "assistant", id: message.id, blocks: [], usage: null, model: null };
      answer.status = "completed";
      turns.push(answer);
    }
    if (message.role === "assistant") {
      const text = textOf(message.content);
      if (text) answer.blocks.push({ type: "text", text });
      for (const call of message.tool_calls || []) {
        const [server, tool] = splitName(call.name);
        const block = {
          type: "tool",
          id: call.id,
          server,
          tool,
          arguments: call.arguments,
          state: "done",
          approval: null,
          progress: null,
          result: null,
          isError: false,
          fault: null,
        };
        calls.set(call.id, block);
        answer.blocks.push(block);
      }
      if (message.usage) {
        const total = answer.usage || { input_tokens: 0, output_tokens: 0 };
        answer.usage = {
          input_tokens: total.input_tokens + (message.usage.input_tokens || 0),
          output_tokens: total.output_tokens + (message.usage.output_tokens || 0),
        };
      }
      answer.model = message.model || answer.model;
      if (message.status === "partial") answer.status = "incomplete";
    } else if (message.role === "tool") {
      const block = calls.get(message.tool_call_id);
      if (block) {
        block.result = message.content;
        block.isError = Boolean(message.is_error);
        block.fault = message.fault || null; // the server failed: not the tool's own error
        block.state = block.isError ? "error" : "done";
      }
    }
  }
  return turns;
}

// The messages before the answer a still-running run is writing: up to its question.
export function beforeRunningAnswer(messages) {
  let last = -1;
  messages.forEach((message, index) => {
    if (message.role === "user") last = index;
  });
  return last < 0 ? messages : messages.slice(0, last + 1);
}
