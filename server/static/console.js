// What the console pages once wrote in onclick/onsubmit/onchange attributes, which the
// Content-Security-Policy forbids: a print button, a form that asks before it posts, and a
// filter that applies itself when changed.
document.addEventListener('click', (event) => {
  if (event.target.closest('[data-print]')) window.print();
});

document.addEventListener('submit', (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener('change', (event) => {
  if (event.target.matches('[data-submit-on-change]')) event.target.form.submit();
});
