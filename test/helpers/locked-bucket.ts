// Test double: the real local R2 bucket, except that deletions under given prefixes are refused
// the way an R2 bucket lock rule refuses them. Miniflare does not simulate bucket locks, so this
// is the only way to exercise that path; every other call goes to the real bucket unchanged.

/** Error text shaped like the Workers R2 API's ("<op>: <message> (<code>)"). */
export const LOCK_MESSAGE = "delete: Access Denied: the object is protected by a bucket lock rule. (10003)";

export function lockedBucket(real: R2Bucket, lockedPrefixes: string[], error = LOCK_MESSAGE): R2Bucket {
	const isLocked = (key: string) => lockedPrefixes.some((p) => key.startsWith(p));
	return new Proxy(real, {
		get(target, prop) {
			if (prop === "delete") {
				return async (keys: string | string[]) => {
					const list = Array.isArray(keys) ? keys : [keys];
					if (list.some(isLocked)) throw new Error(error);
					return target.delete(keys);
				};
			}
			const value = Reflect.get(target, prop) as unknown;
			return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
		},
	});
}

/** Like lockedBucket, but only multi-key deletions (the chunks) fail: simulates an interruption. */
export function failingBulkDeleteBucket(real: R2Bucket): R2Bucket {
	return new Proxy(real, {
		get(target, prop) {
			if (prop === "delete") {
				return async (keys: string | string[]) => {
					if (Array.isArray(keys)) throw new Error("delete: We encountered an internal error. Please try again. (10001)");
					return target.delete(keys);
				};
			}
			const value = Reflect.get(target, prop) as unknown;
			return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
		},
	});
}
