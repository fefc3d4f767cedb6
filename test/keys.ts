// Keys of the test deployment, shared by vitest.config.ts (bindings) and the tests. Test-only:
// made for this suite with age-keygen, protecting nothing.

/** Manifest signing key (BACKUP_SIGNING_KEY). */
export const TEST_SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789";
/** age key pair (X25519): the Worker gets the recipient; tests decrypt with the identity. */
export const TEST_AGE_IDENTITY = "AGE-SECRET-KEY-1YHHZ8J03M07RTGTUSM4PWPYNRJDV35HEPV8EZQK9QD4HWSMDK2YQ0M6ZPZ";
export const TEST_AGE_RECIPIENT = "age1r6snxhwvxzadwrcnt0maq4hasjnvsp5xxccrrv7j8gzm42lhpgtq239qvp";
