// The one place the version is written (package.json's, checked by a test).
export const VERSION = '0.1.0';
