/* An autocomplete list filter: picking an object reloads the changelist filtered by it.
   Runs once the page is parsed, when django.jQuery and select2 exist whatever the script order. */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const $ = django.jQuery;
  $("select[data-filter-param]").each(function () {
    const select = $(this);
    select.on("select2:select select2:clear", function () {
      const url = new URL(window.location.href);
      const value = select.val();
      if (value) url.searchParams.set(select.data("filter-param"), value);
      else url.searchParams.delete(select.data("filter-param"));
      url.searchParams.delete("p");
      window.location.href = url.toString();
    });
  });
});
