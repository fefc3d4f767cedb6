// The HTML document shell shared by the public pages: head, language switch, footer.
// Rendered synchronously to a string (no async components anywhere in the pages).
import type { Child } from "hono/jsx";
import type { Locale } from "./form";
import { textsFor } from "./texts";

export type LayoutProps = {
	locale: Locale;
	title: string;
	/** Path the language switch points to, without query (e.g. "/" or "/merci"). */
	path: string;
	/** Extra elements for <head> (the Turnstile script). */
	head?: Child;
	children?: Child;
};

export function Layout({ locale, title, path, head, children }: LayoutProps) {
	const t = textsFor(locale);
	const other = t.switchLanguageLang;
	return (
		<html lang={locale}>
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<meta name="robots" content="noindex" />
				<title>{title}</title>
				<link rel="stylesheet" href="/styles.css" />
				<script src="/form.js" defer></script>
				{head}
			</head>
			<body>
				<header class="site-header">
					<p class="brand">CAP Formations</p>
					<a class="lang-switch" href={`${path}?lang=${other}`} hreflang={other} lang={other}>
						{t.switchLanguage}
					</a>
				</header>
				<main id="contenu">{children}</main>
				<footer class="site-footer">
					<p>{t.footer}</p>
				</footer>
			</body>
		</html>
	);
}

/** Serialise a page to a complete HTML document string. */
export function renderDocument(node: { toString(): string | Promise<string> }): string {
	const html = node.toString();
	// The pages use no async components, so hono/jsx renders synchronously.
	if (typeof html !== "string") throw new Error("page rendering unexpectedly became async");
	return `<!doctype html>${html}`;
}
