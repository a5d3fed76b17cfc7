using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy.Resolution;
using Monolith.Tests.Support;

namespace Monolith.Tests.Host;

/// <summary>
/// CONTRACT §6: the document at /openapi/v1.json is complete enough for a generated client. These tests walk every
/// operation of the served document and hold it against the endpoints the host really maps.
/// </summary>
[Trait("Category", Categories.Integration)]
public sealed partial class OpenApiDocumentTests(MonolithFixture fixture) : IntegrationTest(fixture)
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    /// <summary>Pages for operators and probes, not operations of the API (left out of the document on purpose).</summary>
    private static readonly string[] OperatorPages = ["/hangfire", "/health/", "/metrics", "/docs", "/openapi/"];

    public override Task InitializeAsync() => Task.CompletedTask; // reads only: no tenant data to reset

    [Fact]
    public async Task Every_operation_has_an_operation_id_a_tag_and_a_security_requirement_that_fits_its_endpoint()
    {
        var failures = new List<string>();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var op in await OperationsAsync())
        {
            var name = $"{op.Method.ToUpperInvariant()} {op.Path}";
            if (!op.Body.TryGetProperty("operationId", out var id) || string.IsNullOrWhiteSpace(id.GetString()))
            {
                failures.Add($"{name}: no operationId");
            }
            else if (!ids.TryAdd(id.GetString()!, name))
            {
                failures.Add($"{name}: operationId '{id.GetString()}' is also {ids[id.GetString()!]}'s");
            }

            if (!op.Body.TryGetProperty("tags", out var tags) || tags.GetArrayLength() == 0)
            {
                failures.Add($"{name}: no tag");
            }

            var expected = ExpectedSecurity(op.Path, Endpoint(op));
            var actual = Security(op.Body);
            if (actual != expected)
            {
                failures.Add($"{name}: security {actual}, expected {expected}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task Every_operation_that_takes_a_body_describes_it_and_every_answer_has_its_schema()
    {
        var failures = new List<string>();
        foreach (var op in await OperationsAsync())
        {
            var name = $"{op.Method.ToUpperInvariant()} {op.Path}";
            var endpoint = Endpoint(op);
            var takesBody = endpoint.Metadata.GetOrderedMetadata<IAcceptsMetadata>().Any(a => a.RequestType is not null);
            if (takesBody != op.Body.TryGetProperty("requestBody", out var requestBody))
            {
                failures.Add($"{name}: takes a body: {takesBody}; the document describes one: {!takesBody}");
            }
            else if (takesBody && !AllContentHasSchema(requestBody, out var why))
            {
                failures.Add($"{name}: request body {why}");
            }

            if (!op.Body.TryGetProperty("responses", out var responses) || !responses.EnumerateObject().Any(r => r.Name.StartsWith('2')))
            {
                failures.Add($"{name}: no success response");
                continue;
            }

            foreach (var response in responses.EnumerateObject())
            {
                var status = int.Parse(response.Name, System.Globalization.CultureInfo.InvariantCulture);
                if (status >= 400)
                {
                    failures.AddRange(ProblemResponseFailures(name, status, response.Value));
                }
                else if (status is 200 or 201 && !AllContentHasSchema(response.Value, out var why))
                {
                    failures.Add($"{name} {status}: {why}");
                }
            }

            // What every endpoint of its kind can answer, whatever its handler does.
            var answers = responses.EnumerateObject().Select(r => r.Name).ToHashSet();
            var mustAnswer = new List<string> { "400" };
            if (endpoint.Metadata.GetMetadata<TenantScopedAttribute>() is not null)
            {
                mustAnswer.AddRange(["404", "403", "429", "503"]);
            }

            if (Security(op.Body) != "anonymous")
            {
                mustAnswer.Add("401");
            }

            failures.AddRange(mustAnswer.Where(s => !answers.Contains(s)).Select(s => $"{name}: does not declare {s}"));
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task Every_api_endpoint_the_host_maps_is_in_the_document()
    {
        var documented = (await OperationsAsync()).Select(op => $"{op.Method.ToUpperInvariant()} {op.Path}").ToHashSet(StringComparer.Ordinal);
        var mapped = Fixture.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<TenantScopedAttribute>() is not null || e.Metadata.GetMetadata<ApiKeySecurityMetadata>() is not null)
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.Select(m => $"{m} {DocumentPath(e.RoutePattern.RawText!)}"))
            .ToList();

        Assert.True(mapped.Count >= 70, $"only {mapped.Count} tenant and platform endpoints found");
        var undocumented = mapped.Where(m => !documented.Contains(m)).ToList();
        Assert.True(undocumented.Count == 0, "not in the document: " + string.Join(", ", undocumented));
    }

    /// <summary>
    /// The generated client (tests/Monolith.Client) is built from docs/openapi/v1.json: this holds that file to what the host
    /// serves, so a change of the API that the file does not show fails here. After an intended change, refresh it with
    /// <c>./build/openapi.sh</c>, which runs this test with <c>MONOLITH_UPDATE_OPENAPI=1</c> (docs/api.md).
    /// </summary>
    [Fact]
    public async Task The_committed_document_the_client_is_generated_from_is_the_one_the_host_serves()
    {
        var served = Canonical(await DocumentAsync());
        var file = Path.Combine(RepositoryRoot(), "docs", "openapi", "v1.json");
        if (Environment.GetEnvironmentVariable("MONOLITH_UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(file, served);
        }

        Assert.True(File.Exists(file), $"{file} is missing");
        var committed = await File.ReadAllTextAsync(file);
        Assert.True(committed.ReplaceLineEndings("\n") == served,
            "docs/openapi/v1.json differs from the document the host serves; run ./build/openapi.sh after an intended change (docs/api.md).");
    }

    [Fact]
    public async Task Both_security_schemes_are_declared()
    {
        var schemes = (await DocumentAsync()).RootElement.GetProperty("components").GetProperty("securitySchemes");
        var bearer = schemes.GetProperty("bearer");
        Assert.Equal("http", bearer.GetProperty("type").GetString());
        Assert.Equal("bearer", bearer.GetProperty("scheme").GetString());
        var platform = schemes.GetProperty("platformKey");
        Assert.Equal("apiKey", platform.GetProperty("type").GetString());
        Assert.Equal("header", platform.GetProperty("in").GetString());
        Assert.Equal("X-Platform-Key", platform.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Every_request_of_the_modules_http_files_names_an_operation_of_the_document_and_every_operation_has_one()
    {
        var operations = (await OperationsAsync()).Select(op => (op.Method.ToUpperInvariant(), Template: op.Path)).ToList();
        var named = new HashSet<(string, string)>();
        var failures = new List<string>();
        var files = Directory.GetFiles(Path.Combine(RepositoryRoot(), "modules"), "*.http", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            foreach (var (line, number) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
            {
                var request = HttpFileRequest().Match(line);
                if (!request.Success)
                {
                    continue;
                }

                var method = request.Groups["method"].Value;
                var path = request.Groups["path"].Value.TrimEnd('/');
                if (OperatorPages.Any(page => path.StartsWith(page, StringComparison.Ordinal)))
                {
                    continue;
                }

                var match = operations.FirstOrDefault(o => o.Item1 == method && PathMatches(o.Template, path));
                if (match == default)
                {
                    failures.Add($"{Path.GetFileName(file)}:{number}: {method} {path} is no operation of the document");
                }
                else
                {
                    named.Add(match);
                }
            }
        }

        failures.AddRange(operations.Where(o => !named.Contains(o)).Select(o => $"no .http file has {o.Item1} {o.Template}"));
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static IEnumerable<string> ProblemResponseFailures(string name, int status, JsonElement response)
    {
        if (!response.TryGetProperty("content", out var content) || !content.TryGetProperty("application/problem+json", out var problem))
        {
            yield return $"{name} {status}: not a problem document (application/problem+json)";
            yield break;
        }

        var schema = problem.TryGetProperty("schema", out var s) && s.TryGetProperty("$ref", out var r) ? r.GetString() : null;
        var expected = status == StatusCodes.Status400BadRequest ? "#/components/schemas/HttpValidationProblemDetails" : "#/components/schemas/ProblemDetails";
        if (schema != expected)
        {
            yield return $"{name} {status}: schema {schema ?? "(none)"}, expected {expected}";
        }

        if (!response.TryGetProperty("x-problem-types", out var types) || types.GetArrayLength() == 0
            || types.EnumerateArray().Any(t => t.GetString()?.StartsWith("/problems/", StringComparison.Ordinal) != true))
        {
            yield return $"{name} {status}: its problem types are not listed in x-problem-types";
        }
    }

    private static bool AllContentHasSchema(JsonElement holder, out string why)
    {
        if (!holder.TryGetProperty("content", out var content) || !content.EnumerateObject().Any())
        {
            why = "has no content";
            return false;
        }

        var bare = content.EnumerateObject().Where(c => !c.Value.TryGetProperty("schema", out _)).Select(c => c.Name).ToList();
        why = $"has no schema for {string.Join(", ", bare)}";
        return bare.Count == 0;
    }

    /// <summary>What the contract says, independently of how the document is made: §3 and §4.</summary>
    private static string ExpectedSecurity(string path, Endpoint endpoint)
    {
        if (path.StartsWith("/platform/", StringComparison.Ordinal))
        {
            return "platformKey";
        }

        return path.StartsWith("/auth/", StringComparison.Ordinal) || path == "/invitations/accept"
            || endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null
            ? "anonymous"
            : "bearer";
    }

    /// <summary>One requirement naming one scheme, or one empty requirement (explicitly anonymous).</summary>
    private static string Security(JsonElement operation)
    {
        if (!operation.TryGetProperty("security", out var security) || security.GetArrayLength() != 1)
        {
            return "(missing)";
        }

        var schemes = security[0].EnumerateObject().Select(p => p.Name).ToList();
        return schemes.Count switch
        {
            0 => "anonymous",
            1 => schemes[0],
            _ => string.Join("+", schemes),
        };
    }

    private RouteEndpoint Endpoint(Operation op) =>
        Fixture.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Single(e => DocumentPath(e.RoutePattern.RawText!) == op.Path
                && e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(op.Method.ToUpperInvariant()) == true);

    /// <summary><c>/customers/{id:guid}/</c> → <c>/customers/{id}</c>, as the document writes paths.</summary>
    private static string DocumentPath(string pattern)
    {
        var path = RouteConstraint().Replace(pattern, "}").TrimEnd('/');
        return path.StartsWith('/') ? path : "/" + path;
    }

    /// <summary>The document without its <c>servers</c> (they name whichever host answered), indented, one newline at the end.</summary>
    private static string Canonical(JsonDocument document)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(document.RootElement.GetRawText())!.AsObject();
        node.Remove("servers");
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static bool PathMatches(string template, string path)
    {
        var expected = template.Split('/');
        var actual = path.Split('/');
        return expected.Length == actual.Length
            && expected.Zip(actual).All(p => p.First.StartsWith('{') || p.Second.Contains("{{", StringComparison.Ordinal) || p.First == p.Second);
    }

    private async Task<JsonDocument> DocumentAsync()
    {
        var response = await Fixture.Factory.CreateClient().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    private async Task<List<Operation>> OperationsAsync()
    {
        var document = await DocumentAsync();
        var operations = new List<Operation>();
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            operations.AddRange(path.Value.EnumerateObject().Where(m => Methods.Contains(m.Name)).Select(m => new Operation(path.Name, m.Name, m.Value)));
        }

        Assert.True(operations.Count >= 70, $"the document has only {operations.Count} operations");
        return operations;
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Monolith.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Monolith.sln not found above the test binaries");
    }

    private sealed record Operation(string Path, string Method, JsonElement Body);

    [GeneratedRegex(@":[^}]*}")]
    private static partial Regex RouteConstraint();

    [GeneratedRegex(@"^(?<method>GET|POST|PUT|PATCH|DELETE)\s+\{\{host\}\}(?<path>/[^?\s]*)")]
    private static partial Regex HttpFileRequest();
}
