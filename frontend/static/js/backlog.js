// A long conversation opens at its end: the last turns are drawn at once, the older ones a
// batch at a time as the user scrolls up towards them, without moving what is on screen.

export const FIRST = 12; // turns drawn when a conversation opens (a few screens)
export const BATCH = 30; // turns drawn each time the user nears the top

// Which turns to draw now, and which are left for later (oldest first in both).
export function split(turns, count) {
  const cut = Math.max(0, turns.length - count);
  return { now: turns.slice(cut), later: turns.slice(0, cut) };
}

// Calls `drawOlder(turns)` with the next batch whenever `sentinel` comes within reach of
// the top of `scroller`, until nothing is left. `draw(turns)` must insert the rows before
// the ones already shown; the scroll position is kept so the view does not jump.
export function createBacklog({ scroller, sentinel, draw }) {
  let later = [];
  let observer = null;

  function more() {
    if (later.length === 0) return;
    const { now, later: rest } = split(later, BATCH);
    later = rest;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    draw(now);
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    sentinel.hidden = later.length === 0;
  }

  function stop() {
    observer?.disconnect();
    observer = null;
    later = [];
    sentinel.hidden = true;
  }

  return {
    // Start over with the turns not drawn yet.
    hold(turns) {
      stop();
      later = turns;
      sentinel.hidden = later.length === 0;
      if (!later.length || typeof IntersectionObserver === "undefined") return;
      observer = new IntersectionObserver(
        (entries) => {
          if (entries.some((entry) => entry.isIntersecting)) more();
        },
        { root: scroller, rootMargin: "1200px 0px 0px 0px" },
      );
      observer.observe(sentinel);
    },
    more,
    stop,
    remaining: () => later.length,
  };
}
