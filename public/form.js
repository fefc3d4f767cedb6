// Progressive enhancement for the questionnaire page; the page works fully without it.
// 1. After a rejected post, move focus to the first field in error (without JS the summary has autofocus).
// 2. Disable the button while sending, so a double tap does not send the answers twice.
(function () {
	"use strict";
	function init() {
		var invalid = document.querySelector('form [aria-invalid="true"]');
		if (invalid) invalid.focus();
		var form = document.querySelector("form.questionnaire");
		if (!form) return;
		var button = form.querySelector("button[type=submit]");
		var label = button ? button.textContent : "";
		form.addEventListener("submit", function () {
			if (!button) return;
			button.disabled = true;
			button.textContent = button.getAttribute("data-sending") || label;
		});
		// Coming back with the Back button restores the page from cache: make the button usable again.
		window.addEventListener("pageshow", function () {
			if (!button) return;
			button.disabled = false;
			button.textContent = label;
		});
	}
	if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
	else init();
})();
