FROM node:20 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev
COPY . .

FROM node:20-slim
WORKDIR /app
COPY --from=build --chown=node:node /app ./
EXPOSE 8080
USER node
CMD ["npm", "start"]
