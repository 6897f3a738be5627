// Image references as the container runtimes read them (the distribution/reference grammar):
// [host[:port]/]path[:tag][@digest]. Used wherever the operator compares images, so that an
// allow-list entry and the image it is checked against are read by one rule.

/** A host name component; upper case is allowed, as in DNS (compared lower-cased). */
const HOST_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*(?::[0-9]+)?`;
/** Path components are lower case, separators never doubled except "__": no "..", no "//". */
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^(?:(${HOST})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const BARE_HOST = new RegExp(`^${HOST}$`);

/** Docker Hub, the registry of a reference without a host. */
const DEFAULT_HOST = "docker.io";

export interface ImageReference {
  /** host/path with Docker Hub's implicit parts spelled out: `python` is `docker.io/library/python`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/**
 * The reference, canonical, or undefined when it is not one (the kubelet could not pull it).
 * The first component is a host only as Docker reads it (isHost).
 */
export function parseImage(image: string): ImageReference | undefined {
  return parse(image, false);
}

/** asPrefix: an explicit `docker.io/x` without tag or digest is the namespace x, not the image library/x. */
function parse(image: string, asPrefix: boolean): ImageReference | undefined {
  const m = REFERENCE.exec(image);
  if (!m) return undefined;
  let host = m[1];
  let path = m[2] ?? "";
  if (host !== undefined && !isHost(host)) {
    // `foo/bar`: "foo" is a path component.
    path = `${host}/${path}`;
    host = undefined;
  }
  const implicit = host === undefined;
  host = host === undefined || host.toLowerCase() === "index.docker.io" ? DEFAULT_HOST : host.toLowerCase();
  if (host === DEFAULT_HOST && !path.includes("/") && (implicit || !asPrefix || m[3] !== undefined || m[4] !== undefined)) path = `library/${path}`;
  return { repository: `${host}/${path}`, ...(m[3] === undefined ? {} : { tag: m[3] }), ...(m[4] === undefined ? {} : { digest: m[4] }) };
}

/** Docker's rule (splitDockerDomain): a ".", a ":", upper case, or localhost. */
function isHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost" || component !== component.toLowerCase();
}

/**
 * One allowedImages entry: a registry (`registry.example.com`), a repository prefix
 * (`registry.example.com/ml`, a trailing "/" ignored; `docker.io/myorg` is Docker Hub's
 * namespace myorg, `python` the image docker.io/library/python) or one image pinned by tag or digest.
 * Undefined when the entry is none of these.
 */
export function parseAllowedImage(entry: string): ImageReference | undefined {
  const trimmed = entry.replace(/\/+$/, "");
  if (!trimmed.includes("/") && BARE_HOST.test(trimmed) && isHost(trimmed)) return { repository: trimmed.toLowerCase() };
  return parse(trimmed, true);
}

/**
 * True when the entry admits the image: its repository equals the entry's or continues it at
 * a "/" (so `registry.example.com/ml` admits `registry.example.com/ml/x`, never
 * `registry.example.com/ml-evil/x`); an entry's tag or digest admits only that repository
 * with that same tag or digest.
 */
export function imageAllowedBy(image: ImageReference, entry: ImageReference): boolean {
  const exact = image.repository === entry.repository;
  if (!exact && !image.repository.startsWith(`${entry.repository}/`)) return false;
  if (entry.tag !== undefined && !(exact && image.tag === entry.tag)) return false;
  if (entry.digest !== undefined && !(exact && image.digest === entry.digest)) return false;
  return true;
}

/** True when one of the entries admits the image; no entries: any image. */
export function imageAllowed(image: string, entries: readonly string[]): boolean {
  if (entries.length === 0) return true;
  const ref = parseImage(image);
  if (ref === undefined) return false;
  return entries.some((entry) => {
    const allowed = parseAllowedImage(entry);
    return allowed !== undefined && imageAllowedBy(ref, allowed);
  });
}
