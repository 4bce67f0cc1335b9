// The sidebar on a phone-sized screen: a panel over the chat, opened by its button, closed
// by its close button, the scrim or Escape. The focus moves into the panel when it opens and
// back to the button when it closes; a closed panel takes no focus (see app.css).

export function createDrawer({ body, opener, closer, scrim, className = "sidebar-open" }) {
  const isOpen = () => body.classList.contains(className);

  function open() {
    body.classList.add(className);
    closer.focus();
  }

  // `restore: false` when the user picked something inside: the focus goes with the choice.
  function close({ restore = true } = {}) {
    if (!isOpen()) return;
    body.classList.remove(className);
    if (restore) opener.focus();
  }

  opener.addEventListener("click", open);
  closer.addEventListener("click", () => close());
  scrim.addEventListener("click", () => close());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      close();
    }
  });
  return { open, close, isOpen };
}
