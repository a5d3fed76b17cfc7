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

/// <summary>
/// Endpoint metadata: an optional query parameter the handler reads from the query itself (a list's filters and paging,
/// checked by <c>ListQuery.RejectUnknownParameters</c>) rather than binding it as an argument.
/// </summary>
public sealed class QueryParameterMetadata(string name, bool isInteger, string? description = null)
{
    public string Name { get; } = name;

    public bool IsInteger { get; } = isInteger;

    public string? Description { get; } = description;
}

public static class ProblemResponseExtensions
{
    /// <summary>Declares a list's <c>limit</c> (1–200, default 50) and <c>cursor</c> (the previous page's <c>nextCursor</c>).</summary>
    public static TBuilder AcceptsPaging<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new QueryParameterMetadata("limit", isInteger: true, "Items per page, 1 to 200 (default 50)."))
            .WithMetadata(new QueryParameterMetadata("cursor", isInteger: false, "The nextCursor of the previous page."));

    /// <summary>Declares filters the handler reads from the query as text (an unknown name or value is 400).</summary>
    public static TBuilder AcceptsQuery<TBuilder>(this TBuilder builder, params string[] names)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var name in names)
        {
            builder.WithMetadata(new QueryParameterMetadata(name, isInteger: false));
        }

        return builder;
    }

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
