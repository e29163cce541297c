// The app version: sent with every push and shown in the status strip. sw.js repeats it (its
// cache name); bump both whenever a precached file changes.
export const APP_VERSION = '1.3.6';
