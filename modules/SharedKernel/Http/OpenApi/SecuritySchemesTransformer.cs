using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Monolith.SharedKernel.Http.OpenApi;

/// <summary>Declares the bearer scheme and every API-key scheme an endpoint names (<see cref="ApiKeySecurityMetadata"/>).</summary>
internal sealed class SecuritySchemesTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiDocument.BearerSchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "The access token of POST /auth/token or /auth/refresh. It names its tenant; X-Tenant or the host may name it too, never another.",
        };

        var apiKeys = context.DescriptionGroups
            .SelectMany(group => group.Items)
            .SelectMany(item => item.ActionDescriptor.EndpointMetadata.OfType<ApiKeySecurityMetadata>())
            .DistinctBy(key => key.SchemeId);
        foreach (var key in apiKeys)
        {
            document.Components.SecuritySchemes[key.SchemeId] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = key.HeaderName,
                Description = key.Description,
            };
        }

        return Task.CompletedTask;
    }
}
