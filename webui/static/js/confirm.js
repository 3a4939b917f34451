/* A form marked data-confirm asks before it is sent: disabling an account or cancelling an
   application cannot be taken back by the button next to it. Without JavaScript the form is sent
   as before; the server checks everything again either way. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
