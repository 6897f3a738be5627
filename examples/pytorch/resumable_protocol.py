"""The resumable trainer protocol for a PyTorch script (docs/trainer-protocol.md, "From PyTorch").

Stdlib and torch only. What it keeps: SIGTERM stops at the next step boundary with a final
checkpoint and exit 143; checkpoints are committed atomically (temp dir, fsync, rename) with a
manifest (step, sha256 of the payload, world size) and the newest valid one is loaded at start;
progress is merge-patched onto the pod's own annotation; a JSON summary goes to the termination
log at exit; a reclaim notice (the projected checkpoint-request file) saves at the next boundary.

In a gang (WORLD_SIZE > 1) only rank 0 reads and writes checkpoints: it restores and broadcasts
the state. Every step one all_reduce of [stop, checkpoint requested] makes all ranks stop or save
at the same step, whichever rank got the signal. A lost or stalled peer ends a rank with exit 7.
"""

import datetime
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.request


def log(msg, level="info", **fields):
    print(json.dumps({"level": level, "time": int(time.time() * 1000), "msg": msg, **fields}), flush=True)


# The stop signal, caught from the moment this module is imported, before torch loads (a second
# or two): a SIGTERM then still ends in a final checkpoint and 143, not in a bare kill.
STOP = {"signal": None}


def _on_signal(signum, _frame):
    # Only the flag: a handler that printed could run inside the main thread's print (a reentrant
    # write to stdout raises). The step boundary logs the stop.
    if STOP["signal"] is None:
        STOP["signal"] = signal.Signals(signum).name


for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, _on_signal)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

EXIT = {"completed": 0, "failed": 1, "config": 2, "checkpointsUnusable": 5, "peerLost": 7, "preempted": 143}
PROGRESS_ANNOTATION = "resumable.dev/progress"
REQUEST_FILE = "/etc/resumable/requests/checkpoint-request"
PEERS_FILE = "/etc/resumable/requests/peers"
CHECKPOINT_NAME = re.compile(r"^ckpt-(\d{8,})(?:-a(\d+))?$")
PAYLOAD, MANIFEST = "state.pt", "manifest.json"
# gloo's words for a peer that went away or stalled; anything else is a failure of this rank.
PEER_LOST_TEXT = re.compile(r"Connection closed by peer|Connection reset|Broken pipe|Timed out|timed out|timeout|Socket Timeout")


class ProtocolExit(Exception):
    """Ends the run with this exit code; the summary says why."""

    def __init__(self, code, message, kind=None):
        super().__init__(message)
        self.code, self.kind = code, kind


def _int_env(name, default, minimum=0):
    text = os.environ.get(name, "")
    if text == "":
        return default
    if not re.fullmatch(r"\d+", text) or int(text) < minimum:
        raise ProtocolExit(EXIT["config"], f"{name}={text!r}: expected an integer >= {minimum}", "config")
    return int(text)


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(model):
    """sha256 of the weights' raw little-endian bytes, tensor after tensor in state_dict order."""
    digest = hashlib.sha256()
    for tensor in model.state_dict().values():
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


class CheckpointDir:
    """ckpt-<step>-a<attempt>/{state.pt, manifest.json} under one directory; rank 0 only."""

    def __init__(self, root, attempt, keep=3):
        self.root, self.attempt, self.keep = root, attempt, keep
        os.makedirs(root, exist_ok=True)
        for name in os.listdir(root):  # a crash mid-save leaves only these behind
            replaced = name.startswith(".replaced-") and name[len(".replaced-"):]
            if replaced and not os.path.exists(os.path.join(root, replaced)):
                os.rename(os.path.join(root, name), os.path.join(root, replaced))  # its replacement never landed: keep it
            elif name.startswith(".tmp-") or replaced:
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)

    def listed(self):
        found = [(int(m[1]), int(m[2] or 0), name) for name in os.listdir(self.root) if (m := CHECKPOINT_NAME.match(name))]
        return [name for _, _, name in sorted(found, reverse=True)]

    def load_newest_valid(self):
        """(manifest, path, tensors) of the newest checkpoint that verifies; corrupt ones are quarantined."""
        names = self.listed()
        for name in names:
            path = os.path.join(self.root, name)
            try:
                with open(os.path.join(path, MANIFEST)) as f:
                    manifest = json.load(f)
                if manifest.get("digest") != _digest(manifest):
                    raise ValueError("manifest digest mismatch: its content changed after it was written")
                entry = manifest["files"][PAYLOAD]
                payload = os.path.join(path, PAYLOAD)
                if os.path.getsize(payload) != entry["bytes"] or _sha256_file(payload) != entry["sha256"]:
                    raise ValueError(f"{PAYLOAD} does not match the sha256 or size its manifest records")
                # weights_only: tensors, ints and strings, never code from a pickle (1.13's refuses even floats:
                # what is not a tensor lives in the manifest).
                return manifest, path, torch.load(payload, weights_only=True)
            except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
                self._quarantine(name, err)
        if names and os.environ.get("RESUMABLE_ALLOW_FRESH_START") != "true":
            raise ProtocolExit(EXIT["checkpointsUnusable"], f"{len(names)} checkpoints in {self.root}, none loads", "checkpointsUnusable")
        return None, None, None

    def _quarantine(self, name, err):
        target = os.path.join(self.root, "quarantine", f"{name}-{int(time.time() * 1000)}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(os.path.join(self.root, name), target)
        log("corrupt checkpoint quarantined, trying the one before", "warn", checkpoint=name, reason=str(err), quarantine=target)

    def save(self, step, world_size, tensors, extra, weights, kind):
        """Commits one checkpoint: every file fsynced, the manifest last, then one rename."""
        started = time.monotonic()
        name = f"ckpt-{step:08d}" + (f"-a{self.attempt}" if self.attempt else "")
        tmp = os.path.join(self.root, f".tmp-{name}-{os.getpid()}")
        os.makedirs(tmp)
        payload = os.path.join(tmp, PAYLOAD)
        torch.save(tensors, payload)
        _fsync(payload)
        manifest = {
            "formatVersion": 1, "framework": "pytorch", "step": step, "worldSize": world_size, "attempt": self.attempt or None,
            "kind": kind, "createdAt": _now(), "weightsSha256": weights,
            "files": {PAYLOAD: {"sha256": _sha256_file(payload), "bytes": os.path.getsize(payload)}}, **extra,
        }
        manifest["digest"] = _digest(manifest)
        with open(os.path.join(tmp, MANIFEST), "w") as f:
            json.dump(manifest, f)
            f.flush()
            os.fsync(f.fileno())
        _fsync(tmp)
        final = os.path.join(self.root, name)
        if os.path.exists(final):  # the same attempt's restarted container saving the same step again
            os.rename(final, os.path.join(self.root, f".replaced-{name}"))
        os.rename(tmp, final)
        _fsync(self.root)
        shutil.rmtree(os.path.join(self.root, f".replaced-{name}"), ignore_errors=True)
        for old in self.listed()[self.keep:]:
            shutil.rmtree(os.path.join(self.root, old), ignore_errors=True)
        return {"step": step, "path": final, "bytes": manifest["files"][PAYLOAD]["bytes"], "time": manifest["createdAt"], "reason": kind,
                "saveSeconds": round(time.monotonic() - started, 3)}


def _digest(manifest):
    """sha256 of the manifest's other fields: a flipped bit in the manifest is caught too."""
    rest = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ProgressReporter(threading.Thread):
    """Patches the pod's progress annotation every interval, off the training path."""

    def __init__(self, seconds):
        super().__init__(daemon=True)
        self.current, self.sent, self.wake = None, None, threading.Event()
        # One request at a time: the last report at exit waits for the timer's and goes after it.
        self.sending = threading.Lock()
        pod, ns = os.environ.get("RESUMABLE_POD_NAME"), os.environ.get("RESUMABLE_POD_NAMESPACE")
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        self.sa = os.environ.get("RESUMABLE_SERVICEACCOUNT_DIR") or "/var/run/secrets/kubernetes.io/serviceaccount"
        self.seconds = seconds
        self.url = None
        if pod and ns and host and port and os.path.exists(os.path.join(self.sa, "token")):
            host = f"[{host}]" if ":" in host else host
            self.url = f"https://{host}:{port}/api/v1/namespaces/{ns}/pods/{pod}"
        else:
            log("progress reports off: not in a pod with a service-account token")

    def run(self):
        while True:
            self.wake.wait(self.seconds)
            self.wake.clear()
            self.send()

    def send(self):
        with self.sending:
            self._send()

    def _send(self):
        value = json.dumps(self.current)
        if self.url is None or self.current is None or value == self.sent:
            return
        try:
            with open(os.path.join(self.sa, "token")) as f:  # re-read: projected tokens rotate
                token = f.read().strip()
            body = json.dumps({"metadata": {"annotations": {PROGRESS_ANNOTATION: json.dumps({**self.current, "updatedAt": _now()})}}})
            request = urllib.request.Request(self.url, data=body.encode(), method="PATCH", headers={
                "content-type": "application/merge-patch+json", "authorization": f"Bearer {token}"})
            context = ssl.create_default_context(cafile=os.path.join(self.sa, "ca.crt"))
            urllib.request.urlopen(request, context=context, timeout=5).close()
            self.sent = value
        except Exception as err:  # a failed report never slows a step: logged, retried next interval
            log("progress report failed; will retry at the next interval", "warn", reason=str(err))


class CheckpointRequests(threading.Thread):
    """Polls the projected request file once a second; each new request id is pending once."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.seen, self.pending = path, set(), None

    def run(self):
        while True:
            try:
                with open(self.path) as f:
                    text = f.read().strip()
                request = json.loads(text) if text else None
                if request and request.get("id") and request["id"] not in self.seen:
                    self.seen.add(request["id"])
                    self.pending = request
                    log("checkpoint requested: saving at the next step boundary", requestId=request["id"])
            except FileNotFoundError:
                pass
            except (OSError, ValueError, AttributeError) as err:
                log("ignoring a malformed checkpoint request", "warn", reason=str(err))
            time.sleep(1)


class Session:
    """One rank's side of the protocol; `run` makes one and ends the process with its exit code."""

    def __init__(self):
        self.total_steps, self.checkpoint_every = None, 0
        self.step, self.epoch, self.loss = 0, None, None
        self.resumed_from, self.checkpoint, self.failure, self.early = None, None, None, None
        self.model = self.optimizer = None
        self.termination_log = os.environ.get("RESUMABLE_TERMINATION_LOG") or "/dev/termination-log"
        self.log_steps = os.environ.get("LOG_LEVEL") == "trace"
        self.attempt = _int_env("RESUMABLE_ATTEMPT", 0, 1)
        self.world_size = _int_env("WORLD_SIZE", _int_env("RESUMABLE_WORLD_SIZE", 1, 1), 1)
        self.rank = _int_env("RANK", _int_env("RESUMABLE_RANK", 0))
        if self.rank >= self.world_size:
            raise ProtocolExit(EXIT["config"], f"RANK={self.rank} is not below WORLD_SIZE={self.world_size}", "config")
        self.store = None
        if self.rank == 0:  # only rank 0 touches checkpoint storage: ranks > 0 get no volume
            root = os.environ.get("RESUMABLE_CHECKPOINT_DIR")
            if os.environ.get("RESUMABLE_CHECKPOINT_URL") and not root:
                raise ProtocolExit(EXIT["config"], "RESUMABLE_CHECKPOINT_URL: this helper keeps checkpoints in a directory only (spec.checkpoint.storage.s3 is not supported)", "config")
            if not root:
                raise ProtocolExit(EXIT["config"], "RESUMABLE_CHECKPOINT_DIR is not set (rank 0 keeps the checkpoints)", "config")
            self.store = CheckpointDir(root, self.attempt)
        self.reporter = ProgressReporter(_int_env("RESUMABLE_PROGRESS_SECONDS", 5, 1))
        self.reporter.start()
        self.requests = None
        request_file = os.environ.get("RESUMABLE_CHECKPOINT_REQUEST_FILE", REQUEST_FILE)
        if request_file:
            self.requests = CheckpointRequests(request_file)
            self.requests.start()

    def _collective(self, what, call, *args, **kwargs):
        """A collective; a peer that is gone or silent past the timeout ends this rank with exit 7."""
        try:
            return call(*args, **kwargs)
        except (RuntimeError, OSError) as err:  # gloo raises RuntimeError; the rendezvous TimeoutError or ConnectionError
            raise ProtocolExit(EXIT["peerLost"], f"{what}: a peer is gone or stalled: {err}", "peerLost") from err

    def join_gang(self):
        """Forms the gang (WORLD_SIZE > 1): rank 0's address, then gloo's rendezvous; exit 7 if it never forms."""
        timeout = _int_env("RESUMABLE_GANG_TIMEOUT_SECONDS", 60, 1)
        addr = os.environ.get("MASTER_ADDR", "")
        try:
            socket.getaddrinfo(addr, None)
        except (socket.gaierror, UnicodeError):
            # No cluster DNS (or no MASTER_ADDR): rank 0's address from the operator's peers file.
            addr = self._peers(timeout)[0]
        os.environ["MASTER_ADDR"] = addr
        os.environ["MASTER_PORT"] = str(_int_env("MASTER_PORT", 29500, 1))
        log("joining the gang", rank=self.rank, worldSize=self.world_size, master=f"{addr}:{os.environ['MASTER_PORT']}")
        try:
            self._collective("the gang never formed", dist.init_process_group, "gloo", rank=self.rank, world_size=self.world_size,
                             timeout=datetime.timedelta(seconds=timeout))
        except ProtocolExit:
            self._stopped_before_forming()  # a signal can break the rendezvous: it was a stop, not a lost peer
            raise

    def _stopped_before_forming(self):
        """Stopped while the gang formed: nothing was trained, so the newest checkpoint is already where the next attempt starts."""
        if STOP["signal"]:
            raise ProtocolExit(EXIT["preempted"], f"stopped by {STOP['signal']} before the gang formed")

    def _peers(self, timeout):
        path = os.environ.get("RESUMABLE_PEERS_FILE") or PEERS_FILE
        deadline, text = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    text = f.read().strip()
                peers = json.loads(text) if text else {}
                if (not self.attempt or peers.get("attempt") == self.attempt) and len(peers.get("addresses", [])) == self.world_size:
                    return peers["addresses"]
            except (OSError, ValueError, AttributeError):
                pass
            self._stopped_before_forming()
            time.sleep(0.5)
        raise ProtocolExit(EXIT["peerLost"], f"the gang never formed: no peers for attempt {self.attempt} and {self.world_size} ranks in {path} within {timeout} s (last: {text[:200]!r})", "peerLost")

    def restore(self, model, optimizer, total_steps, checkpoint_every=0, keep=3):
        """Loads the newest valid checkpoint into model and optimizer (rank 0 reads, all receive); the step to start from.

        checkpoint_every: a periodic save every N steps (0: only on stop, request and completion);
        keep: checkpoints kept by rank 0, the newest ones."""
        self.model, self.optimizer = model, optimizer
        self.total_steps, self.checkpoint_every = total_steps, checkpoint_every
        if self.store:
            self.store.keep = keep
        found = None
        if self.store:
            manifest, path, tensors = self.store.load_newest_valid()
            if tensors is not None:
                log("resuming from checkpoint", path=path, step=manifest["step"], savedWorldSize=manifest["worldSize"])
                optimizer_state = {"state": tensors["optimizerState"], "param_groups": manifest["paramGroups"]}
                state = {"model": tensors["model"], "optimizer": optimizer_state, "step": manifest["step"]}
                found = (state, {"step": manifest["step"], "path": path, "bytes": manifest["files"][PAYLOAD]["bytes"]})
        if self.world_size > 1:  # as DDP broadcasts rank 0's parameters: optimizer state and step too
            box = [found]
            self._collective("broadcasting the checkpoint", dist.broadcast_object_list, box, src=0)
            found = box[0]
        if found:
            state, self.checkpoint = found
            try:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
            except (RuntimeError, ValueError, KeyError) as err:  # another model's shapes: the config changed
                raise ProtocolExit(EXIT["config"], f"{self.checkpoint['path']} does not fit this model: {err}", "config") from err
            self.step = self.resumed_from = state["step"]
        self._boundary(periodic=False)  # a signal during start-up: a checkpoint at the start step, exit 143
        return self.step

    def step_done(self, step, loss, epoch=None):
        """At every step boundary, on every rank: agree on stop and checkpoint, save, report."""
        self.step, self.epoch, self.loss = step, epoch, float(loss)
        if self.log_steps:
            log("step", "trace", step=step, loss=self.loss)
        self._boundary()

    def _boundary(self, periodic=True):
        flags = torch.tensor([STOP["signal"] is not None, self.requests is not None and self.requests.pending is not None], dtype=torch.int32)
        if self.world_size > 1:  # the same sum on every rank: all stop, or save, at this step
            self._collective("agreeing on the step boundary", dist.all_reduce, flags)
        stop, requested = bool(flags[0]), bool(flags[1])
        if requested:
            request = self.requests.pending if self.requests else None
            if self.requests:
                self.requests.pending = None
            if self._save("periodic") and request:
                self.early = {"requestId": request["id"], "step": self.step, "time": _now()}
                log("early checkpoint committed on request", requestId=request["id"], step=self.step)
        elif periodic and self.checkpoint_every and self.step % self.checkpoint_every == 0 and self.step < self.total_steps:
            self._save("periodic")
        self._report()
        if stop:
            log("stop requested: a final checkpoint at this step", step=self.step, signal=STOP["signal"] or "a peer's")
            self._save("final")
            raise ProtocolExit(EXIT["preempted"], f"stopped by {STOP['signal'] or 'a peer'}")

    def _save(self, kind):
        """Gathers every rank's (rank, step, world size, weights sha256) on rank 0, which commits only if all agree."""
        if self.checkpoint and self.checkpoint["step"] == self.step:
            return True
        own = {"rank": self.rank, "step": self.step, "worldSize": self.world_size, "sha256": weights_sha256(self.model)}
        parts = [own]
        if self.world_size > 1:
            parts = [None] * self.world_size
            self._collective("gathering checkpoint parts", dist.all_gather_object, parts, own)
        result = None
        if self.store:
            differing = [p["rank"] for p in parts if (p["step"], p["worldSize"], p["sha256"]) != (own["step"], own["worldSize"], own["sha256"])]
            try:
                if differing:
                    raise ValueError(f"ranks {differing} hold other weights than rank 0 at step {self.step}: not committed")
                optimizer = self.optimizer.state_dict()
                tensors = {"model": self.model.state_dict(), "optimizerState": optimizer["state"]}
                result = self.store.save(self.step, self.world_size, tensors, {"paramGroups": optimizer["param_groups"]}, own["sha256"], kind)
                log("checkpoint committed", **{k: v for k, v in result.items() if k != "time"})  # the log line has its own time
            except (OSError, ValueError, RuntimeError) as err:
                result = {"error": f"{type(err).__name__}: {err}"}
        if self.world_size > 1:  # every rank reports the same checkpoint, and fails a final save alike
            box = [result]
            self._collective("sharing the commit", dist.broadcast_object_list, box, src=0)
            result = box[0]
        if "error" in result:
            if kind == "final":
                raise ProtocolExit(EXIT["failed"], f"final checkpoint failed: {result['error']}", "error")
            failures = (self.failure or {}).get("failures", 0) + 1
            self.failure = {"since": (self.failure or {}).get("since", _now()), "failures": failures, "message": result["error"]}
            log("checkpoint failed; training goes on", "warn", reason=result["error"])
            return False
        self.checkpoint, self.failure = result, None
        self.reporter.wake.set()
        return True

    def _report(self):
        self.reporter.current = {
            "step": self.step, "totalSteps": self.total_steps, "epoch": self.epoch, "loss": self.loss, "resumedFromStep": self.resumed_from,
            "checkpoint": self.checkpoint and {k: v for k, v in self.checkpoint.items() if k != "saveSeconds"},
            "checkpointFailure": self.failure, **({"earlyCheckpoint": self.early} if self.early else {}),
        }

    def summary(self, reason, error=None):
        out = {
            "reason": reason, "step": self.step, "totalSteps": self.total_steps, "epoch": self.epoch, "loss": self.loss,
            "checkpoint": self.checkpoint, "resumedFromStep": self.resumed_from, "attempt": self.attempt or None,
            "backend": "pytorch-cpu", "weightsSha256": weights_sha256(self.model) if self.model else None, "accuracy": None,
            "rank": self.rank, "worldSize": self.world_size,
        }
        if error:
            out["error"] = f"{error[0]}: {error[1]}"[:1200]
            out["failure"] = {"kind": error[0], "message": out["error"]}
        return out


def run(train):
    """Runs train(session) under the protocol and exits: 0 completed, 143 stopped, 7 a peer lost, 1 failed, 2 bad config."""
    session, code, summary = None, EXIT["failed"], None
    try:
        session = Session()
        if session.world_size > 1:
            session.join_gang()
        train(session)
        session._save("final")
        code, summary = EXIT["completed"], session.summary("completed")
    except ProtocolExit as err:
        code = err.code
        reason = "preempted" if code == EXIT["preempted"] else "failed"
        summary = session.summary(reason, (err.kind, str(err)) if reason == "failed" else None) if session else \
            {"reason": "failed", "error": f"{err.kind}: {err}", "failure": {"kind": err.kind, "message": str(err)}}
    except Exception as err:
        if session and session.world_size > 1 and PEER_LOST_TEXT.search(str(err)):  # DDP's own all-reduce lost a peer
            code, summary = EXIT["peerLost"], session.summary("failed", ("peerLost", f"a peer is gone or stalled: {err}"))
        else:
            summary = session.summary("failed", ("error", f"{type(err).__name__}: {err}")) if session else \
                {"reason": "failed", "error": f"{type(err).__name__}: {err}"}
    line = json.dumps(summary)
    try:
        with open(session.termination_log if session else os.environ.get("RESUMABLE_TERMINATION_LOG", "/dev/termination-log"), "w") as f:
            f.write(line)
    except OSError as err:
        log("cannot write the termination log", "warn", reason=str(err))
    if session:
        session._report()
        session.reporter.send()
    print(line, flush=True)
    sys.stderr.flush()
    # No process-group teardown: after a lost peer it can block; the OS closes the sockets.
    os._exit(code)
