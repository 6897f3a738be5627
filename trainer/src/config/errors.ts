// ConfigError lives in ../config-error.ts, below config/, so the checkpoint store can refuse a
// location with it without importing config/. env.ts still imports it from here.
export { ConfigError } from "../config-error.js";
