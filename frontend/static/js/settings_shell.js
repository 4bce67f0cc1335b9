// The settings screens' frame: the menu opens and closes on a phone.

const body = document.body;
const open = document.getElementById("open-sidebar");
const close = document.getElementById("close-sidebar");

function setOpen(value) {
  body.classList.toggle("sidebar-open", value);
  if (value) document.querySelector(".settings-link")?.focus();
  else open.focus();
}

open.addEventListener("click", () => setOpen(true));
close.addEventListener("click", () => setOpen(false));
document.getElementById("scrim").addEventListener("click", () => setOpen(false));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && body.classList.contains("sidebar-open")) setOpen(false);
});
body.dataset.ready = "true";
