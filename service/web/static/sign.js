// A handwriting pad (pointer events: finger, pen or mouse) and the drawing's submission: the signing screen,
// and a staff member's own saved signature.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("sign-form");
  if (!form) return;
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const error = document.getElementById("sign-error");
  let drawing = false, last = null, strokes = 0;
  const point = (event) => {
    const box = pad.getBoundingClientRect();
    return { x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height };
  };
  ctx.lineWidth = 5; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault(); pad.setPointerCapture(event.pointerId); drawing = true; last = point(event);
    ctx.beginPath(); ctx.arc(last.x, last.y, 2.5, 0, Math.PI * 2); ctx.fillStyle = "#111"; ctx.fill(); strokes += 1;
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const next = point(event);
    ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(next.x, next.y); ctx.stroke(); last = next;
  });
  ["pointerup", "pointercancel", "pointerleave"].forEach((name) => pad.addEventListener(name, () => { drawing = false; }));
  document.getElementById("clear-pad").addEventListener("click", () => { ctx.clearRect(0, 0, pad.width, pad.height); strokes = 0; });
  const show = (message) => { error.textContent = message; error.hidden = false; error.focus?.(); };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const agree = document.getElementById("agree");
    if (agree && !agree.checked) return show("请先勾选“本人已阅读并知晓” / confirm that you have read the document");
    if (!strokes) return show("请在签名框内手写签名 / write your signature in the box");
    const body = { signature: pad.toDataURL("image/png") };
    if (agree) body.agree = true;
    ["code", "id_suffix"].forEach((name) => { const input = form.elements[name]; if (input) body[name] = input.value; });
    const submit = document.getElementById("sign-submit");
    submit.disabled = true;
    try {
      const response = await fetch(form.dataset.signUrl, {
        method: form.dataset.method || "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf }, body: JSON.stringify(body),
      });
      if (response.ok) { window.location.reload(); return; }
      const answer = await response.json().catch(() => ({}));
      const detail = answer.errors ? Object.values(answer.errors).flat().join("；") : "";
      show(detail || answer.message || "签署失败，请重试 / signing failed; try again");
    } catch (failure) {
      show("网络错误，请重试 / network error; try again");
    } finally {
      submit.disabled = false;
    }
  });
});
