// The page a respondent sees when the server cannot show the questionnaire (HTTP 500).
// Says what to do next; never shows the cause (that goes to the logs, without personal data).
import type { Locale } from "./form";
import { Layout, renderDocument } from "./layout";
import { localeQuery } from "./locale";
import { textsFor } from "./texts";

export function renderErrorPage(options: { locale: Locale }): string {
	const t = textsFor(options.locale);
	return renderDocument(
		<Layout locale={options.locale} title={t.unavailableTitle} path="/">
			<h1>{t.unavailableTitle}</h1>
			<p>{t.unavailableBody}</p>
			<p>
				<a href={`/${localeQuery(options.locale)}`}>{t.retry}</a>
			</p>
		</Layout>,
	);
}
