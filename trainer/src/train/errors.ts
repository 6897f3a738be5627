/** The loss or the weights became NaN or infinite: exit 6, summary failure.kind "diverged"; nothing non-finite is committed. */
export class DivergedError extends Error {
  override readonly name = "DivergedError";
}
