// Server-rendered questionnaire page and confirmation page (French first).
// Everything shown is derived from the questionnaire definition passed in; works without JavaScript.
import type { Child } from "hono/jsx";
import {
	HONEYPOT_FIELD,
	labelFor as rawLabelFor,
	type Label,
	type Question,
	type Questionnaire,
} from "../../questionnaire/definition";
import { Layout, renderDocument } from "./layout";
import { localeQuery } from "./locale";
import { textsFor, type Texts } from "./texts";

export type Locale = "fr" | "en";

export type FormPageOptions = {
	questionnaire: Questionnaire;
	/** Existing roles offered in the role picker, most used first. */
	roles: { key: string; label: string }[];
	/** What the respondent typed, to be kept on an error (question id -> value(s)). */
	values: Record<string, string | string[]>;
	/** Field errors (question id -> why), shown next to each field. */
	errors: Record<string, string>;
	/** A message not tied to one field (rate limit, Turnstile, …). */
	formError?: string;
	locale: Locale;
	turnstileSiteKey?: string;
	/** Where respondents write to have their answers deleted (CONTACT_EMAIL), when configured. */
	contactEmail?: string;
};

/** Browser autofill hints for the default questions (unknown ids simply get none). */
const AUTOCOMPLETE: Record<string, string> = { cafe: "organization", ville: "address-level2" };

/** Values of a checkbox that count as ticked when a rejected post is re-rendered. */
const TICKED = new Set(["true", "on", "1", "oui", "yes"]);

/**
 * Pure: French typography for display — the space before ? ! : ; » and after « becomes a narrow
 * no-break space, so "proposez-vous ?" never leaves its "?" alone on the next line of a phone.
 */
export function buildFrenchSpacing(text: string): string {
	return text.replace(/ ([?!:;»])/g, "\u202f$1").replace(/« /g, "«\u202f");
}

/** A definition text for display in `locale` (French falls back, spacing fixed for French). */
function labelFor(label: Label, locale: Locale): string {
	const text = rawLabelFor(label, locale);
	return locale === "fr" || label.en === undefined ? buildFrenchSpacing(text) : text;
}

/**
 * Pure: how the error summary names a question: its short label, else its label without the final
 * punctuation, so "… stagiaires ?" + " : " + the error never doubles the punctuation, and the
 * consent sentence is not repeated whole.
 */
export function buildSummaryLabel(q: Question, locale: Locale): string {
	if (q.shortLabel) return labelFor(q.shortLabel, locale);
	return labelFor(q.label, locale).replace(/[\s\u00a0\u202f]*[.?!:;…]+$/u, "");
}

/** The id of the control a question's error links to (the first option of a group). */
export function buildFieldTargetId(q: Question): string {
	return isGroup(q) ? optionId(q.id, 1) : `q-${q.id}`;
}

function isGroup(q: Question): boolean {
	return q.type === "single_choice" || q.type === "multiple_choice" || q.type === "scale";
}

function optionId(questionId: string, n: number): string {
	return `q-${questionId}-${n}`;
}

function firstValue(values: FormPageOptions["values"], id: string): string {
	const v = values[id];
	return (Array.isArray(v) ? v[0] : v) ?? "";
}

function allValues(values: FormPageOptions["values"], id: string): string[] {
	const v = values[id];
	return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** Space-separated ids for aria-describedby, or undefined when there are none. */
function describedBy(...ids: (string | false | undefined)[]): string | undefined {
	const kept = ids.filter((x): x is string => typeof x === "string");
	return kept.length ? kept.join(" ") : undefined;
}

type FieldCtx = {
	q: Question;
	locale: Locale;
	t: Texts;
	values: FormPageOptions["values"];
	error?: string;
	roles: FormPageOptions["roles"];
};

function RequiredMark({ required, t }: { required: boolean; t: Texts }) {
	if (!required) return null;
	return (
		<span class="req">
			<span aria-hidden="true"> *</span>
			<span class="visually-hidden"> ({t.required})</span>
		</span>
	);
}

function Hint({ id, text }: { id: string; text?: string }) {
	return text ? (
		<p class="hint" id={id}>
			{text}
		</p>
	) : null;
}

function FieldError({ id, error, t }: { id: string; error?: string; t: Texts }) {
	return error ? (
		<p class="field-error" id={id}>
			<span class="visually-hidden">{t.errorPrefix} </span>
			{error}
		</p>
	) : null;
}

function helpText(help: Label | undefined, locale: Locale): string | undefined {
	return help ? labelFor(help, locale) : undefined;
}

/** Text, long text, e-mail and role: one control with its own <label>. */
function SingleField({ q, locale, t, values, error, roles }: FieldCtx) {
	const id = `q-${q.id}`;
	const help = helpText(q.help, locale);
	const aria = {
		"aria-describedby": describedBy(help && `${id}-hint`, error && `${id}-error`),
		"aria-invalid": error ? "true" : undefined,
	};
	const value = firstValue(values, q.id);
	let control: Child;
	if (q.type === "long_text") {
		control = (
			<textarea id={id} name={q.id} rows={5} maxlength={q.maxLength} required={q.required} {...aria}>
				{value}
			</textarea>
		);
	} else if (q.type === "role") {
		const listId = `${id}-list`;
		control = (
			<>
				<input
					type="text"
					id={id}
					name={q.id}
					list={listId}
					value={value}
					maxlength={q.maxLength}
					required={q.required}
					autocomplete="off"
					autocapitalize="sentences"
					{...aria}
				/>
				<datalist id={listId}>
					{roles.map((r) => (
						<option value={r.label}></option>
					))}
				</datalist>
			</>
		);
	} else if (q.type === "email") {
		control = (
			<input
				type="email"
				id={id}
				name={q.id}
				value={value}
				maxlength={q.maxLength}
				required={q.required}
				autocomplete="email"
				inputmode="email"
				spellcheck={false}
				{...aria}
			/>
		);
	} else if (q.type === "short_text") {
		control = (
			<input
				type="text"
				id={id}
				name={q.id}
				value={value}
				maxlength={q.maxLength}
				required={q.required}
				autocomplete={AUTOCOMPLETE[q.id]}
				{...aria}
			/>
		);
	} else {
		return null;
	}
	return (
		<div class={error ? "field field--error" : "field"}>
			<label class="label" for={id}>
				{labelFor(q.label, locale)}
				<RequiredMark required={q.required} t={t} />
			</label>
			<Hint id={`${id}-hint`} text={help} />
			<FieldError id={`${id}-error`} error={error} t={t} />
			{control}
		</div>
	);
}

/** Single choice, multiple choice and the 1–5 scale: a fieldset with a legend. */
function GroupField({ q, locale, t, values, error }: FieldCtx) {
	const id = `q-${q.id}`;
	let help = helpText(q.help, locale);
	let options: { value: string; label: string }[];
	let kind: "radio" | "checkbox" = "radio";
	let scaleEnds: [string, string] | undefined;
	if (q.type === "scale") {
		options = [];
		for (let n = q.min; n <= q.max; n++) options.push({ value: String(n), label: String(n) });
		if (q.minLabel && q.maxLabel) {
			scaleEnds = [labelFor(q.minLabel, locale), labelFor(q.maxLabel, locale)];
			help = [help, t.scaleHint(...scaleEnds)].filter(Boolean).join(" ");
		}
	} else if (q.type === "single_choice" || q.type === "multiple_choice") {
		options = q.options.map((o) => ({ value: o.value, label: labelFor(o.label, locale) }));
		if (q.type === "multiple_choice") kind = "checkbox";
	} else {
		return null;
	}
	const selected = new Set(allValues(values, q.id));
	return (
		<fieldset
			class={`field group group--${q.type}${error ? " field--error" : ""}`}
			id={id}
			aria-describedby={describedBy(help && `${id}-hint`, error && `${id}-error`)}
		>
			<legend class="label">
				{labelFor(q.label, locale)}
				<RequiredMark required={q.required} t={t} />
			</legend>
			<p class={scaleEnds ? "hint visually-hidden" : "hint"} id={`${id}-hint`} hidden={!help}>
				{help}
			</p>
			<FieldError id={`${id}-error`} error={error} t={t} />
			<div class={q.type === "scale" ? "scale" : "options"}>
				{options.map((o, i) => {
					const oid = optionId(q.id, i + 1);
					return (
						<label class="option" for={oid}>
							<input
								type={kind}
								id={oid}
								name={q.id}
								value={o.value}
								checked={selected.has(o.value)}
								required={kind === "radio" && q.required}
								aria-invalid={error ? "true" : undefined}
							/>
							<span>{o.label}</span>
						</label>
					);
				})}
			</div>
			{scaleEnds ? (
				<div class="scale-ends" aria-hidden="true">
					<span>{scaleEnds[0]}</span>
					<span>{scaleEnds[1]}</span>
				</div>
			) : null}
		</fieldset>
	);
}

/** A consent box: the label is the statement being agreed to. */
function ConsentField({ q, locale, t, values, error }: FieldCtx) {
	const id = `q-${q.id}`;
	const help = helpText(q.help, locale);
	return (
		<div class={error ? "field field--consent field--error" : "field field--consent"}>
			<Hint id={`${id}-hint`} text={help} />
			<FieldError id={`${id}-error`} error={error} t={t} />
			<label class="option option--consent" for={id}>
				<input
					type="checkbox"
					id={id}
					name={q.id}
					value="true"
					checked={TICKED.has(firstValue(values, q.id).toLowerCase())}
					required={q.required}
					aria-describedby={describedBy(help && `${id}-hint`, error && `${id}-error`)}
					aria-invalid={error ? "true" : undefined}
				/>
				<span>
					{labelFor(q.label, locale)}
					<RequiredMark required={q.required} t={t} />
				</span>
			</label>
		</div>
	);
}

function Field(ctx: FieldCtx) {
	if (ctx.q.type === "consent") return <ConsentField {...ctx} />;
	if (isGroup(ctx.q)) return <GroupField {...ctx} />;
	return <SingleField {...ctx} />;
}

/** Errors at the top, in question order, each linking to its field. Focused when the page loads. */
function ErrorSummary({ options, t }: { options: FormPageOptions; t: Texts }) {
	const { questionnaire, errors, formError, locale } = options;
	const known = questionnaire.questions.filter((q) => errors[q.id] !== undefined);
	const knownIds = new Set(known.map((q) => q.id));
	const other = Object.entries(errors).filter(([id]) => !knownIds.has(id));
	const count = known.length + other.length;
	if (count === 0 && !formError) return null;
	const sep = locale === "fr" ? "\u202f: " : ": ";
	return (
		<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex={-1} autofocus>
			<h2 id="error-summary-title">{count > 0 ? t.errorSummaryTitle(count) : t.formErrorTitle}</h2>
			{formError ? <p class="form-error">{formError}</p> : null}
			{count > 0 ? (
				<ul>
					{known.map((q) => (
						<li>
							<a href={`#${buildFieldTargetId(q)}`}>
								{buildSummaryLabel(q, locale)}
								{sep}
								{errors[q.id]}
							</a>
						</li>
					))}
					{other.map(([id, why]) => (
						<li>
							{id}
							{sep}
							{why}
						</li>
					))}
				</ul>
			) : null}
		</div>
	);
}

/** What the answers are for, and how to have them deleted: by writing to CONTACT_EMAIL, or to one's contact. */
export function Privacy({ t, locale, contactEmail }: { t: Texts; locale: Locale; contactEmail?: string }) {
	return (
		<p class="privacy">
			{t.privacy}{" "}
			{contactEmail ? (
				<>
					{t.erasureHowTo.before}
					<a href={`mailto:${contactEmail}`}>{contactEmail}</a>
					{t.erasureHowTo.after}
				</>
			) : (
				t.erasureHowToNoAddress
			)}{" "}
			<a href={`/confidentialite${localeQuery(locale)}`}>{t.privacyLink}</a>
		</p>
	);
}

/** The complete HTML document of the questionnaire page. */
export function renderFormPage(options: FormPageOptions): string {
	const { questionnaire, locale, turnstileSiteKey } = options;
	const t = textsFor(locale);
	const title = labelFor(questionnaire.title, locale);
	const hasErrors = Object.keys(options.errors).length > 0 || Boolean(options.formError);
	const head = turnstileSiteKey ? (
		<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>
	) : null;
	return renderDocument(
		<Layout locale={locale} title={hasErrors ? `${t.errorPrefix} ${title}` : title} path="/" head={head}>
			<h1>{title}</h1>
			<p class="intro">{labelFor(questionnaire.intro, locale)}</p>
			<ErrorSummary options={options} t={t} />
			<form
				class="questionnaire"
				method="post"
				action={`/${localeQuery(locale)}`}
				accept-charset="utf-8"
				novalidate
				data-version={questionnaire.version}
			>
				{questionnaire.questions.map((q) => (
					<Field
						q={q}
						locale={locale}
						t={t}
						values={options.values}
						error={options.errors[q.id]}
						roles={options.roles}
					/>
				))}
				<div class="hp" aria-hidden="true">
					<label for={HONEYPOT_FIELD}>{t.honeypotLabel}</label>
					<input type="text" id={HONEYPOT_FIELD} name={HONEYPOT_FIELD} tabindex={-1} autocomplete="off" value="" />
				</div>
				{turnstileSiteKey ? (
					<div class="cf-turnstile" data-sitekey={turnstileSiteKey} data-language={locale}></div>
				) : null}
				<button type="submit" class="submit" data-sending={t.sending}>
					{t.submit}
				</button>
			</form>
			<Privacy t={t} locale={locale} contactEmail={options.contactEmail} />
		</Layout>,
	);
}

/** The complete HTML document shown after a successful submission. */
export function renderConfirmationPage(options: { locale: Locale }): string {
	const t = textsFor(options.locale);
	return renderDocument(
		<Layout locale={options.locale} title={t.confirmationTitle} path="/merci">
			<div class="confirmation" role="status">
				<h1>{t.confirmationTitle}</h1>
				<p>{t.confirmationBody}</p>
				<p>
					<a href={`/${localeQuery(options.locale)}`}>{t.confirmationBack}</a>
				</p>
			</div>
		</Layout>,
	);
}
