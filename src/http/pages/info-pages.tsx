// Two small public pages: "page not found" (a mistyped address, asked for by a browser) and "your
// data and how to delete it", linked from the form. Same layout and catalogue as the form.
import type { Locale } from "./form";
import { Layout, renderDocument } from "./layout";
import { localeQuery } from "./locale";
import { textsFor } from "./texts";

/** The 404 page of a browser request: says so in the page's language and leads to the form. */
export function renderNotFoundPage(options: { locale: Locale }): string {
	const t = textsFor(options.locale);
	return renderDocument(
		<Layout locale={options.locale} title={t.notFoundTitle} path="/">
			<h1>{t.notFoundTitle}</h1>
			<p>{t.notFoundBody}</p>
			<p>
				<a href={`/${localeQuery(options.locale)}`}>{t.notFoundBack}</a>
			</p>
		</Layout>,
	);
}

export type PrivacyPageOptions = {
	locale: Locale;
	/** CONTACT_EMAIL, when configured. */
	contactEmail?: string;
	/** How long the oldest backups are kept, in months (KEEP_MONTHLY). */
	backupMonths: number;
};

/** What is kept, for how long, and how to have it deleted. */
export function renderPrivacyPage(options: PrivacyPageOptions): string {
	const t = textsFor(options.locale);
	return renderDocument(
		<Layout locale={options.locale} title={t.privacyTitle} path="/confidentialite">
			<h1>{t.privacyTitle}</h1>
			<p>{t.privacyUse}</p>
			<p>{t.privacyKept}</p>
			<p>{t.privacyBackups(options.backupMonths)}</p>
			<p class="erasure-how">
				{options.contactEmail ? (
					<>
						{t.erasureHowTo.before}
						<a href={`mailto:${options.contactEmail}`}>{options.contactEmail}</a>
						{t.erasureHowTo.after}
					</>
				) : (
					t.erasureHowToNoAddress
				)}
			</p>
			<p>{t.privacyErasure}</p>
			<p>
				<a href={`/${localeQuery(options.locale)}`}>{t.confirmationBack}</a>
			</p>
		</Layout>,
	);
}
