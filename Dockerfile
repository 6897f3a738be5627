# The operator image. Build from the repository root, where the workspace's
# lock file lives (`make images` does, with a local base where node:20-slim
# cannot be pulled):
#   docker build -f Dockerfile -t resumable/operator:dev .
ARG BASE=node:20-slim

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
WORKDIR /src
COPY --from=manifests /manifests ./
RUN npm ci --no-audit --no-fund --workspace operator --include-workspace-root
COPY . .
# Builds the operator and the workspace packages it references, then gathers
# every dist/ that exists, so the runtime stage needs no list of packages.
RUN npx tsc -b operator \
 && mkdir /out && for d in $(find . -name node_modules -prune -o -type d -name dist -print); do \
      mkdir -p "/out/$(dirname "$d")" && cp -r "$d" "/out/$d"; \
    done

FROM ${BASE}
ENV NODE_ENV=production
WORKDIR /app
ARG NODE_EXTRA_CA_CERTS
COPY --from=manifests /manifests ./
# Only what the operator needs at run time: no dev dependencies, no compiler,
# no TensorFlow.js (that is the trainer's).
RUN npm ci --omit=dev --no-audit --no-fund --workspace operator && npm cache clean --force
COPY --from=build /out ./
# The base's `node` user, numeric so the kubelet can check runAsNonRoot.
USER 1000:1000
# /metrics, /healthz and /readyz (the chart's metrics.port).
EXPOSE 8080
ENTRYPOINT ["node", "/app/operator/dist/cli.js"]
