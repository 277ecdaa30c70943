// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Drag and drop a PDF onto the verification page.
  document.querySelectorAll("[data-dropzone]").forEach((zone) => {
    const input = zone.querySelector("input[type=file]");
    const form = zone.closest("form");
    ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
      event.preventDefault(); zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) { input.files = event.dataTransfer.files; form.requestSubmit(); }
    });
    input.addEventListener("change", () => { if (input.files.length) form.requestSubmit(); });
  });
  // Ask once more before voiding.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Right after issuing, the signed PDF downloads by itself (the link stays for a second copy).
  const fresh = document.querySelector("a[data-autodownload]");
  if (fresh && !sessionStorage.getItem(fresh.href)) { sessionStorage.setItem(fresh.href, "1"); fresh.click(); }
  // A running batch's progress bar follows the API; the page reloads once the batch is finished (for its failures).
  const batch = document.querySelector("[data-batch-progress]");
  if (batch) {
    const bar = batch.querySelector("progress");
    const summary = batch.querySelector("[data-field=summary]");
    const poll = async () => {
      try {
        const response = await fetch(batch.dataset.batchProgress, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) {
          const p = await response.json();
          bar.value = p.done + p.failed;
          const eta = p.eta_seconds ? `；预计还需 ${(p.eta_seconds / 60).toFixed(1)} 分钟` : "";
          summary.textContent = `已签发 ${p.done} 份，出错 ${p.failed} 行，待处理 ${p.pending} 行，共 ${p.total} 行${eta}。`;
          if (p.status === "finished") { window.location.reload(); return; }
        }
      } catch (error) { /* the next poll tries again */ }
      window.setTimeout(poll, 2000);
    };
    if (bar.value < bar.max) window.setTimeout(poll, 2000);
  }
  // Bring the first field with an error into view.
  const firstError = document.querySelector(".has-error input, .has-error select, .has-error textarea");
  if (firstError) firstError.focus();
});
