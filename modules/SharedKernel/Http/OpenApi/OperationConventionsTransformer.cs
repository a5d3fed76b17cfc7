using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace Monolith.SharedKernel.Http.OpenApi;

/// <summary>
/// What every operation gets from its endpoint's metadata: an operationId derived from its method and route (unless
/// named with <c>WithName</c>), its security requirement, and one problem response per status it can answer. The
/// problem types of a status are listed in the response's <c>x-problem-types</c> and in its description.
/// </summary>
internal sealed class OperationConventionsTransformer : IOpenApiOperationTransformer
{
    public const string ProblemTypesExtension = "x-problem-types";
    public const string ProblemContentType = "application/problem+json";

    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var metadata = description.ActionDescriptor.EndpointMetadata;
        operation.OperationId ??= DeriveOperationId(description.HttpMethod ?? "GET", description.RelativePath ?? string.Empty);

        var problems = new SortedDictionary<int, SortedSet<string>>();
        void Add(int status, params IEnumerable<string> codes)
        {
            if (!problems.TryGetValue(status, out var set))
            {
                problems[status] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.UnionWith(codes);
        }

        // Every request: NUL or an unpaired surrogate anywhere in it (UnicodeTextMiddleware).
        Add(StatusCodes.Status400BadRequest, "validation");
        if (metadata.OfType<QueryParameterMetadata>().Any() || description.ParameterDescriptions.Any(p => p.Source == BindingSource.Body
                || p.Source == BindingSource.Query || p.Source == BindingSource.Header || p.Source == BindingSource.Path))
        {
            // A body or parameter that does not bind (ExceptionToProblemHandler).
            Add(StatusCodes.Status400BadRequest, "invalid-request");
        }

        if (description.ParameterDescriptions.Any(p => p.Source == BindingSource.Body))
        {
            Add(StatusCodes.Status415UnsupportedMediaType, "invalid-request");
        }

        foreach (var declared in metadata.OfType<ProblemResponseMetadata>())
        {
            Add(declared.StatusCode, declared.Codes);
        }

        foreach (var header in metadata.OfType<HeaderParameterMetadata>().DistinctBy(h => h.Name))
        {
            operation.Parameters ??= [];
            if (!operation.Parameters.Any(p => p.In == ParameterLocation.Header && string.Equals(p.Name, header.Name, StringComparison.OrdinalIgnoreCase)))
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = header.Name,
                    In = ParameterLocation.Header,
                    Description = header.Description,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
        }

        foreach (var query in metadata.OfType<QueryParameterMetadata>().DistinctBy(q => q.Name))
        {
            operation.Parameters ??= [];
            if (!operation.Parameters.Any(p => p.In == ParameterLocation.Query && p.Name == query.Name))
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = query.Name,
                    In = ParameterLocation.Query,
                    Description = query.Description,
                    Schema = new OpenApiSchema { Type = query.IsInteger ? JsonSchemaType.Integer : JsonSchemaType.String },
                });
            }
        }

        var apiKey = metadata.OfType<ApiKeySecurityMetadata>().LastOrDefault();
        operation.Security = [new OpenApiSecurityRequirement()];
        if (apiKey is not null)
        {
            operation.Security[0][new OpenApiSecuritySchemeReference(apiKey.SchemeId, context.Document)] = [];
        }
        else if (!metadata.OfType<IAllowAnonymous>().Any())
        {
            // Authenticated by the fallback policy at least; a role policy can also refuse.
            operation.Security[0][new OpenApiSecuritySchemeReference(ApiDocument.BearerSchemeId, context.Document)] = [];
            Add(StatusCodes.Status401Unauthorized, "unauthorized");
            if (metadata.OfType<IAuthorizeData>().Any(a => a.Policy is not null || a.Roles is not null))
            {
                Add(StatusCodes.Status403Forbidden, "forbidden");
            }
        }

        operation.Responses ??= [];
        foreach (var (status, codes) in problems)
        {
            var key = status.ToString(CultureInfo.InvariantCulture);
            var schemaType = codes.Contains("validation") ? typeof(HttpValidationProblemDetails) : typeof(ProblemDetails);
            var types = codes.Select(code => Problems.TypePrefix + code).ToArray();
            operation.Responses[key] = new OpenApiResponse
            {
                Description = $"{ReasonPhrases.GetReasonPhrase(status)}: a problem of type {string.Join(", ", types)}.",
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    [ProblemContentType] = new() { Schema = await SchemaAsync(schemaType, context, cancellationToken) },
                },
                Extensions = new Dictionary<string, IOpenApiExtension>
                {
                    [ProblemTypesExtension] = new JsonNodeExtension(new JsonArray(types.Select(t => (JsonNode)t).ToArray())),
                },
            };
        }
    }

    /// <summary><c>GET /customers/{customerId}/projects</c> → <c>getCustomersByCustomerIdProjects</c>: unique as method and route are.</summary>
    internal static string DeriveOperationId(string method, string relativePath)
    {
        var id = new StringBuilder(method.ToLowerInvariant());
        foreach (var segment in relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment.StartsWith('{'))
            {
                id.Append("By");
                AppendPascal(id, segment.Trim('{', '}').Split(':', '=', '?')[0]);
            }
            else
            {
                AppendPascal(id, segment);
            }
        }

        return id.ToString();
    }

    private static void AppendPascal(StringBuilder id, string text)
    {
        foreach (var word in text.Split(['-', '.', '_'], StringSplitOptions.RemoveEmptyEntries))
        {
            id.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
        }
    }

    private static async Task<IOpenApiSchema> SchemaAsync(Type type, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var id = type.Name;
        var document = context.Document!;
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        if (!document.Components.Schemas.ContainsKey(id))
        {
            document.AddComponent(id, await context.GetOrCreateSchemaAsync(type, null, ct));
        }

        return new OpenApiSchemaReference(id, document);
    }
}
