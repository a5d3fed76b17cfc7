# Monolith: the host (and the CLI, for one-off commands) in one image.
# Untested on the project's build machine (it has no Docker engine); see README.md.

# --- build ---------------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish host/Monolith.Host.csproj -c Release -o /out/host --nologo \
 && dotnet publish cli/Monolith.Cli.csproj -c Release -o /out/cli --nologo

# --- run -----------------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /out/host /app
COPY --from=build /out/cli /cli
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
EXPOSE 8080
# The image's non-root user.
USER $APP_UID
# docker-compose.yml probes /health/ready (the image has no curl; bash does the request).
ENTRYPOINT ["dotnet", "Monolith.Host.dll"]
