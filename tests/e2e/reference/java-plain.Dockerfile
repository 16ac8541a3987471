FROM eclipse-temurin:17-jdk AS build
WORKDIR /app
COPY . .
RUN javac -d build src/com/example/invoice/*.java && \
    jar cfe app.jar com.example.invoice.Main -C build .

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --no-create-home app
WORKDIR /app
COPY --from=build /app/app.jar ./app.jar
USER app
CMD ["java", "-jar", "app.jar"]
