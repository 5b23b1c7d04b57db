# SmartSupport: build stage (dev dependencies, TypeScript, bundle), then a slim runtime stage.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8000 \
    SMARTSUPPORT_DATA_DIR=/var/lib/smartsupport
WORKDIR /app
RUN groupadd --system smartsupport && useradd --system --gid smartsupport --home-dir /var/lib/smartsupport smartsupport \
 && mkdir -p /var/lib/smartsupport && chown smartsupport:smartsupport /var/lib/smartsupport
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/bin ./bin
COPY --from=build --chown=root:root /app/openapi.yaml ./
COPY --from=build --chown=root:root /app/seeds ./seeds
USER smartsupport
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/smartsupport", "serve"]
