#!/usr/bin/env bash
# Refreshes docs/openapi/v1.json, the document the generated client (tests/Monolith.Client) is made from, from what the
# host serves now: builds the tests without the client (whose journeys may already use what the new document adds),
# runs the document tests with MONOLITH_UPDATE_OPENAPI=1 (they write the file, then check it), then builds again so the
# client is generated anew. The database comes as for build/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=tests/Monolith.Tests/Monolith.Tests.csproj
dotnet tool restore
dotnet build "$tests" -c Release --nologo -v quiet -warnaserror -p:WithoutApiClient=true
MONOLITH_UPDATE_OPENAPI=1 dotnet test "$tests" -c Release --no-build --nologo -p:WithoutApiClient=true \
  --filter "FullyQualifiedName~OpenApiDocumentTests" --logger "console;verbosity=minimal"
dotnet build "$tests" -c Release --nologo -v quiet -warnaserror
git --no-pager diff --stat -- docs/openapi/v1.json
