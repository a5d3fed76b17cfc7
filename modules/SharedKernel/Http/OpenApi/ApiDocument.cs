using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Monolith.SharedKernel.Http.OpenApi;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c> (CONTRACT §6), complete enough for a generated client: every operation
/// with an operationId, its security, and every problem it can answer, derived from endpoint metadata
/// (<see cref="ProblemResponseMetadata"/>, authorization, body parameters) rather than written per endpoint.
/// </summary>
public static class ApiDocument
{
    public const string Name = "v1";
    public const string BearerSchemeId = "bearer";

    public static IServiceCollection AddApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(Name, options =>
        {
            options.AddDocumentTransformer<SecuritySchemesTransformer>();
            options.AddDocumentTransformer((document, _, _) =>
            {
                // A group's "/" endpoint is "/customers/" to ApiExplorer; routing ignores the trailing slash, clients should too.
                var paths = new OpenApiPaths();
                foreach (var (path, item) in document.Paths)
                {
                    paths[path.Length > 1 ? path.TrimEnd('/') : path] = item;
                }

                document.Paths = paths;
                return Task.CompletedTask;
            });
            options.AddOperationTransformer<OperationConventionsTransformer>();
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // Our problems carry traceId and requestId (HttpConventions) and may carry more: say so, rather than the
                // closed object the ProblemDetails type yields.
                if (context.JsonTypeInfo.Type == typeof(ProblemDetails) || context.JsonTypeInfo.Type == typeof(HttpValidationProblemDetails))
                {
                    schema.AdditionalProperties = null;
                    schema.AdditionalPropertiesAllowed = true;
                    schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
                    schema.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The W3C trace id of the request." };
                    schema.Properties["requestId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's X-Request-Id." };
                }

                // The web JSON defaults also read numbers written as strings, so the generated schema says "integer or
                // string"; clients should send numbers, and a generator turns the union into a wrapper type. Say "number".
                if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
                {
                    schema.Type = type & ~JsonSchemaType.String;
                    schema.Pattern = null;
                }

                return Task.CompletedTask;
            });
        });
}
