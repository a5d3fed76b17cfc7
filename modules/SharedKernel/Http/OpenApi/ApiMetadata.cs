using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Monolith.SharedKernel.Http.OpenApi;

/// <summary>
/// Endpoint metadata for the API document: the endpoint can answer <see cref="StatusCode"/> with a problem whose
/// <c>type</c> is one of <see cref="Codes"/> (the part after <see cref="Problems.TypePrefix"/>). Whatever causes the
/// answer declares it: a handler's own refusals on its endpoint, a convention (tenant resolution, idempotency, the
/// platform key) on every endpoint it applies to. It changes nothing at run time.
/// </summary>
public sealed class ProblemResponseMetadata(int statusCode, params string[] codes)
{
    public int StatusCode { get; } = statusCode;

    public IReadOnlyList<string> Codes { get; } = codes.Length > 0 ? codes : throw new ArgumentException("Name at least one problem type.", nameof(codes));
}

/// <summary>
/// Endpoint metadata: the endpoint's credential is an API key in a header, declared in the document as the security
/// scheme <see cref="SchemeId"/> (the endpoint is anonymous to the authorization layer; a filter checks the key).
/// </summary>
public sealed class ApiKeySecurityMetadata(string schemeId, string headerName, string description)
{
    public string SchemeId { get; } = schemeId;

    public string HeaderName { get; } = headerName;

    public string Description { get; } = description;
}

/// <summary>Endpoint metadata: an optional request header the endpoint honours (read by a filter, not bound as a parameter).</summary>
public sealed class HeaderParameterMetadata(string name, string description)
{
    public string Name { get; } = name;

    public string Description { get; } = description;
}

public static class ProblemResponseExtensions
{
    /// <summary>Declares in the API document that the endpoint(s) can answer <paramref name="statusCode"/> with these problem types.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, int statusCode, params string[] codes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProblemResponseMetadata(statusCode, codes));

    /// <summary>404 <c>not-found</c>: the resource the route names does not exist (or is another tenant's).</summary>
    public static TBuilder ProducesNotFound<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status404NotFound, "not-found");

    /// <summary>The endpoint honours <c>If-Match</c>: 412 <c>precondition-failed</c> when it does not match the ETag.</summary>
    public static TBuilder ProducesPreconditionFailed<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new HeaderParameterMetadata("If-Match", "The ETag the change is meant for; another one is 412."))
            .ProducesProblems(StatusCodes.Status412PreconditionFailed, "precondition-failed");

    /// <summary>400 <c>validation</c>: the handler checks its input and answers with <c>errors</c> per field.</summary>
    public static TBuilder ProducesValidation<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblems(StatusCodes.Status400BadRequest, "validation");
}
