// The Socket.IO channel: follows runs, and after any reconnection asks to resume each one
// from the last event it has (so nothing is lost or doubled).

export function connectLive(io, csrfToken, onEvent, onRunStarted) {
  const socket = io({ auth: { csrf: csrfToken }, transports: ["websocket", "polling"] });
  const followed = new Map(); // run id -> function returning the last event id rendered

  function subscribe(runId) {
    const after = followed.get(runId)?.() ?? 0;
    socket.emit("subscribe", { run_id: runId, after }, (answer) => {
      if (answer?.error) onEvent({ run_id: runId, failure: answer.error });
    });
  }

  socket.on("connect", () => {
    for (const runId of followed.keys()) subscribe(runId);
  });
  socket.on("run.event", (event) => onEvent(event));
  // A run started by another tab (or this one) of the same user.
  socket.on("conversation.run", (started) => onRunStarted(started));

  return {
    socket,
    follow(runId, lastId) {
      followed.set(runId, lastId);
      if (socket.connected) subscribe(runId);
    },
    unfollow(runId) {
      if (!followed.delete(runId)) return;
      if (socket.connected) socket.emit("unsubscribe", { run_id: runId, after: 0 });
    },
  };
}
