// Progressive enhancement only: move focus to the error summary for browsers that ignore autofocus on a
// non-form element. The form works the same without this script.
(function () {
  var summary = document.getElementById("foutoverzicht");
  if (summary && document.activeElement !== summary) {
    summary.focus();
  }
})();
