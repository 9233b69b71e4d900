/**
 * The root of every error with a stable code, as in the Python verifier's errors.py: a
 * caller tells failures apart by `code`, and an HTTP front end answers with `status`.
 */
export class CodedError extends Error {
  static code = "error";
  static status = 500;
  static title = "Unexpected error";

  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }

  /** @returns {string} */
  get code() {
    return /** @type {typeof CodedError} */ (this.constructor).code;
  }
}
