# A broken rewrite of fixtures/e2e/go-data-workdir: the runtime stage forgets var/, which the
# server reads at start. `restage verify --against` must say the rewritten image fails the probe.
FROM golang:1.22 AS build
WORKDIR /srv/greeter
COPY . .
RUN CGO_ENABLED=0 go build -o greeter .

FROM gcr.io/distroless/static-debian12
WORKDIR /srv/greeter
COPY --from=build /srv/greeter/greeter /srv/greeter/greeter
COPY --from=build /srv/greeter/templates /srv/greeter/templates
USER 65532:65532
EXPOSE 8080
CMD ["./greeter"]
