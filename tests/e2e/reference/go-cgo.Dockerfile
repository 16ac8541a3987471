FROM golang:1.22 AS build
WORKDIR /go/src/checksum
COPY . .
RUN go build -o /usr/local/bin/checksum .

FROM gcr.io/distroless/base-debian12:nonroot
WORKDIR /go/src/checksum
COPY --from=build /usr/local/bin/checksum /usr/local/bin/checksum
CMD ["checksum", "hello restage"]
