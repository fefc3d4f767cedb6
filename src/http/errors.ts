// The one error envelope every API response uses: { error: { code, message, fields? } }.
// Handlers throw ApiError; app.onError maps it (and anything unexpected) in one place.
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ErrorBody = {
	error: { code: string; message: string; fields?: Record<string, string> };
};

export class ApiError extends Error {
	constructor(
		public readonly status: ContentfulStatusCode,
		public readonly code: string,
		message: string,
		public readonly fields?: Record<string, string>,
		public readonly headers?: Record<string, string>,
	) {
		super(message);
		this.name = "ApiError";
	}

	toBody(): ErrorBody {
		return {
			error: {
				code: this.code,
				message: this.message,
				...(this.fields ? { fields: this.fields } : {}),
			},
		};
	}
}
