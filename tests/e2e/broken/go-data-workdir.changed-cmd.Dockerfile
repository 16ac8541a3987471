# A broken rewrite of fixtures/e2e/go-data-workdir: it still answers the same, but CMD names the
# binary by its absolute path, so the image's configuration changed. `restage verify --against`
# must name Cmd.
FROM golang:1.22 AS build
WORKDIR /srv/greeter
COPY . .
RUN CGO_ENABLED=0 go build -o greeter .

FROM gcr.io/distroless/static-debian12
WORKDIR /srv/greeter
COPY --from=build /srv/greeter/greeter /srv/greeter/greeter
COPY --from=build /srv/greeter/templates /srv/greeter/templates
COPY --from=build /srv/greeter/var /srv/greeter/var
USER 65532:65532
EXPOSE 8080
CMD ["/srv/greeter/greeter"]
