using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Monolith.SharedKernel.Validation;

namespace Monolith.SharedKernel.Http;

/// <summary>
/// RFC 9457 problem responses with stable <c>type</c> values. Details are written for clients:
/// never an exception message, SQL or an internal name.
/// </summary>
public static class Problems
{
    public const string TypePrefix = "/problems/";

    public static ProblemHttpResult Create(int status, string code, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + code);

    public static ValidationProblem Validation(IDictionary<string, string[]> errors, string? detail = null) =>
        TypedResults.ValidationProblem(
            errors,
            detail: detail ?? "One or more fields are invalid.",
            title: "The request is invalid.",
            type: TypePrefix + "validation");

    public static ValidationProblem Validation(ValidationErrors errors, string? detail = null) =>
        Validation((errors ?? throw new ArgumentNullException(nameof(errors))).ToDictionary(), detail);

    public static ValidationProblem Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] });

    public static ProblemHttpResult BadRequest(string code, string detail) =>
        Create(StatusCodes.Status400BadRequest, code, "The request is invalid.", detail);

    public static ProblemHttpResult NotFound(string detail = "The resource does not exist.") =>
        Create(StatusCodes.Status404NotFound, "not-found", "Not found.", detail);

    public static ProblemHttpResult Conflict(string code, string detail) =>
        Create(StatusCodes.Status409Conflict, code, "Conflict.", detail);

    public static ProblemHttpResult PreconditionFailed() =>
        Create(StatusCodes.Status412PreconditionFailed, "precondition-failed", "Precondition failed.",
            "The resource has changed since it was read (If-Match does not match its ETag).");

    public static ProblemHttpResult Unauthorized(string code, string detail) =>
        Create(StatusCodes.Status401Unauthorized, code, "Unauthorized.", detail);

    public static ProblemHttpResult Forbidden(string code, string detail) =>
        Create(StatusCodes.Status403Forbidden, code, "Forbidden.", detail);

    public static ProblemHttpResult Unprocessable(string code, string detail) =>
        Create(StatusCodes.Status422UnprocessableEntity, code, "Unprocessable request.", detail);

    /// <summary>Writes a problem outside an endpoint (middleware), through the registered IProblemDetailsService.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string code, string title, string detail)
    {
        context.Response.StatusCode = status;
        var service = context.RequestServices.GetService(typeof(IProblemDetailsService)) as IProblemDetailsService;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = status,
            Type = TypePrefix + code,
            Title = title,
            Detail = detail,
        };
        if (service is null || !await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
        }
    }
}
