// The application version reported by /api/health and written into every snapshot manifest.
export const APP_VERSION = "1.0.0";
