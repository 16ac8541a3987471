FROM node:20 AS build
WORKDIR /home/node/app
COPY package.json yarn.lock ./
RUN yarn install --frozen-lockfile --production
COPY . .

FROM node:20-slim
WORKDIR /home/node/app
COPY --from=build --chown=node:node /home/node/app ./
ENV PORT=3000
EXPOSE 3000
USER node
CMD ["node", "src/index.js"]
