# Multi-stage build: compile TypeScript and native modules in a full image, run in a slim one.
# Node 22 LTS pinned to an exact release: bump it with .ci/node.sh (CI tests that one) and the Tutor template.
FROM node:22.23.5-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off so `prepare` (the build) waits for the sources below; better-sqlite3's native module
# is the one install script the service needs, so it is rebuilt explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY migrations ./migrations
COPY schemas ./schemas
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:22.23.5-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY schemas ./schemas
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
