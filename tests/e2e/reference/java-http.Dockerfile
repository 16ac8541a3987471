FROM eclipse-temurin:17-jdk AS build
WORKDIR /opt/greeter
COPY . .
RUN mkdir -p out \
    && javac -d out $(find src/main/java -name '*.java') \
    && jar cfm greeter.jar manifest.txt -C out .

FROM eclipse-temurin:17-jre
ENV GREETING="Good morning" PORT=8080
RUN useradd --system --uid 10001 --no-create-home app
WORKDIR /opt/greeter
COPY --from=build /opt/greeter/greeter.jar ./greeter.jar
EXPOSE 8080
USER app
CMD ["java", "-XX:+UseSerialGC", "-jar", "/opt/greeter/greeter.jar"]
