/**
 * The logging the runtime needs: pino's call shape (bindings first, then the message), so
 * a pino logger fits as it is, and the package itself depends on no logger.
 */
export interface Logger {
  debug(bindings: object, message?: string): void;
  info(bindings: object, message?: string): void;
  warn(bindings: object, message?: string): void;
  error(bindings: object, message?: string): void;
}
