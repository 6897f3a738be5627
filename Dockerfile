# The operator's and the trainer's images: one build, the workspace chosen by an
# argument, so what the two share (the manifests, the install, the compile, the
# runtime install) is written once. Build from the repository root, where the
# workspace's lock file lives (`make images` does, with a local base where
# node:20-slim cannot be pulled):
#   docker build --build-arg WORKSPACE=operator -t resumable/operator:dev .
#   docker build --build-arg WORKSPACE=trainer -t resumable/trainer:dev .
#   ... --build-arg BASE=<a node:20-slim equivalent>
ARG BASE=node:20-slim
# operator or trainer: the workspace the image compiles, installs and runs (the
# stage of that name below holds what only its image has).
ARG WORKSPACE

# The lock file and each workspace's package.json (and bin shims, which npm
# links at install time), nothing else: the install layers below stay cached
# until one of them changes, and a workspace package added to the lock file
# is installed without editing this file.
FROM ${BASE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests && cp package.json package-lock.json /manifests/ \
 && for ws in $(node -p 'Object.keys(require("./package-lock.json").packages).filter((k) => k !== "" && !k.includes("node_modules/")).join(" ")'); do \
      mkdir -p "/manifests/$ws" && cp "$ws/package.json" "/manifests/$ws/" \
      && if [ -d "$ws/bin" ]; then cp -r "$ws/bin" "/manifests/$ws/"; fi; \
    done

FROM ${BASE} AS build
# Only where the registry is reached through a TLS-inspecting proxy: the path
# of a CA bundle in the base (test/images/base.sh). Not kept in the image.
ARG NODE_EXTRA_CA_CERTS
ARG WORKSPACE
WORKDIR /src
COPY --from=manifests /manifests ./
RUN npm ci --no-audit --no-fund --workspace "$WORKSPACE" --include-workspace-root
COPY . .
# Builds the workspace and the workspace packages it references, then gathers
# every dist/ that exists, so the runtime stage needs no list of packages.
RUN npx tsc -b "$WORKSPACE" \
 && mkdir /out && for d in $(find . -name node_modules -prune -o -type d -name dist -print); do \
      mkdir -p "/out/$(dirname "$d")" && cp -r "$d" "/out/$d"; \
    done

FROM ${BASE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
ARG NODE_EXTRA_CA_CERTS
ARG WORKSPACE
COPY --from=manifests /manifests ./
# Only what the workspace needs at run time: no dev dependencies, no compiler,
# and not the other program's (TensorFlow.js is the trainer's, client-node the
# operator's).
RUN npm ci --omit=dev --no-audit --no-fund --workspace "$WORKSPACE" && npm cache clean --force
COPY --from=build /out ./
# The base's `node` user, numeric so the kubelet can check runAsNonRoot.
USER 1000:1000

FROM runtime AS operator
# /metrics, /healthz and /readyz (the chart's metrics.port).
EXPOSE 8080
ENTRYPOINT ["node", "/app/operator/dist/cli.js"]

# resumable-trainer, CPU image (cpu and wasm backends). The checkpoint
# directory is a volume; the operator mounts the run's PVC there.
FROM runtime AS trainer
ENV RESUMABLE_CHECKPOINT_DIR=/checkpoints
USER root
RUN mkdir /checkpoints && chown 1000:1000 /checkpoints
USER 1000:1000
VOLUME /checkpoints
ENTRYPOINT ["node", "/app/trainer/dist/cli.js"]

# The image: the stage of the workspace asked for. The classic builder also
# runs the other one's few steps; BuildKit skips them.
FROM ${WORKSPACE}
