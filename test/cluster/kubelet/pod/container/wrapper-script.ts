// The shell that turns a host process into a container: inside its own
// mount namespace it bind-mounts the pod's volumes at their mount paths,
// enters the working dir, checks the executable, reports on fd 3 whether the
// container started ("S") or could not ("E<message>"), then execs the
// command, so the container's pid is the shell's pid.

export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
  /** A single file (the termination log) rather than a directory. */
  isFile: boolean;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function mountLines(m: BindMount): string[] {
  const src = quote(m.source);
  const dst = quote(m.target);
  const failed = quote(`error mounting "${m.source}" to rootfs at "${m.target}"`);
  const lines = m.isFile
    ? [`[ -e ${dst} ] || { mkdir -p "$(dirname ${dst})" && : > ${dst}; } || fail ${failed}`]
    : [`mkdir -p ${dst} || fail ${failed}`];
  lines.push(`mount --bind ${src} ${dst} || fail ${failed}`);
  if (m.readOnly) lines.push(`mount -o remount,bind,ro ${dst} || fail ${failed}`);
  return lines;
}

/** Run as `sh -c SCRIPT sh ARGV...` inside `unshare --mount --propagation private`. */
export function wrapperScript(mounts: BindMount[], cwd: string): string {
  return [
    `fail() { printf 'E%s\\n' "$1" >&3; exit 128; }`,
    ...mounts.flatMap(mountLines),
    `mkdir -p ${quote(cwd)} && cd ${quote(cwd)} || fail ${quote(`chdir to cwd ("${cwd}") set in config.json failed`)}`,
    `case "$1" in`,
    `  */*) [ -f "$1" ] && [ -x "$1" ] || fail "exec: \\"$1\\": stat $1: no such file or directory" ;;`,
    `  *) command -v "$1" >/dev/null 2>&1 || fail "exec: \\"$1\\": executable file not found in \\$PATH" ;;`,
    `esac`,
    `printf 'S\\n' >&3`,
    `exec "$@" 3>&-`,
  ].join("\n");
}
