# akri-mqtt: the Akri discovery handler image (`akri-mqtt serve`).
# Build: docker build -t akri-mqtt:0.1.0 .

FROM node:20-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY proto ./proto
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:20-alpine AS runtime
ENV NODE_ENV=production \
    DISCOVERY_HANDLERS_DIRECTORY=/var/lib/akri \
    DISCOVERY_HANDLER_NAME=mqtt
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY proto ./proto
COPY --from=build /app/dist ./dist
COPY deploy/docker-entrypoint.sh ./docker-entrypoint.sh
# Runs as root on purpose: the agent's socket directory (a hostPath) and its socket are
# root-owned, and Akri's agent and handlers run as root too.
# 8080: serve's /healthz, /metrics, /devices; or monitor's page and API.
EXPOSE 8080
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["serve"]
